"""The web pages' pure parts: the text catalogue, CSRF and sealed values, dates and badges, forms → API bodies,
which actions a role is shown, and the templates' escaping."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from services.gateway import policy, web_format, web_session, web_text
from services.gateway.web import STATIC_DIR, static_file
from services.gateway.web_base import TEMPLATES_DIR, Visit, WebBase, WebTools, _environment
from services.gateway.web_console import allowed_actions, compliance_by_province

SECRET = "unit-test-secret"
NOW = datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc)  # 14.30 in Jakarta


# --- the catalogue -------------------------------------------------------------------------------------------

def test_every_message_has_both_languages_and_the_same_placeholders():
    for key, (indonesian, english) in web_text.MESSAGES.items():
        assert isinstance(indonesian, str) and isinstance(english, str), key
        assert set(re.findall(r"{(\w+)}", indonesian)) == set(re.findall(r"{(\w+)}", english)), key


def test_every_catalogue_key_a_template_names_exists():
    used = set()
    for template in TEMPLATES_DIR.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.-]+)["']""", template.read_text(encoding="utf-8")))
    assert used, "no catalogue keys found in the templates"
    dynamic = {key for key in used if key.endswith(".")}  # t("action." ~ segment)
    assert used - dynamic - set(web_text.MESSAGES) == set()
    assert {f"action.{segment}" for segment in policy.OFFICER_ACTIONS} <= set(web_text.MESSAGES)


@pytest.mark.parametrize("requested, remembered, expected", [
    (None, None, "id"), ("en", None, "en"), (None, "en", "en"), ("id", "en", "id"), ("fr", "en", "en"),
    ("fr", "xx", "id"),
])
def test_the_language_is_asked_then_remembered_then_indonesian(requested, remembered, expected):
    assert web_text.choose_language(requested, remembered) == expected


def test_text_fills_placeholders_and_shows_an_unknown_key():
    assert web_text.text("console.hops", "en", n=2) == "Agency hops: 2"
    assert web_text.text("console.hops", "id", n=2) == "Pindah instansi: 2"
    assert web_text.text("no.such.key", "id") == "no.such.key"


def test_labels_cover_every_status_and_out_of_scope_reason():
    from services.routing.domain import OUT_OF_SCOPE_REASONS
    from services.tracking.domain import STATUSES
    assert set(web_text.STATUS_LABELS) == set(STATUSES)
    assert set(web_text.REASON_LABELS) == set(OUT_OF_SCOPE_REASONS)
    assert web_text.label("status", "in_progress", "id") == "Ditindaklanjuti"
    assert web_text.label("status", "in_progress", "en") == "In progress"
    assert web_text.label("status", "mystery", "en") == "mystery"


# --- CSRF, sealing, cookies ------------------------------------------------------------------------------

def test_a_csrf_token_matches_only_its_own_session():
    token = web_session.csrf_token(SECRET, "session-a")
    assert web_session.csrf_ok(SECRET, "session-a", token)
    assert not web_session.csrf_ok(SECRET, "session-b", token)
    assert not web_session.csrf_ok("another-secret", "session-a", token)
    assert not web_session.csrf_ok(SECRET, None, token)
    assert not web_session.csrf_ok(SECRET, "session-a", None)
    assert not web_session.csrf_ok(SECRET, "session-a", token[:-1] + "0")


def test_a_sealed_value_opens_only_for_its_purpose_and_while_fresh():
    sealed = web_session.seal(SECRET, "receipt", {"tracking_id": "10000004", "access_code": "ABCD-EFGH"})
    assert "ABCD" not in sealed  # encrypted, not merely signed: the URL does not show the code
    assert web_session.unseal(SECRET, "receipt", sealed, 60) == {"tracking_id": "10000004", "access_code": "ABCD-EFGH"}
    assert web_session.unseal(SECRET, "access", sealed, 60) is None
    assert web_session.unseal("another-secret", "receipt", sealed, 60) is None
    assert web_session.unseal(SECRET, "receipt", sealed[:-4] + "AAAA", 60) is None
    assert web_session.unseal(SECRET, "receipt", None, 60) is None


def test_a_sealed_value_expires(monkeypatch):
    sealed = web_session.seal(SECRET, "receipt", {"a": 1})
    import time
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    assert web_session.unseal(SECRET, "receipt", sealed, 60) is None


@pytest.mark.parametrize("target, expected", [
    ("/konsol/laporan/10000004", "/konsol/laporan/10000004"), (None, "/konsol"), ("", "/konsol"),
    ("https://evil.example/", "/konsol"), ("//evil.example/", "/konsol"), ("/\\evil.example", "/konsol"),
])
def test_after_sign_in_only_a_path_of_this_site(target, expected):
    assert web_session.safe_next(target) == expected


