"""The SMS 1708 webhook signature in plain Python: what it signs, the 300 s window at its edges, the reasons
refused, the constant-time compare, and nothing of the secret or the request in the log."""
import hashlib
import hmac
import logging
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import Unavailable
from services.gateway import sms_webhook
from services.gateway.exceptions import Unauthorized
from services.gateway.sms_webhook import (INVALID, MALFORMED_TIMESTAMP, MISSING, STALE, SmsWebhook,
                                          signature_problem, sms_signature)

SECRET = "shared-with-the-operator"
AT = datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc)
STAMP = str(int(AT.timestamp()))
BODY = b'{"from": "081234567890", "text": "KOTA METRO jalan rusak", "message_id": "smsc-1"}'


def signed(at=AT, body=BODY, secret=SECRET):
    timestamp = str(int(at.timestamp()))
    return timestamp, sms_signature(secret, timestamp, body)


def test_the_signature_is_the_hex_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), STAMP.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert sms_signature(SECRET, STAMP, BODY) == f"sha256={expected}"


@pytest.mark.parametrize("sent_at, problem", [
    (AT, None), (AT - timedelta(seconds=300), None), (AT + timedelta(seconds=300), None),
    (AT - timedelta(seconds=301), STALE), (AT + timedelta(seconds=301), STALE), (AT - timedelta(days=1), STALE),
], ids=["now", "300 s old", "300 s ahead", "301 s old", "301 s ahead", "a day old"])
def test_the_replay_window_is_300_seconds_either_side_of_the_gateway_s_clock(sent_at, problem):
    assert signature_problem(SECRET, *signed(at=sent_at), BODY, AT) == problem


@pytest.mark.parametrize("timestamp, signature, body, problem", [
    (None, signed()[1], BODY, MISSING), (STAMP, None, BODY, MISSING), ("", signed()[1], BODY, MISSING),
    (STAMP, "", BODY, MISSING),
    ("1.7e9", signed()[1], BODY, MALFORMED_TIMESTAMP), ("-1", signed()[1], BODY, MALFORMED_TIMESTAMP),
    (" " + STAMP, signed()[1], BODY, MALFORMED_TIMESTAMP), ("1" * 13, signed()[1], BODY, MALFORMED_TIMESTAMP),
    ("١٧٩٦", signed()[1], BODY, MALFORMED_TIMESTAMP),  # Arabic-Indic digits are digits to str.isdigit
    (STAMP, signed()[1], BODY + b" ", INVALID), (STAMP, signed(secret="other")[1], BODY, INVALID),
    (str(int(STAMP) + 1), signed()[1], BODY, INVALID), (STAMP, signed()[1].removeprefix("sha256="), BODY, INVALID),
    (STAMP, "sha256=" + "0" * 64, BODY, INVALID), (STAMP, "sha256=ünïcode", BODY, INVALID),
], ids=["no timestamp", "no signature", "empty timestamp", "empty signature", "exponent", "negative", "space",
        "13 digits", "not ascii digits", "other body", "other secret", "other timestamp", "no prefix", "zeros",
        "non-ascii"])
def test_what_is_refused_and_why(timestamp, signature, body, problem):
    assert signature_problem(SECRET, timestamp, signature, body, AT) == problem


def test_upper_case_hex_and_surrounding_space_are_still_the_signature():
    timestamp, signature = signed()
    assert signature_problem(SECRET, timestamp, f" sha256={signature[7:].upper()} ", BODY, AT) is None


def test_the_signature_is_compared_in_constant_time(monkeypatch):
    compared = []
    monkeypatch.setattr(sms_webhook.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or a == b)
    assert signature_problem(SECRET, *signed(), BODY, AT) is None
    assert len(compared) == 1


def webhook(secret=SECRET):
    provider = SmsWebhook()
    provider.secret = secret
    return provider


def test_without_a_secret_the_channel_is_unavailable_in_both_languages():
    with pytest.raises(Unavailable) as refused:
        webhook("").verify(BODY, *signed(secret=""))
    assert "LAPOR_SMS_WEBHOOK_SECRET" in refused.value.message and "LAPOR_SMS_WEBHOOK_SECRET" in refused.value.english


def test_a_refusal_is_unauthorized_with_its_reason_in_both_languages_and_logs_nothing_secret(monkeypatch, caplog):
    monkeypatch.setattr(sms_webhook, "now", lambda: AT + timedelta(minutes=10))
    timestamp, signature = signed()
    with caplog.at_level(logging.DEBUG), pytest.raises(Unauthorized) as refused:
        webhook().verify(BODY, timestamp, signature)
    assert refused.value.message.startswith("Stempel waktu SMS") and refused.value.english.startswith("The SMS")
    logged = caplog.text
    assert "stale" in logged
    assert not any(secret in logged for secret in (SECRET, signature[7:], "081234567890"))


def test_a_signed_request_within_the_window_passes(monkeypatch):
    monkeypatch.setattr(sms_webhook, "now", lambda: AT + timedelta(seconds=299))
    assert webhook().verify(BODY, *signed()) is None
