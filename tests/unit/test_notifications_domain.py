"""Notifications' pure logic: reporter templates, the channel back to the reporter, masked recipients."""
import pytest

from services.notifications.domain import (
    REPORTER_TEMPLATES, mask_recipient, message_id, reporter_deliveries, reporter_message,
)

PORTAL = "https://lapor.example.id/"
LANGUAGES = ("id", "en")


def make_event(kind, **overrides):
    event = {"kind": kind, "tracking_id": "10000004", "agency_code": "KOTA-18.72",
             "agency_name": "Pemerintah Kota Metro", "reason": "criminal", "note": "Jalan sudah ditambal."}
    event.update(overrides)
    return event


def make_contact(**fields):
    return dict(fields)


@pytest.mark.parametrize("kind", sorted(REPORTER_TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_completely(kind, language):
    name, text = reporter_message(make_event(kind), PORTAL, language)
    assert name == REPORTER_TEMPLATES[kind][0]
    assert "{" not in text and "}" not in text
    assert "10000004" in text
    assert text == text.strip()


@pytest.mark.parametrize("kind", sorted(REPORTER_TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_with_sparse_events(kind, language):
    _, text = reporter_message({"kind": kind, "tracking_id": "10000004"}, PORTAL, language)
    assert "{" not in text and "None" not in text


def test_languages_differ():
    for kind in REPORTER_TEMPLATES:
        assert reporter_message(make_event(kind), PORTAL, "id") != reporter_message(make_event(kind), PORTAL, "en")


def test_portal_link_has_no_double_slash():
    _, text = reporter_message(make_event("opened"), PORTAL, "id")
    assert "https://lapor.example.id/lacak?id=10000004" in text
    assert "id//lacak" not in text


def test_disposed_names_the_agency_and_falls_back_to_its_code():
    assert "Pemerintah Kota Metro" in reporter_message(make_event("disposed"), PORTAL)[1]
    assert "KOTA-18.72" in reporter_message(make_event("disposed", agency_name=None), PORTAL)[1]
    assert "instansi terkait" in reporter_message(make_event("disposed", agency_name=None, agency_code=None), PORTAL)[1]


def test_followup_carries_the_note():
    assert reporter_message(make_event("followup"), PORTAL, "en")[1].endswith("Jalan sudah ditambal.")


@pytest.mark.parametrize("kind", ["verified", "info_requested", "rated", "access_code_reissued"])
def test_kinds_without_a_template_send_nothing(kind):
    assert reporter_message(make_event(kind), PORTAL) is None


@pytest.mark.parametrize("channel, contact, deliveries", [
    ("sms", make_contact(phone="+6281234567890", email="siti@example.id"), [("sms", "+6281234567890")]),
    ("twitter", make_contact(handle="@siti", email="siti@example.id"), [("twitter", "@siti")]),
    ("web", make_contact(phone="+6281234567890", email="siti@example.id"), [("email", "siti@example.id")]),
    ("mobile", make_contact(email="siti@example.id"), [("email", "siti@example.id")]),
    ("web", make_contact(phone="+6281234567890"), [("sms", "+6281234567890")]),
    ("sms", make_contact(email="siti@example.id"), [("email", "siti@example.id")]),
    ("twitter", make_contact(phone="+6281234567890"), [("sms", "+6281234567890")]),
    ("web", make_contact(handle="@siti"), []),
    ("web", make_contact(), []),
    ("sms", None, []),
])
def test_reporter_deliveries_choose_the_channel(channel, contact, deliveries):
    assert reporter_deliveries(channel, contact) == deliveries


@pytest.mark.parametrize("recipient, masked", [
    ("+6281234567890", "0812****7890"),
    ("081234567890", "0812****7890"),
    ("siti@example.id", "s***@example.id"),
    ("@siti_rahayu", "@s***"),
])
def test_mask_recipient(recipient, masked):
    assert mask_recipient(recipient) == masked


@pytest.mark.parametrize("recipient", ["+6281234567890", "siti@example.id", "@siti_rahayu"])
def test_masked_recipient_hides_the_middle(recipient):
    assert mask_recipient(recipient) != recipient
    assert "3456" not in mask_recipient(recipient)
    assert "iti" not in mask_recipient(recipient)


def test_message_id_is_unique_per_entry_audience_and_channel():
    ids = {message_id("10000004", version, audience, channel)
           for version in (2, 3) for audience in ("reporter", "agency") for channel in ("sms", "email")}
    assert len(ids) == 8


@pytest.mark.parametrize("channel, told", [("web", True), ("mobile", True), ("sms", False), ("twitter", False)])
def test_the_receipt_is_not_sent_again_where_the_channel_already_answered(channel, told):
    event = {"kind": "opened", "channel": channel, "tracking_id": "10000004"}
    assert (reporter_message(event, "http://lapor.test") is not None) is told
