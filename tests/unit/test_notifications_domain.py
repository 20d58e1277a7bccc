"""Notifications' pure logic: which messages an entry or a deadline makes, the channels, masking, keys, backoff."""
from datetime import datetime, timezone

import pytest

from services.notifications.domain import (
    CONSOLE, agency_deliveries, agency_recipient, deadline_message_id, deadline_plan, mask_recipient, message_id,
    plan, receipt_code_message_id, receipt_code_problems, reporter_deliveries, reporter_recipient, retry_delay,
    skips_origin,
)

DUE = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


def make_event(kind, **overrides):
    event = {"kind": kind, "status": "disposed", "tracking_id": "10000004", "version": 3, "channel": "web",
             "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro", "reason": "criminal",
             "note": "Jalan sudah ditambal.", "reporter_ref": "rep_1", "anonymous": False}
    event.update(overrides)
    return event


def templates_of(planned):
    return sorted((p.audience, p.template, p.hold) for p in planned)


@pytest.mark.parametrize("kind, expected", [
    ("opened", [("reporter", "report_received", False)]),
    ("verified", [("reporter", "report_verified", False)]),
    ("disposed", [("agency", "agency_disposed", True), ("reporter", "report_disposed", True)]),
    ("rejected", [("reporter", "report_rejected", False)]),
    ("followup", [("reporter", "report_followed_up", False)]),
    ("info_requested", [("reporter", "report_info_requested", False)]),
    ("completed", [("reporter", "report_completed", False)]),
    ("reopened", [("agency", "agency_reopened", True), ("reporter", "report_reopened", True)]),
    ("escalated", [("agency", "agency_escalated", True), ("reporter", "report_escalated", True)]),
    ("reply", [("agency", "agency_reporter_reply", False)]),
    ("rated", []), ("archived", []), ("access_code_reissued", []), ("duplicate_linked", []),
])
def test_each_entry_makes_at_most_one_message_per_audience(kind, expected):
    assert templates_of(plan(make_event(kind))) == expected


def test_a_decline_to_another_agency_is_a_new_disposition_and_one_back_to_the_queue_tells_nobody():
    assert templates_of(plan(make_event("declined", status="disposed", agency_code="KAB-18.02"))) == [
        ("agency", "agency_disposed", True), ("reporter", "report_disposed", True)]
    assert plan(make_event("declined", status="received", agency_code=None)) == []


def test_without_a_reporter_reference_or_a_holder_that_audience_gets_nothing():
    assert templates_of(plan(make_event("disposed", reporter_ref=None))) == [("agency", "agency_disposed", True)]
    assert templates_of(plan(make_event("reply", agency_code=None))) == []


def test_an_agency_message_carries_nothing_of_the_reporter():
    [agency] = [p for p in plan(make_event("disposed", anonymous=True)) if p.audience == "agency"]
    assert set(agency.data) == {"tracking_id", "agency_code", "agency_name", "due_at"}
    [reply] = plan(make_event("reply", anonymous=True, note="Masih berlubang."))
    assert set(reply.data) == {"tracking_id", "agency_code", "agency_name", "due_at", "note"}


def deadline_event(stage="response", **overrides):
    event = {"tracking_id": "10000004", "stage": stage, "clock_id": f"10000004:{stage}:3", "due_at": DUE,
             "agency_code": "KOTA-18.72", "version": 3}
    event.update(overrides)
    return event


@pytest.mark.parametrize("event_type, template", [("deadline_approaching", "agency_deadline_approaching"),
                                                  ("deadline_breached", "agency_deadline_breached")])
def test_a_deadline_event_of_an_agency_stage_tells_the_agency(event_type, template):
    planned = deadline_plan(event_type, deadline_event())
    assert (planned.audience, planned.template, planned.hold) == ("agency", template, False)
    assert planned.data["due_at"] == DUE.isoformat() and planned.data["stage"] == "response"


@pytest.mark.parametrize("event_type, event", [
    ("deadline_breached", deadline_event("verification", agency_code=None)),
    ("deadline_breached", deadline_event("auto_close")),
    ("deadline_breached", deadline_event(agency_code=None)),
    ("deadline_set", deadline_event()),
])
def test_deadlines_no_agency_answers_for_tell_nobody(event_type, event):
    assert deadline_plan(event_type, event) is None


def test_the_deadline_message_key_survives_a_new_event_id_but_not_a_new_due_time():
    first = deadline_message_id("deadline_breached", dict(deadline_event(), event_id="a"), "email")
    again = deadline_message_id("deadline_breached", dict(deadline_event(), event_id="b"), "email")
    later = deadline_message_id("deadline_breached", deadline_event(due_at=DUE.replace(day=28)), "email")
    warned = deadline_message_id("deadline_approaching", deadline_event(), "email")
    assert first == again and len({first, later, warned}) == 3


