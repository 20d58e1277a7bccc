"""The national admins' pages for routing rules and units: forms → routing's bodies, routing's errors beside the
right row, who opens an agency's page, and the templates' escaping."""
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from services.gateway import web_text
from services.gateway.web_admin import (
    _may_open_agency, rule_errors, rule_target_label, rule_targets, rules_from_form, top_level_errors,
    unit_from_form,
)
from services.gateway.web_base import Visit, WebBase, WebTools, _environment

SECRET = "unit-test-secret"
EVIL = "<script>alert(1)</script>"
NATIONAL = {"role": "national_admin", "username": "admin", "agency_code": None, "scope": None}
METRO_ADMIN = {"role": "agency_admin", "username": "metro", "agency_code": "KOTA-18.72",
               "scope": ["KOTA-18.72", "KOTA-18.72-DPUPR"]}
METRO_OFFICER = dict(METRO_ADMIN, role="agency_officer")


def test_the_rules_form_keeps_the_rows_given_a_target_in_order():
    form = MultiDict([("csrf_token", "x"), ("version", "3"), ("target-roads", "local_province"),
                      ("target-waste", ""), ("target-customs", " KEMENKEU ")])
    assert rules_from_form(form) == [{"category": "roads", "target": "local_province"},
                                     {"category": "customs", "target": "KEMENKEU"}]


def test_routings_errors_land_beside_the_row_of_their_rule():
    rules = [{"category": "roads", "target": "NGAWUR"}, {"category": "ghosts", "target": "local_regency"}]
    errors = {"rules.0.target": ["Harus kode instansi."], "rules.1.category": ["Kategori tidak dikenal."],
              "rules": ["Terlalu banyak."], "_form": ["Diubah orang lain."]}
    assert rule_errors(errors, rules, ["roads", "waste"]) == {
        "target-roads": ["Harus kode instansi."],
        "_form": ["Kategori tidak dikenal.", "Terlalu banyak.", "Diubah orang lain."]}


def test_rule_targets_are_national_agencies_by_name_plus_what_is_already_chosen():
    agencies = [{"code": "POLRI", "name": "Kepolisian", "region_code": None},
                {"code": "BKN", "name": "Badan Kepegawaian", "region_code": None},
                {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "region_code": "18.72"}]
    targets = rule_targets(agencies, ["local_regency", "KOTA-18.72", "NGAWUR", "POLRI"])
    assert [target["code"] for target in targets] == ["BKN", "POLRI", "KOTA-18.72", "NGAWUR"]
    assert targets[2]["name"] == "Pemerintah Kota Metro" and targets[3]["name"] == "NGAWUR"


@pytest.mark.parametrize("language", ["id", "en"])
def test_rule_targets_read_as_words(language):
    def t(key):
        return web_text.text(key, language)
    assert rule_target_label("local_regency", {}, t) == web_text.text("admin.rules_local_regency", language)
    assert rule_target_label("POLRI", {"POLRI": "Kepolisian"}, t) == "Kepolisian (POLRI)"
    assert rule_target_label("NGAWUR", {}, t) == "NGAWUR"


def test_the_unit_form_becomes_the_add_unit_body():
    form = MultiDict([("name", "  Dinas Pendidikan "), ("code", "kota-18.72-disdik"), ("email", ""),
                      ("categories", "education"), ("categories", "higher_education")])
    assert unit_from_form(form) == {"name": "Dinas Pendidikan", "code": "KOTA-18.72-DISDIK", "email": None,
                                    "categories": ["education", "higher_education"]}
    assert unit_from_form(MultiDict()) == {"name": "", "code": None, "email": None, "categories": []}


def test_errors_inside_a_list_are_shown_beside_the_list():
    assert top_level_errors({"categories.1": ["Terlalu panjang."], "name": ["Wajib diisi."]}) == {
        "categories": ["Terlalu panjang."], "name": ["Wajib diisi."]}


