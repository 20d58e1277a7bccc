"""Intake's SubmissionSchema (DESIGN §4): what a report body may contain, and how it is normalised."""
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from services.common.field_errors import flatten_field_errors
from services.intake.schemas import SubmissionSchema

FUTURE = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()


def make_body(**overrides):
    body = {
        "type": "complaint",
        "title": "Jalan rusak",
        "body": "Jalan di depan pasar berlubang besar.",
        "anonymous": False,
        "confidential": False,
    }
    body.update(overrides)
    return body


def load(body):
    return SubmissionSchema().load(body)


def error_paths(body):
    with pytest.raises(ValidationError) as caught:
        load(body)
    return set(flatten_field_errors(caught.value.messages))


def without(key):
    body = make_body()
    del body[key]
    return body


INVALID_BODIES = [
    # (case, body, the field path that must be reported)
    ("type not in the list", make_body(type="ticket"), "type"),
    ("type missing", without("type"), "type"),
    ("title too short", make_body(title="abc"), "title"),
    ("title blank", make_body(title="      "), "title"),
    ("title too long", make_body(title="x" * 201), "title"),
    ("title null", make_body(title=None), "title"),
    ("body missing", without("body"), "body"),
    ("body blank", make_body(body=" " * 20), "body"),
    ("anonymous as 'yes'", make_body(anonymous="yes"), "anonymous"),
    ("anonymous as 'true'", make_body(anonymous="true"), "anonymous"),
    ("anonymous as 1", make_body(anonymous=1), "anonymous"),
    ("confidential as 0", make_body(confidential=0), "confidential"),
    ("anonymous missing", without("anonymous"), "anonymous"),
    ("unknown top-level field", make_body(priority="high"), "priority"),
    ("unknown field in location", make_body(location={"region_code": "18.72", "city": "Metro"}), "location.city"),
    ("unknown field in reporter", make_body(reporter={"name": "Siti", "nik": "1872"}), "reporter.nik"),
    ("location not an object", make_body(location=["18.72"]), "location._schema"),
    ("lat north of Indonesia", make_body(location={"lat": 7.0}), "location.lat"),
    ("lat south of Indonesia", make_body(location={"lat": -12.0}), "location.lat"),
    ("lon west of Indonesia", make_body(location={"lon": 90.0}), "location.lon"),
    ("lat not a number", make_body(location={"lat": "utara"}), "location.lat"),
    ("unknown region code", make_body(location={"region_code": "99.99"}), "location.region_code"),
    ("region code not a code", make_body(location={"region_code": "Metro"}), "location.region_code"),
    ("bad phone", make_body(reporter={"phone": "12345"}), "reporter.phone"),
    ("phone with letters", make_body(reporter={"phone": "0812-ABCD-7890"}), "reporter.phone"),
    ("bad e-mail", make_body(reporter={"email": "siti@"}), "reporter.email"),
    ("occurred_at in the future", make_body(occurred_at=FUTURE), "occurred_at"),
    ("occurred_at without timezone", make_body(occurred_at="2026-01-10T09:30:00"), "occurred_at"),
    ("occurred_at not a date", make_body(occurred_at="kemarin"), "occurred_at"),
    ("empty agency_code", make_body(agency_code=""), "agency_code"),
    ("unknown category", make_body(category="infrastruktur"), "category"),
    ("category in capitals", make_body(category="JALAN-RUSAK"), "category"),
]


@pytest.mark.parametrize("body, path", [case[1:] for case in INVALID_BODIES], ids=[case[0] for case in INVALID_BODIES])
def test_invalid_bodies_report_the_field(body, path):
    assert path in error_paths(body)


@pytest.mark.parametrize("body", [[make_body()], "laporan", 42, None])
def test_a_body_that_is_not_an_object_is_a_schema_error(body):
    assert error_paths(body) == {"_schema"}


def test_every_reported_message_has_an_indonesian_translation():
    with pytest.raises(ValidationError) as caught:
        load(make_body(type="ticket", title="abc", anonymous="yes", priority="high",
                       location={"lat": 7.0, "region_code": "99.99", "city": "x"},
                       reporter={"phone": "12345", "email": "siti@"}, occurred_at="2026-01-10T09:30:00",
                       category="lubang"))
    for path, messages in flatten_field_errors(caught.value.messages).items():
        for message in messages:
            assert message["id"] != message["en"], (path, message)


def test_minimal_valid_body():
    data = load(make_body())
    assert (data["type"], data["anonymous"], data["confidential"]) == ("complaint", False, False)
    assert data["reporter"] == {}


def test_title_and_body_are_trimmed():
    data = load(make_body(title="  Jalan rusak  ", body="\n Jalan di depan pasar berlubang. \n"))
    assert (data["title"], data["body"]) == ("Jalan rusak", "Jalan di depan pasar berlubang.")


@pytest.mark.parametrize("region_code", ["1872", "18.72"])
def test_region_code_is_normalised_and_named(region_code):
    location = load(make_body(location={"region_code": region_code, "lat": -5.11, "lon": 105.3}))["location"]
    assert location == {"region_code": "18.72", "region_name": "Kota Metro", "lat": -5.11, "lon": 105.3}


@pytest.mark.parametrize("phone", ["0812-3456-7890", "081234567890", "+6281234567890", "6281234567890"])
def test_phone_is_normalised_to_e164(phone):
    assert load(make_body(reporter={"phone": phone}))["reporter"]["phone"] == "+6281234567890"


def test_email_is_lower_cased():
    assert load(make_body(reporter={"email": "Siti@Example.ID"}))["reporter"]["email"] == "siti@example.id"


def test_empty_reporter_fields_are_dropped():
    assert load(make_body(reporter={"name": None, "phone": None, "email": "siti@example.id"}))["reporter"] == {
        "email": "siti@example.id"}


@pytest.mark.parametrize("report_type", ["complaint", "aspiration", "information_request"])
def test_every_report_type_is_accepted(report_type):
    assert load(make_body(type=report_type))["type"] == report_type


def test_past_occurred_at_with_timezone_is_accepted():
    occurred_at = load(make_body(occurred_at="2026-01-10T09:30:00+07:00"))["occurred_at"]
    assert occurred_at == datetime(2026, 1, 10, 2, 30, tzinfo=timezone.utc)


def test_the_future_is_judged_by_the_injectable_clock_in_utc_not_by_the_day_in_jakarta(monkeypatch):
    """31 December, 22:30 UTC: already New Year's Day, 05:30, in Jakarta. Within five minutes of that now is
    fine, whatever date the suite runs on; later is the future."""
    from services.intake import schemas

    monkeypatch.setattr(schemas, "now", lambda: datetime(2027, 12, 31, 22, 30, tzinfo=timezone.utc))
    accepted = load(make_body(occurred_at="2028-01-01T05:34:00+07:00"))["occurred_at"]
    assert accepted == datetime(2027, 12, 31, 22, 34, tzinfo=timezone.utc)
    assert "occurred_at" in error_paths(make_body(occurred_at="2028-01-01T05:36:00+07:00"))


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_are_accepted_as_json_booleans(flag):
    data = load(make_body(anonymous=flag, confidential=flag))
    assert data["anonymous"] is flag and data["confidential"] is flag


def test_null_location_and_reporter_are_accepted():
    data = load(make_body(location=None, reporter=None))
    assert data["location"] is None
    assert data["reporter"] == {}


@pytest.mark.parametrize("category", ["jalan-rusak", "ktp-el", "pungutan-liar", None])
def test_a_lapor_category_or_none_is_accepted(category):
    assert load(make_body(category=category))["category"] == category
