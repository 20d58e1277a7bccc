"""SMS 1708's pure logic: the phone normaliser, the parser, the reply (the region matcher: test_common_regions.py)."""
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lokal import normalize_phone as lokal_normalize_phone
from marshmallow import ValidationError

from services.common.access_codes import CROCKFORD_ALPHABET
from services.common.field_errors import flatten_field_errors
from services.common.tracking_ids import make_tracking_id
from services.common.regions import default_matcher
from services.intake.schemas import SmsMessageSchema
from services.intake.sms import (
    MAX_TEXT_LENGTH, clean_text, gsm7_length, make_title, normalize_phone, parse_sms, portal_hint, sms_reply,
    sms_submission,
)
from tests.unit.test_common_regions import ALL_REGIONS, spellings


@pytest.fixture(scope="module")
def matcher():
    return default_matcher()


# --- the phone normaliser -------------------------------------------------------------------------------------

subscriber_numbers = st.from_regex(r"8[0-9]{8,11}", fullmatch=True)
separators = st.sampled_from(["", "", " ", "-", ".", "  ", " - ", "\u00a0"])


@st.composite
def written_numbers(draw):
    """A valid mobile number written one of the three ways, with separators anywhere."""
    subscriber = draw(subscriber_numbers)
    written = draw(st.sampled_from(["0", "62", "+62"])) + subscriber
    pieces = [draw(separators) + char for char in written] + [draw(separators)]
    return subscriber, "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(written_numbers())
def test_any_valid_number_in_any_form_normalises_to_one_value(number):
    subscriber, written = number
    assert normalize_phone(written) == f"+62{subscriber}"
    assert lokal_normalize_phone(written.replace("\u00a0", " ")) == f"+62{subscriber}"


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_whatever_passes_is_a_well_formed_number_from_the_digits_given(text):
    try:
        normalized = normalize_phone(text)
    except ValueError:
        return
    assert re.fullmatch(r"\+628[0-9]{8,11}", normalized)
    assert "".join(char for char in text if char in "0123456789").endswith(normalized[3:])
    assert not any(char.isalpha() for char in text)


@settings(max_examples=300, deadline=None)
@given(
    subscriber=subscriber_numbers,
    garbage=st.sampled_from(["x", "O", "/", "+", "#", "*", "(", "٠", "٨"]),
    position=st.integers(min_value=0, max_value=14),
)
def test_a_foreign_character_anywhere_is_refused(subscriber, garbage, position):
    written = f"0{subscriber}"
    position = min(position, len(written))
    with pytest.raises(ValueError):
        normalize_phone(written[:position] + garbage + written[position:])


@pytest.mark.parametrize("text", [
    "", "  ", "0812345678"[:9], "08123456", "08123456789012", "+6208123456789", "+61812345678", "021-5551234",
    "812345678901", "6212345678", "+62 21 555 1234", "08l234567890", "０８１２３４５６７８９０", "0812345678a", None, 81234567890,
])
def test_garbage_and_non_indonesian_lengths_are_refused(text):
    with pytest.raises(ValueError):
        normalize_phone(text)


def test_the_length_bounds_are_ten_to_thirteen_digits_with_the_leading_zero():
    assert normalize_phone("0812345678") == "+62812345678"
    assert normalize_phone("0812345678901") == "+62812345678901"
    for too_short_or_long in ("081234567", "08123456789012"):
        with pytest.raises(ValueError):
            normalize_phone(too_short_or_long)


INVISIBLE = ("Cc", "Cf", "Cs")


def visible(text):
    return "".join(char for char in text if unicodedata.category(char) not in INVISIBLE and not char.isspace())


# --- the parser -----------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=MAX_TEXT_LENGTH))
def test_parse_never_fails_but_with_value_error_and_never_leaves_an_empty_body(text):
    matcher = default_matcher()
    try:
        parsed = parse_sms(text, matcher)
    except ValueError:
        assert not visible(text)
        return
    body, title = parsed["body"], parsed["title"]
    assert body and body == body.strip() and "  " not in body and len(body) <= MAX_TEXT_LENGTH
    assert visible(body) and all(unicodedata.category(char) not in INVISIBLE for char in body)
    assert title and len(title) <= 61 and body.startswith(title.rstrip("…").rstrip())
    assert parsed["region"] is None or set(parsed["region"]) == {"code", "name", "level"}


