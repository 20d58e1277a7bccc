"""Signing an SMS 1708 request as the operator's SMS gateway does (services/gateway/sms_webhook.py checks it)."""
import hashlib
import hmac

from services.common.events import now

STACK_SECRET = "e2e-sms-gateway-secret"  # the end-to-end stack's LAPOR_SMS_WEBHOOK_SECRET


def signed_sms_headers(secret, body, at=None):
    """The headers of a signed `POST /api/v1/channels/sms` of the raw `body`, timestamped `at` (default: now)."""
    timestamp = str(int((at or now()).timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-LAPOR-Timestamp": timestamp, "X-LAPOR-Signature": f"sha256={digest}"}