@pytest.mark.parametrize("channel, contact, deliveries", [
    ("sms", {"phone": "+6281234567890", "email": "siti@example.id"}, [("sms", "+6281234567890"),
                                                                     ("email", "siti@example.id")]),
    ("twitter", {"handle": "@siti", "twitter_id": "4242"}, [("twitter", "4242")]),
    ("twitter", {"handle": "@siti"}, []),  # a handle alone is no address for a direct message
    ("web", {"email": "siti@example.id", "twitter_id": "4242"}, [("email", "siti@example.id"), ("twitter", "4242")]),
    ("web", {"phone": "+6281234567890", "email": "siti@example.id"}, [("email", "siti@example.id"),
                                                                     ("sms", "+6281234567890")]),
    ("mobile", {"email": "siti@example.id"}, [("email", "siti@example.id")]),
    ("web", {"phone": "+6281234567890"}, [("sms", "+6281234567890")]),
    ("sms", {"email": "siti@example.id"}, [("email", "siti@example.id")]),
    ("web", {"name": "Siti"}, []),
    ("sms", None, []),
])
def test_the_reporter_is_told_on_their_channel_first_then_on_every_other_contact(channel, contact, deliveries):
    assert reporter_deliveries(channel, contact) == deliveries


@pytest.mark.parametrize("channel, told", [("web", True), ("mobile", True), ("sms", False), ("twitter", False)])
def test_the_receipt_is_not_sent_again_where_the_channel_already_answered(channel, told):
    event = make_event("opened", channel=channel)
    contact = {"phone": "+6281234567890", "handle": "@siti", "twitter_id": "4242", "email": "siti@example.id"}
    origin = {"sms": "sms", "twitter": "twitter"}.get(channel, "email")
    channels = [name for name, _ in reporter_deliveries(channel, contact, skips_origin(event))]
    assert (origin in channels) is told


def test_a_retry_finds_the_recipient_on_the_contact_now_on_file():
    contact = {"phone": "+6281234567890", "email": "siti@example.id"}
    assert reporter_recipient("sms", contact) == "+6281234567890"
    assert reporter_recipient("twitter", contact) is None and reporter_recipient("sms", None) is None
    assert reporter_recipient("twitter", {"handle": "@siti", "twitter_id": "4242"}) == "4242"


def test_an_agency_without_contacts_is_told_in_its_console():
    assert agency_deliveries("KOTA-18.72", {}) == [(CONSOLE, "KOTA-18.72")]
    contacts = {"email": "dpupr@metrokota.go.id", "webhook_url": "https://sim.metrokota.go.id/lapor"}
    assert agency_deliveries("KOTA-18.72", contacts) == [("email", "dpupr@metrokota.go.id"),
                                                         ("webhook", "https://sim.metrokota.go.id/lapor")]
    assert agency_recipient("webhook", "KOTA-18.72", contacts) == "https://sim.metrokota.go.id/lapor"
    assert agency_recipient(CONSOLE, "KOTA-18.72", contacts) is None  # it has contacts now


@pytest.mark.parametrize("recipient, channel, masked", [
    ("+6281234567890", "sms", "********890"),  # at most the last 3 digits (issue 13)
    ("081234567890", "sms", "********890"),
    ("siti@example.id", "email", "s***@example.id"),
    ("1234567890123456789", "twitter", "********789"),
    ("4242", "twitter", "********2"),
    ("@siti_rahayu", None, "@s***"),
    ("https://sim.metrokota.go.id/lapor?token=abc", "webhook", "https://sim.metrokota.go.id/***"),
    ("KOTA-18.72", CONSOLE, "KOTA-18.72"),
])
def test_mask_recipient(recipient, channel, masked):
    assert mask_recipient(recipient, channel) == masked


def test_message_id_is_unique_per_entry_audience_and_channel():
    ids = {message_id("10000004", version, audience, channel)
           for version in (2, 3) for audience in ("reporter", "agency") for channel in ("sms", "email")}
    assert len(ids) == 8


def test_retries_back_off_exponentially_up_to_the_cap_with_jitter():
    fixed = [retry_delay(attempts, base=30, cap=3600, jitter=lambda: 1.0) for attempts in range(1, 9)]
    assert fixed == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert retry_delay(3, base=30, cap=3600, jitter=lambda: 0.0) == 60  # half of 120 at the least
    spread = {retry_delay(2, base=30, cap=3600) for _ in range(50)}
    assert len(spread) > 1 and all(30 <= delay <= 60 for delay in spread)


def test_the_receipt_code_key_is_one_per_report_and_channel():
    assert receipt_code_message_id("10000004", "twitter") == receipt_code_message_id("10000004", "twitter")
    assert receipt_code_message_id("10000004", "twitter") == "10000004:access_code_receipt:twitter"
    assert receipt_code_message_id("10000011", "twitter") != receipt_code_message_id("10000004", "twitter")


@pytest.mark.parametrize("tracking_id, channel, recipient, access_code, fields", [
    ("10000004", "twitter", "4242", "ABCD-EFGH", set()),
    ("10000004", "sms", "+6281234567890", "ABCD-EFGH", {"channel"}),
    ("10000004", "twitter", "", "ABCD-EFGH", {"recipient"}),
    ("10000004", "twitter", None, "ABCD-EFGH", {"recipient"}),
    ("10000004", "twitter", "@siti", "ABCD-EFGH", {"recipient"}),
    ("10000004", "twitter", "٤٢", "ABCD-EFGH", {"recipient"}),  # Arabic-Indic digits are not an id
    ("", "twitter", "4242", " ", {"tracking_id", "access_code"}),
    (None, None, None, None, {"tracking_id", "channel", "recipient", "access_code"}),
])
def test_a_receipt_code_request_names_what_is_wrong(tracking_id, channel, recipient, access_code, fields):
    problems = receipt_code_problems(tracking_id, channel, recipient, access_code)
    assert set(problems) == fields
    assert all(message["id"] and message["en"] for messages in problems.values() for message in messages)