COMPLAINT_WORDS = ["jalan", "rusak", "lampu", "mati", "sampah", "menumpuk", "di", "depan", "sekolah", "pohon",
                   "tumbang", "banjir", "RT", "05", "mohon", "segera", "diperbaiki", "Iringmulyo", "Pala"]
REGION_SPELLINGS = [(spelling, region.code) for region in ALL_REGIONS for spelling in spellings(region)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGION_SPELLINGS),
    st.sampled_from([" ", "  ", ": ", ", ", "\n", "\t", " - "]),
    st.lists(st.sampled_from(COMPLAINT_WORDS), min_size=1, max_size=30),
)
def test_the_region_prefix_is_taken_off_the_body(spelling_and_code, separator, words):
    spelling, code = spelling_and_code
    parsed = parse_sms(f"{spelling}{separator}{' '.join(words)}", default_matcher())
    assert parsed["region"]["code"] == code
    assert parsed["body"] == " ".join(words)


def test_an_unknown_prefix_keeps_the_whole_text_as_the_body(matcher):
    parsed = parse_sms("  KOTA ANTAH  BERANTAH\tjalan rusak\x00 ", matcher)
    text = "KOTA ANTAH BERANTAH jalan rusak"
    assert parsed == {"region": None, "body": text, "title": text}


def test_a_text_that_is_only_a_region_keeps_it_as_the_body(matcher):
    parsed = parse_sms("KOTA METRO", matcher)
    assert parsed["region"]["code"] == "18.72" and parsed["body"] == "KOTA METRO"


def test_the_issue_example(matcher):
    parsed = parse_sms("KOTA METRO Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan", matcher)
    assert parsed["region"] == {"code": "18.72", "name": "Kota Metro", "level": 2}
    assert parsed["body"] == "Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan"
    assert parsed["title"] == "Jalan Pala Iringmulyo terdapat pohon tumbang yang…"


@pytest.mark.parametrize("text", ["", " \t\n ", "\x00\x07\u200b\ufeff", "x" * (MAX_TEXT_LENGTH + 1)])
def test_empty_or_too_long_text_is_refused(text):
    with pytest.raises(ValueError):
        clean_text(text)


def test_control_and_invisible_characters_go_and_whitespace_collapses():
    assert clean_text("KOTA\u200b METRO\r\n\r\njalan\x00rusak\ud800 ") == "KOTA METRO jalan rusak"


@pytest.mark.parametrize("body, title", [
    ("Jalan rusak", "Jalan rusak"),
    ("a" * 60, "a" * 60),
    ("a" * 61, "a" * 60 + "…"),
    ("kata " * 20, "kata kata kata kata kata kata kata kata kata kata kata kata…"),
    ("x" * 55 + " " + "y" * 20, "x" * 55 + "…"),
])
def test_the_title_is_cut_at_a_word_boundary(body, title):
    assert make_title(body.strip()) == title


def test_the_submission_routes_a_resolved_region_and_keeps_the_phone_as_contact(matcher):
    data = sms_submission(parse_sms("KOTA METRO jalan rusak", matcher), "+6281234567890")
    assert data["location"] == {"region_code": "18.72", "region_name": "Kota Metro"}
    assert data["region_hint"] == "18.72" and data["reporter"] == {"phone": "+6281234567890"}
    assert (data["type"], data["anonymous"], data["confidential"]) == ("complaint", False, False)
    unknown = sms_submission(parse_sms("Jalan rusak di kampung kami", matcher), "+6281234567890")
    assert unknown["location"] is None and unknown["region_hint"] is None
    assert unknown["body"] == "Jalan rusak di kampung kami"


# --- the reply ------------------------------------------------------------------------------------------------

access_codes = st.text(alphabet=CROCKFORD_ALPHABET, min_size=8, max_size=8).map(lambda raw: f"{raw[:4]}-{raw[4:]}")
tracking_ids = st.integers(min_value=1_000_000, max_value=9_999_999_999).map(make_tracking_id)
hints = st.sampled_from([None, "lapor.go.id", "lapor.test", "127.0.0.1:8000", "www.lapor.go.id/portal",
                         "pengaduan-pelayanan-publik-nasional.kemenpan.go.id/lapor", "lapor.go.id/ł"])