def test_cookies_are_http_only_strict_and_secure_behind_https():
    assert web_session.cookie_options(True) == {"httponly": True, "samesite": "Strict", "secure": True,
                                                "max_age": None, "path": "/"}
    assert web_session.is_https("http", "https")
    assert web_session.is_https("https", None)
    assert not web_session.is_https("http", None)


# --- dates, ages, badges, pages --------------------------------------------------------------------------

def test_dates_are_shown_in_jakarta_time():
    assert web_format.format_datetime("2026-11-25T07:30:00+00:00", "id") == "25 Nov 2026 14.30 WIB"
    assert web_format.format_datetime("2026-08-17T01:05:00Z", "en") == "17 Aug 2026 08:05 WIB"
    assert web_format.format_datetime(None) == ""
    assert web_format.format_datetime("not a date") == ""
    assert web_format.format_date("2026-12-31T20:00:00+00:00", "id") == "1 Jan 2027"


@pytest.mark.parametrize("ago, language, expected", [
    (timedelta(seconds=5), "id", "baru saja"), (timedelta(minutes=7), "id", "7 menit"),
    (timedelta(hours=5), "en", "5 h"), (timedelta(days=3, hours=2), "id", "3 hari"),
])
def test_ages_are_coarse(ago, language, expected):
    assert web_format.format_age((NOW - ago).isoformat(), NOW, language) == expected


@pytest.mark.parametrize("due_in, overdue, expected", [
    (None, False, None), (timedelta(days=3), False, "on_time"), (timedelta(hours=5), False, "due_soon"),
    (timedelta(hours=-1), True, "late"), (timedelta(hours=-1), False, "late"),
])
def test_sla_badges(due_in, overdue, expected):
    report = {"due_at": (NOW + due_in).isoformat() if due_in is not None else None, "overdue": overdue}
    assert web_format.sla_badge(report, NOW) == expected


def test_pages():
    assert web_format.pages(1, 20, 0) == {"page": 1, "pages": 1, "total": 0, "previous": None, "next": None}
    assert web_format.pages(2, 20, 45) == {"page": 2, "pages": 3, "total": 45, "previous": 1, "next": 3}
    assert web_format.positive_page("abc") == 1
    assert web_format.positive_page("0") == 1
    assert web_format.positive_page("99999") == 10_000


# --- forms → API bodies ------------------------------------------------------------------------------------

def test_the_submit_form_becomes_the_api_body():
    form = MultiDict({"type": "complaint", "title": "Jalan rusak", "body": "Berlubang besar", "province": "18",
                      "region_code": "18.72", "address": " Jl. Pala ", "agency_code": "", "category": "",
                      "anonymous": "1", "name": "", "phone": "0812 3456 7890", "occurred_at": "2026-11-20T09:30",
                      "csrf_token": "x", "idempotency_key": "y", "q": "metro"})
    assert web_format.submission_from_form(form) == {
        "type": "complaint", "title": "Jalan rusak", "body": "Berlubang besar", "anonymous": True,
        "confidential": False, "occurred_at": "2026-11-20T09:30:00+07:00",
        "location": {"region_code": "18.72", "address": "Jl. Pala"}, "reporter": {"phone": "0812 3456 7890"}}


def test_the_province_stands_in_when_no_regency_is_chosen():
    body = web_format.submission_from_form(MultiDict({"province": "18", "region_code": ""}))
    assert body["location"] == {"region_code": "18"}
    assert "type" not in body and body["anonymous"] is False  # a missing type is the API's to name


def test_field_errors_land_beside_the_form_fields_in_the_visitors_language():
    fields = {"location.region_code": [{"id": "Kode wilayah tidak dikenal.", "en": "Unknown region code."}],
              "reporter.phone": [{"id": "Nomor tidak valid.", "en": "Not a valid number."}],
              "title": [{"id": "Wajib diisi.", "en": "Missing data for required field."}]}
    assert web_format.field_messages(fields, "en") == {"region_code": ["Unknown region code."],
                                                       "phone": ["Not a valid number."],
                                                       "title": ["Missing data for required field."]}
    assert web_format.field_messages(fields, "id")["title"] == ["Wajib diisi."]


def test_an_action_body_keeps_only_its_fields_with_numbers_as_numbers():
    form = MultiDict({"agency_code": "KOTA-18.72", "case_class": "standard", "note": "", "version": "3",
                      "csrf_token": "x", "message": "ignored"})
    assert web_format.action_body("dispose", form) == {"agency_code": "KOTA-18.72", "case_class": "standard",
                                                       "version": 3}
    assert web_format.action_body("rate", MultiDict({"score": "4", "comment": "Bagus"})) == {"score": 4,
                                                                                           "comment": "Bagus"}