@pytest.mark.parametrize("principal, code, expected", [
    (NATIONAL, "KEMENPANRB", True),
    (METRO_ADMIN, "KOTA-18.72", True),
    (METRO_ADMIN, "KOTA-18.72-DPUPR", True),
    (METRO_ADMIN, "KOTA-18.71", False),
    (METRO_OFFICER, "KOTA-18.72", False),
    ({"role": "supervisor", "scope": None}, "KOTA-18.72", False),
])
def test_who_opens_an_agencys_page(principal, code, expected):
    assert _may_open_agency(principal, code) is expected


# --- the templates --------------------------------------------------------------------------------------------

class _Pages(WebBase):
    def __init__(self):
        self.pages = WebTools(SECRET, _environment(), {})


def _visit(principal, path="/konsol/aturan-rute"):
    visit = Visit(EnvironBuilder(path=path).get_request(), WebTools(SECRET, None, {}))
    visit.principal, visit.session_token = principal, "session"
    return visit


def _rules_page(principal, errors=None):
    saved_by = {"role": "national_admin", "username": "admin", "name": EVIL}
    current = {"version": 2, "saved_by": saved_by, "saved_at": datetime(2026, 11, 25, tzinfo=timezone.utc),
               "rules": [{"category": "roads", "target": "EVIL"}],
               "defaults": [{"category": "roads", "label": EVIL, "target": "local_regency"}]}
    history = {"items": [dict(current, version=2), {"version": 0, "saved_by": None, "saved_at": None, "rules": []}],
               "page": 1, "per_page": 20, "total": 2}
    return _Pages()._render(
        _visit(principal), "admin_rules.html", current=current, chosen={"roads": "EVIL"}, errors=errors or {},
        invalid=current["defaults"] if errors else [],
        field_prefix="target-", targets=[{"code": "EVIL", "name": EVIL}], history=history,
        history_pager={"page": 1, "pages": 1, "total": 2, "previous": None, "next": None},
        category_labels={"roads": EVIL}, target_label=lambda target: EVIL).get_data(True)


def test_the_rules_page_escapes_every_name_and_shows_errors_beside_the_row():
    html = _rules_page(NATIONAL, {"target-roads": [EVIL]})
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert 'id="err-target-roads"' in html and 'aria-describedby="err-target-roads"' in html
    assert '<label for="target-roads">' in html and 'name="version" value="2"' in html
    assert '<a href="#target-roads">' in html  # the summary above the long form links to the row


def test_the_rules_page_is_read_only_for_those_who_may_not_save():
    html = _rules_page(METRO_OFFICER)
    assert "<form method=\"post\" action=\"/konsol/aturan-rute\"" not in html and "<select" not in html


def _agency_page(principal, unit_errors=None):
    agency = {"code": "KOTA-18.72", "name": EVIL, "kind": "city", "parent_code": "PROV-18"}
    return _Pages()._render(
        _visit(principal, "/konsol/instansi/KOTA-18.72"), "admin_agency.html", agency=agency,
        units=[{"code": "KOTA-18.72-X", "name": EVIL, "kind": "unit"}], errors={}, contacts={},
        agency_names={"PROV-18": EVIL}, unit_errors=unit_errors or {}, unit={"name": EVIL, "categories": ["roads"]},
        categories=[{"category": "roads", "label": EVIL}], may_open=lambda code: True).get_data(True)


def test_the_unit_form_is_shown_to_those_who_may_add_units_with_errors_beside_the_fields():
    html = _agency_page(METRO_ADMIN, {"name": ["Terlalu pendek."]})
    assert "<script>alert" not in html and html.count("&lt;script&gt;") >= 5
    assert 'action="/konsol/instansi/KOTA-18.72/unit"' in html and 'id="err-name"' in html
    assert 'value="roads" checked' in html
    assert "/kontak" not in html  # notification contacts are the national admins'


def test_the_unit_form_is_absent_for_an_agency_officer():
    assert "/konsol/instansi/KOTA-18.72/unit" not in _agency_page(METRO_OFFICER)