@settings(max_examples=300, deadline=None)
@given(tracking_ids, access_codes, hints)
def test_the_reply_is_one_gsm7_sms_with_the_id_and_the_code(tracking_id, access_code, hint):
    reply = sms_reply(tracking_id, access_code, hint)
    length = gsm7_length(reply)
    assert length is not None and length <= 160
    assert tracking_id in reply and access_code in reply


def test_a_short_portal_is_named_in_the_reply():
    reply = sms_reply("10000004", "ABCD-EFGH", "lapor.go.id")
    assert reply == ("LAPOR! Laporan diterima. No: 10000004 Kode akses: ABCD-EFGH. "
                     "Cek status di lapor.go.id/lacak?id=10000004 dengan kode ini.")
    assert "lacak" not in sms_reply("10000004", "ABCD-EFGH", "lapor.go.id/ł")
    assert "lacak" not in sms_reply("10000004", "ABCD-EFGH", "x" * 100)


def test_gsm7_counts_extension_characters_twice_and_refuses_others():
    assert gsm7_length("Abc 123") == 7
    assert gsm7_length("[€]") == 6
    assert gsm7_length("…") is None


@pytest.mark.parametrize("url, hint", [
    ("http://lapor.test", "lapor.test"), ("https://lapor.go.id/", "lapor.go.id"),
    ("http://127.0.0.1:8000", "127.0.0.1:8000"), ("https://www.lapor.go.id/portal/", "www.lapor.go.id/portal"),
    ("lapor.go.id", "lapor.go.id"), ("", None), (None, None),
])
def test_portal_hint_drops_the_scheme(url, hint):
    assert portal_hint(url) == hint


# --- the request schema ---------------------------------------------------------------------------------------

def make_message(**overrides):
    message = {"from": "0812-3456-7890", "text": "KOTA METRO jalan rusak", "message_id": "smsc-1"}
    message.update(overrides)
    return message


def without(key):
    message = make_message()
    del message[key]
    return message


FUTURE = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()

INVALID_MESSAGES = [
    ("from missing", without("from"), "from"),
    ("from not a mobile", make_message(**{"from": "021-5551234"}), "from"),
    ("from garbage", make_message(**{"from": "halo"}), "from"),
    ("from not a string", make_message(**{"from": 6281234567890}), "from"),
    ("text missing", without("text"), "text"),
    ("text empty", make_message(text=""), "text"),
    ("text only control characters", make_message(text="\x00\u200b \n"), "text"),
    ("text too long", make_message(text="x" * (MAX_TEXT_LENGTH + 1)), "text"),
    ("message_id missing", without("message_id"), "message_id"),
    ("message_id blank", make_message(message_id="  "), "message_id"),
    ("received_at in the future", make_message(received_at=FUTURE), "received_at"),
    ("received_at without timezone", make_message(received_at="2026-11-25T09:30:00"), "received_at"),
    ("unknown field", make_message(sender="x"), "sender"),
]


@pytest.mark.parametrize("message, path", [case[1:] for case in INVALID_MESSAGES],
                         ids=[case[0] for case in INVALID_MESSAGES])
def test_invalid_messages_report_the_field(message, path):
    with pytest.raises(ValidationError) as caught:
        SmsMessageSchema().load(message)
    errors = flatten_field_errors(caught.value.messages)
    assert path in errors
    assert all(error["id"] and error["en"] for error in errors[path])


def test_a_valid_message_is_loaded_with_the_number_normalised():
    loaded = SmsMessageSchema().load(make_message(received_at="2026-11-25T09:30:00+07:00"))
    assert loaded["sender"] == "+6281234567890" and loaded["message_id"] == "smsc-1"
    assert loaded["received_at"].utcoffset() == timedelta(hours=7)
    errors = flatten_field_errors({"from": ["Not a valid Indonesian phone number."]})
    assert errors["from"][0]["id"].startswith("Nomor telepon Indonesia tidak valid")