# --- which buttons a role sees --------------------------------------------------------------------------

@pytest.mark.parametrize("role, status, expected", [
    ("national_admin", "received", ["verify", "reject", "dispose", "archive"]),
    ("national_admin", "completed", ["reopen", "archive"]),
    ("agency_admin", "disposed", ["dispose", "decline", "followups", "request-info", "complete"]),
    ("agency_officer", "in_progress", ["followups", "request-info", "complete"]),
    ("agency_officer", "completed", []),
    ("supervisor", "disposed", []),
])
def test_only_the_actions_the_role_may_take_in_the_status(role, status, expected):
    shown = allowed_actions(role, status)
    assert shown == expected
    assert all(policy.may_act(role, segment) for segment in shown)


def test_compliance_adds_agencies_up_by_province():
    figures = [
        {"agency": {"code": "KOTA-18.72"}, "disposed": 4, "answered_in_time": 2, "late": 1, "open": 1, "overdue": 0},
        {"agency": {"code": "KAB-18.12"}, "disposed": 2, "answered_in_time": 0, "late": 0, "open": 1, "overdue": 1},
        {"agency": {"code": "KEMENPANRB"}, "disposed": 9, "answered_in_time": 9, "late": 0, "open": 0, "overdue": 0},
    ]
    rows = compliance_by_province(figures, {"KOTA-18.72": "18.72", "KAB-18.12": "18.12", "KEMENPANRB": None})
    assert rows == [{"code": "18", "disposed": 6, "answered_in_time": 2, "late": 1, "open": 2, "overdue": 1,
                     "compliance_ratio": 0.5}]


# --- templates and static files ---------------------------------------------------------------------------

class _Pages(WebBase):
    """Just enough of the service to render a page."""

    def __init__(self):
        self.pages = WebTools(SECRET, _environment(), {})


def _visit(path="/laporan/10000004", **cookies):
    builder = EnvironBuilder(path=path)
    for name, value in cookies.items():
        builder.headers.add("Cookie", f"{name}={value}")
    return Visit(builder.get_request(), WebTools(SECRET, None, {}))


def test_every_user_supplied_string_is_escaped():
    evil = "<script>alert(1)</script>"
    report = {"tracking_id": "10000004", "title": evil, "body": evil, "status": "received", "type": "complaint",
              "channel": "web", "created_at": NOW.isoformat(), "agency": {"code": "X", "name": evil},
              "location": {"region_name": evil, "address": evil}, "due_at": None, "support_count": 0,
              "anonymous": False, "confidential": False, "version": 1}
    timeline = [{"kind": "opened", "at": NOW.isoformat(), "status": "received", "automatic": False,
                 "actor": {"role": "reporter", "agency": None}, "note": evil}]
    html = _Pages()._render(_visit(), "report.html", report=report, timeline=timeline, support=None).get_data(True)
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


def test_pages_forbid_inline_scripts_and_framing():
    visit = _visit()
    response = visit.finish(_Pages()._render(visit, "error.html", message="x"))
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "lapor_peramban=" in response.headers["Set-Cookie"]  # the browser cookie forms are bound to
    assert "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Strict" in response.headers["Set-Cookie"]


def test_no_template_writes_an_inline_script():
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", text)
        assert not scripts, f"{template.name} has an inline script"
        assert not re.search(r"\son[a-z]+=", text), f"{template.name} has an inline event handler"


def test_static_files_are_served_with_caching_and_nothing_outside():
    request = EnvironBuilder(path="/static/vendor/htmx.min.js").get_request()
    response = static_file(request, "vendor/htmx.min.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "max-age" in response.headers["Cache-Control"] and response.headers["ETag"]
    assert static_file(request, "../web.py").status_code == 404
    assert static_file(request, "nothing.js").status_code == 404
    revalidated = EnvironBuilder(path="/static/vendor/htmx.min.js",
                                 headers={"If-None-Match": response.headers["ETag"]}).get_request()
    assert static_file(revalidated, "vendor/htmx.min.js").status_code == 304


def test_vendored_files_carry_their_licence_and_are_listed():
    listed = (STATIC_DIR / "VENDORED.md").read_text(encoding="utf-8")
    for path in (STATIC_DIR / "vendor").iterdir():
        assert f"vendor/{path.name}" in listed
        head = path.read_text(encoding="utf-8")[:400]
        assert re.search(r"MIT|0BSD|BSD", head), f"{path.name} has no licence header"
    assert Path(STATIC_DIR / "vendor" / "chart.umd.min.js").exists()
