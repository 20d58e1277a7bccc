"""Intake's pure logic: tracking-ID blocks, bilingual field errors, request fingerprints, the categories."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.tracking_ids import is_valid_tracking_id, make_tracking_id
from services.common.field_errors import flatten_field_errors, translate_message
from services.intake.domain import (
    TrackingIdAllocator, category_codes, idempotency_record_id, load_categories, request_fingerprint,
)


def make_allocator(*blocks, low_water=2):
    allocator = TrackingIdAllocator(low_water=low_water)
    for start, end in blocks:
        allocator.add_block(start, end)
    return allocator


def take_all(allocator):
    taken = []
    while (tracking_id := allocator.take()) is not None:
        taken.append(tracking_id)
    return taken


def make_body(**overrides):
    body = {"type": "complaint", "title": "Jalan rusak", "body": "Jalan berlubang.", "anonymous": False,
            "confidential": False, "location": {"region_code": "18.72", "lat": -5.1}}
    body.update(overrides)
    return body


def test_allocator_takes_in_order_across_blocks():
    allocator = make_allocator((1_000_000, 1_000_003), (1_005_000, 1_005_002))
    assert take_all(allocator) == [make_tracking_id(n) for n in (1_000_000, 1_000_001, 1_000_002, 1_005_000, 1_005_001)]


def test_allocator_hands_out_valid_ids():
    assert all(is_valid_tracking_id(tracking_id) for tracking_id in take_all(make_allocator((1_000_000, 1_000_050))))


def test_empty_allocator_returns_none_until_refilled():
    allocator = make_allocator()
    assert allocator.take() is None
    allocator.add_block(1_000_000, 1_000_001)
    assert allocator.take() == "10000004"
    assert allocator.take() is None
    assert allocator.take() is None


def test_remaining_counts_down():
    allocator = make_allocator((1_000_000, 1_000_003), (2_000_000, 2_000_002))
    assert allocator.remaining() == 5
    allocator.take()
    assert allocator.remaining() == 4


@pytest.mark.parametrize("block_size, taken, needs_block", [
    (10, 0, False),
    (10, 7, False),   # three left, above low water
    (10, 8, True),    # two left: at low water
    (10, 10, True),
    (2, 0, True),
])
def test_needs_block_at_low_water(block_size, taken, needs_block):
    allocator = make_allocator((1_000_000, 1_000_000 + block_size), low_water=2)
    for _ in range(taken):
        allocator.take()
    assert allocator.needs_block() is needs_block


def test_empty_allocator_needs_a_block():
    assert make_allocator(low_water=0).needs_block()


def test_adding_a_block_clears_the_need():
    allocator = make_allocator((1_000_000, 1_000_002), low_water=2)
    assert allocator.needs_block()
    allocator.add_block(1_000_002, 1_000_102)
    assert not allocator.needs_block()
    assert allocator.blocks_fetched == 2


@pytest.mark.parametrize("start, end", [(1_000_000, 1_000_000), (1_000_010, 1_000_000)])
def test_empty_blocks_are_refused(start, end):
    allocator = make_allocator()
    with pytest.raises(ValueError):
        allocator.add_block(start, end)
    assert allocator.remaining() == 0
    assert allocator.blocks_fetched == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8))
def test_never_the_same_id_twice_across_blocks(block_sizes):
    allocator = make_allocator()
    start = 1_000_000
    taken = []
    for size in block_sizes:
        allocator.add_block(start, start + size)
        start += size + 7  # blocks from tracking's counter are disjoint, not necessarily adjacent
        taken.append(allocator.take())  # interleave takes with refills
    taken += take_all(allocator)
    assert len(taken) == sum(block_sizes)
    assert len(set(taken)) == len(taken)


@pytest.mark.parametrize("english, indonesian", [
    ("Missing data for required field.", "Wajib diisi."),
    ("Unknown field.", "Kolom ini tidak dikenal."),
    ("Not a valid boolean.", "Harus bernilai true atau false."),
    ("Not a valid email address.", "Alamat e-mail tidak valid."),
    ("Not a valid aware datetime.", "Tanggal dan waktu harus memuat zona waktu (mis. +07:00)."),
    ("Must be one of: complaint, aspiration, information_request.",
     "Harus salah satu dari: complaint, aspiration, information_request."),
    ("Length must be between 5 and 200.", "Panjang harus antara 5 dan 200 karakter."),
    ("Shorter than minimum length 10.", "Terlalu pendek, minimal 10 karakter."),
    ("Longer than maximum length 500.", "Terlalu panjang, maksimal 500 karakter."),
    ("Must be greater than or equal to -11.5 and less than or equal to 6.5.", "Harus antara -11.5 dan 6.5."),
    ("Unknown region code.", "Kode wilayah tidak dikenal (gunakan kode Kemendagri, mis. 18.72)."),
    ("May not be in the future.", "Tidak boleh di masa depan."),
    ("Request body must be a JSON object.", "Isi permintaan harus berupa objek JSON."),
])
def test_known_messages_are_translated(english, indonesian):
    assert translate_message(english) == {"id": indonesian, "en": english}


@pytest.mark.parametrize("english", ["Something nobody translated.", "", "Unknown field. And more."])
def test_unknown_messages_pass_through_in_both_languages(english):
    assert translate_message(english) == {"id": english, "en": english}


def test_flatten_nests_to_dotted_paths():
    flat = flatten_field_errors({
        "title": ["Length must be between 5 and 200."],
        "location": {"lat": ["Unknown field."], "_schema": ["Request body must be a JSON object."]},
        "reporter": {"contact": {"phone": ["Missing data for required field."]}},
    })
    assert set(flat) == {"title", "location.lat", "location._schema", "reporter.contact.phone"}
    assert flat["location.lat"] == [{"id": "Kolom ini tidak dikenal.", "en": "Unknown field."}]
    assert flat["reporter.contact.phone"][0]["id"] == "Wajib diisi."


def test_flatten_keeps_every_message_of_a_field():
    flat = flatten_field_errors({"title": ["Unknown field.", "May not be blank."]})
    assert [message["en"] for message in flat["title"]] == ["Unknown field.", "May not be blank."]


def test_flatten_a_bare_list_is_a_schema_error():
    assert flatten_field_errors(["Request body must be a JSON object."]) == {
        "_schema": [{"id": "Isi permintaan harus berupa objek JSON.", "en": "Request body must be a JSON object."}]}


def test_flatten_integer_keys_of_list_items():
    assert set(flatten_field_errors({"items": {0: ["Unknown field."]}})) == {"items.0"}


def test_fingerprint_is_stable_under_key_order():
    body = make_body()
    reordered = dict(reversed(list(body.items())))
    reordered["location"] = {"lat": -5.1, "region_code": "18.72"}
    assert request_fingerprint(body) == request_fingerprint(reordered)


@pytest.mark.parametrize("other", [
    make_body(title="Jalan rusak!"),
    make_body(anonymous=True),
    make_body(location={"region_code": "18.71", "lat": -5.1}),
    make_body(location={"region_code": "18.72", "lat": "-5.1"}),
    make_body(extra=None),
])
def test_fingerprint_differs_for_different_bodies(other):
    assert request_fingerprint(make_body()) != request_fingerprint(other)


def test_idempotency_record_id_is_scoped():
    assert idempotency_record_id("reports", "key-1") != idempotency_record_id("sms", "key-1")
    assert idempotency_record_id("reports", "key-1") == idempotency_record_id("reports", "key-1")


# The LAPOR categories (data/categories.json): Open311's service codes and their attributes.

OPEN311_DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def test_categories_have_unique_slug_codes_known_groups_and_both_languages():
    categories = load_categories()
    codes = [category["code"] for category in categories]
    assert 25 <= len(codes) <= 35 and len(set(codes)) == len(codes) and set(codes) == category_codes()
    for category in categories:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", category["code"]), category["code"]
        for key in ("name", "name_en", "description", "description_en", "group", "group_name", "group_name_en"):
            assert category[key], (category["code"], key)
    assert {c["group"] for c in categories} >= {"infrastruktur", "lingkungan", "kesehatan", "kependudukan",
                                                 "pendidikan", "bantuan-sosial", "pertanahan", "perizinan",
                                                 "transportasi", "kepolisian", "listrik", "air-bersih"}


def test_every_category_has_the_address_detail_attribute_and_lists_have_values():
    for category in load_categories():
        attributes = {attribute["code"]: attribute for attribute in category["attributes"]}
        assert attributes["address_detail"]["datatype"] == "string" and not attributes["address_detail"]["required"]
        for attribute in attributes.values():
            assert attribute["datatype"] in OPEN311_DATATYPES and attribute["description_en"]
            if attribute["datatype"].endswith("valuelist"):
                keys = [value["key"] for value in attribute["values"]]
                assert keys and len(keys) == len(set(keys)) and all(v["name"] and v["name_en"]
                                                                  for v in attribute["values"])
    road = {c["code"]: c for c in load_categories()}["jalan-rusak"]["attributes"][0]
    assert road["code"] == "road_type" and road["required"]
    assert {"desa", "kabupaten-kota", "provinsi", "nasional"} <= {value["key"] for value in road["values"]}


def test_loaded_categories_are_copies():
    load_categories()[0]["attributes"].clear()
    assert load_categories()[0]["attributes"]
