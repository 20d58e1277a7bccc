"""One key per use of LAPOR_SECRET_KEY (issue 13, "separate keys"), derived with HKDF-SHA256 (RFC 5869).

Every keyed hash, signature and seal LAPOR makes from the server secret takes its own key, named by a label below,
so a value made for one use (a CSRF token, a rate-limit counter id, an access-code hash) is never valid, or
computable, for another, and a leak of one derived key (a log of counter ids, say) gives nothing of the others.
No Nameko import: domain modules use it.
"""
import functools
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Every label in use, each exactly once (tests/security/test_key_separation.py checks the code against this list).
LABELS = (
    "officer tokens",         # gateway: the officers' JWTs
    "typed usernames",        # gateway: failed sign-in names and their counters
    "rate-limit counters",    # gateway: counter ids of addresses, phone numbers and API keys
    "web csrf",               # gateway: CSRF tokens of the web forms
    "web seal",               # gateway: sealed cookies (each purpose then has its own key below this one)
    "access codes",           # intake and tracking: access-code hashes
    "supporters",             # tracking: one support per report and address
    "access failures",        # tracking: wrong-code counters per report and client
    "sms parts",              # intake: the stored name of a long SMS's parts
    "work challenges",        # gateway: proof-of-work challenges past the per-address limit
)


@functools.lru_cache(maxsize=128)
def derive_key(secret_key, label, length=32):
    """The key of one use: HKDF-SHA256 of the server secret, with `lapor <label>` as the info."""
    if label not in LABELS:
        raise ValueError(f"unknown key label {label!r}: add it to services.common.keys.LABELS")
    if not secret_key:
        raise ValueError("LAPOR_SECRET_KEY is empty")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=f"lapor {label}".encode()).derive(secret_key.encode())


def keyed_hash(secret_key, label, message):
    """HMAC-SHA256 of `message` (str or bytes) under the key of `label`, in hex."""
    data = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
    return hmac.new(derive_key(secret_key, label), data, hashlib.sha256).hexdigest()
