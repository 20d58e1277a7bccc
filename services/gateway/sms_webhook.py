"""SMS 1708 deliveries signed by the operator's SMS gateway: the HMAC over timestamp and body, the replay window,
and the dependency that refuses anything else before the body is read as an SMS."""
import hashlib
import hmac
import logging
import re
from datetime import timedelta

from nameko.extensions import DependencyProvider

from services.common.errors import Unavailable
from services.common.events import now
from services.gateway.exceptions import Unauthorized, with_english

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-LAPOR-Timestamp"
SIGNATURE_HEADER = "X-LAPOR-Signature"
SIGNATURE_PREFIX = "sha256="
REPLAY_WINDOW = timedelta(seconds=300)
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

MISSING, MALFORMED_TIMESTAMP, INVALID, STALE = "missing", "malformed_timestamp", "invalid", "stale"
REFUSALS = {
    MISSING: ("SMS ini tidak bertanda tangan gateway SMS operator (X-LAPOR-Timestamp dan X-LAPOR-Signature wajib).",
              "This SMS is not signed by the operator's SMS gateway "
              "(X-LAPOR-Timestamp and X-LAPOR-Signature are required)."),
    MALFORMED_TIMESTAMP: ("X-LAPOR-Timestamp harus detik Unix (bilangan bulat).",
                          "X-LAPOR-Timestamp must be whole Unix seconds."),
    INVALID: ("Tanda tangan gateway SMS tidak valid.", "The SMS gateway's signature is not valid."),
    STALE: (f"Stempel waktu SMS di luar batas {REPLAY_WINDOW.seconds} detik dari jam LAPOR; "
            "kirim ulang dengan stempel waktu sekarang.",
            f"The SMS timestamp is more than {REPLAY_WINDOW.seconds} seconds from LAPOR's clock; "
            "send it again with the current time."),
}


def sms_signature(secret, timestamp, body):
    """`sha256=` + hex HMAC-SHA256(secret, timestamp + "." + raw body): the X-LAPOR-Signature header's value."""
    message = timestamp.encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_problem(secret, timestamp, signature, body, at):
    """None when `signature` signs `timestamp` (Unix seconds) and the raw `body` with `secret` and the timestamp is
    within REPLAY_WINDOW of `at`, either side; else MISSING, MALFORMED_TIMESTAMP, INVALID or STALE.

    The window is judged only once the signature holds, so STALE always means the operator's clock (or a replay)."""
    if not secret or not timestamp or not signature:
        return MISSING
    if not _UNIX_SECONDS.fullmatch(timestamp):
        return MALFORMED_TIMESTAMP
    expected = sms_signature(secret, timestamp, body).encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace")):
        return INVALID
    if abs(at.timestamp() - int(timestamp)) > REPLAY_WINDOW.total_seconds():
        return STALE
    return None


class SmsWebhook(DependencyProvider):
    """Config `SMS_WEBHOOK_SECRET`, shared with the operator's SMS gateway; without it the channel is off (503)."""

    def setup(self):
        self.secret = str(self.container.config.get("SMS_WEBHOOK_SECRET") or "")

    def get_dependency(self, worker_ctx):
        return self

    def verify(self, body, timestamp, signature):
        """Returns when the raw `body` is the operator gateway's, signed within the window of the gateway's clock;
        Unavailable without a secret, Unauthorized otherwise (the reason in Bahasa Indonesia, and in English)."""
        if not self.secret:
            raise with_english(Unavailable("Kanal SMS belum dikonfigurasi (LAPOR_SMS_WEBHOOK_SECRET kosong)."),
                               "The SMS channel is not configured (LAPOR_SMS_WEBHOOK_SECRET is empty).")
        problem = signature_problem(self.secret, timestamp, signature, body, now())
        if problem is not None:
            log.warning("SMS webhook request refused: %s", problem)  # never the secret, the headers or the body
            indonesian, english = REFUSALS[problem]
            raise with_english(Unauthorized(indonesian), english)
