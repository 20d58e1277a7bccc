"""Rate limits at the edge in plain Python: the buckets, their limits from config, windows and hashed keys."""
import math
import re
from collections import namedtuple
from datetime import timedelta

from services.common.addresses import counted_address
from services.common.keys import keyed_hash
from services.gateway.accounts import over_limit, retry_after_seconds

IP = "ip"
PHONE = "phone"
API_KEY = "api_key"
ACCESS_CODE = "access_code"  # requests for a new access code, per client address
TWITTER_CRC = "twitter_crc"  # Twitter/X CRC challenges answered, per client address (each one is an HMAC we sign)
READ = "read"  # public reads that cost the store a query or more each: lists, searches, figures, downloads

Bucket = namedtuple("Bucket", "config_key default window")
BUCKETS = {
    IP: Bucket("RATE_LIMIT_IP_PER_HOUR", 60, timedelta(hours=1)),
    PHONE: Bucket("RATE_LIMIT_PHONE_PER_HOUR", 20, timedelta(hours=1)),
    API_KEY: Bucket("RATE_LIMIT_API_KEY_PER_MINUTE", 600, timedelta(minutes=1)),
    ACCESS_CODE: Bucket("RATE_LIMIT_ACCESS_CODE_PER_DAY", 10, timedelta(days=1)),
    # X asks on registration, hourly and when an operator triggers it: 30 an hour is far beyond that.
    TWITTER_CRC: Bucket("RATE_LIMIT_TWITTER_CRC_PER_HOUR", 30, timedelta(hours=1)),
    # Per client address; a district behind one carrier-grade NAT shares it, so it is generous: a person
    # browsing asks a few a minute, a scraper or a loop hundreds.
    READ: Bucket("RATE_LIMIT_READS_PER_MINUTE", 300, timedelta(minutes=1)),
}
UNLIMITED = 0
ADDRESS_BUCKETS = (IP, ACCESS_CODE, TWITTER_CRC, READ)  # keyed by the client's address

# "+62 812-3456-7890", "6281234567890" and "081234567890" are one sender: what follows the 0 or 62.
_NOT_DIGITS = re.compile(r"\D")
_INDONESIAN_PREFIX = re.compile(r"^(?:62|0)")


# Soft buckets: past the limit, a request with a proof of work passes (services.gateway.proof_of_work), up to a
# ceiling of every hit in the window (0: none). One carrier-grade NAT address can be a whole district.
Soft = namedtuple("Soft", "work_bits ceiling")
SOFT_BUCKETS = {
    IP: (("RATE_LIMIT_IP_WORK_BITS", 18), ("RATE_LIMIT_IP_CEILING_PER_HOUR", 1200)),
}
MAX_WORK_BITS = 26


def soft_limits_from_config(config):
    """{bucket: Soft(work_bits, ceiling)}; work_bits 0 makes the limit hard again."""
    soft = {}
    for bucket, ((bits_key, bits_default), (ceiling_key, ceiling_default)) in SOFT_BUCKETS.items():
        bits = config.get(bits_key)
        bits = bits_default if bits in (None, "") else _whole_number(bits_key, bits)
        if bits > MAX_WORK_BITS:
            raise ValueError(f"{bits_key} must be at most {MAX_WORK_BITS} (each bit doubles a client's work)")
        ceiling = config.get(ceiling_key)
        soft[bucket] = Soft(bits, ceiling_default if ceiling in (None, "") else _whole_number(ceiling_key, ceiling))
    return soft


def over_ceiling(hits, ceiling):
    return ceiling != UNLIMITED and hits > ceiling


def limits_from_config(config):
    """{bucket: hits allowed per window}: a missing setting takes its default, 0 means unlimited."""
    limits = {}
    for name, bucket in BUCKETS.items():
        value = config.get(bucket.config_key)
        limits[name] = bucket.default if value in (None, "") else _whole_number(bucket.config_key, value)
    return limits


def _whole_number(config_key, value):
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
        raise ValueError(f"{config_key} must be a whole number ≥ 0 (0 = unlimited), not {value!r}")
    return int(text)


def canonical_key(bucket, key):
    """The key as counted: a phone number by its digits after the country or trunk prefix."""
    text = str(key).strip() if key is not None else ""
    if bucket == PHONE:
        text = _INDONESIAN_PREFIX.sub("", _NOT_DIGITS.sub("", text))
    elif bucket in ADDRESS_BUCKETS:
        text = counted_address(text)  # an IPv6 client by its /64
    return text or "unknown"


def counter_id(secret_key, bucket, key):
    """`<bucket>:<HMAC-SHA256 of the key>`: the counter's id, so no phone number, address or API key is
    kept in clear (a plain hash of a phone number is reversed by trying them all)."""
    digest = keyed_hash(secret_key, "rate-limit counters", f"rate-limit:{bucket}:{canonical_key(bucket, key)}")
    return f"{bucket}:{digest}"


def refusal(limit, hits, window_started_at, at, window):
    """None while `hits` (this one included) is within `limit`; else the seconds left in the window."""
    if limit == UNLIMITED or not over_limit(hits, limit):
        return None
    return retry_after_seconds(window_started_at, at, window)


def work_message(retry_after):
    """The refusal of a soft bucket: the client may prove some work and try again at once."""
    return (f"Terlalu banyak laporan dari jaringan Anda. Selesaikan tantangan (`work`, kirim lewat X-Lapor-Proof) "
            f"lalu kirim lagi, atau coba lagi dalam {math.ceil(retry_after / 60)} menit.")


def refusal_message(retry_after):
    """In Bahasa Indonesia; English clients get the gateway's headline for `rate_limited`."""
    minutes = math.ceil(retry_after / 60)
    return f"Terlalu banyak permintaan; coba lagi dalam {minutes} menit."
