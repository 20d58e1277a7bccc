"""Access codes (DESIGN §5): 8 Crockford base32 characters shown as XXXX-XXXX, kept only as an HMAC."""
import hashlib
import hmac
import secrets

from services.common.keys import keyed_hash

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def generate_access_code():
    raw = "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_access_code(text):
    """Case-insensitive, hyphen and spaces optional, Crockford aliases (O→0, I/L→1); None if malformed."""
    if not isinstance(text, str):
        return None
    compact = text.strip().upper().replace("-", "").replace(" ", "").translate(_ALIASES)
    if len(compact) != CODE_LENGTH or any(char not in CROCKFORD_ALPHABET for char in compact):
        return None
    return compact


HASH_PREFIX = "k1:"  # a hash under the access codes' own derived key; a bare hex hash is from before (legacy)


def hash_access_code(secret_key, code):
    normalized = normalize_access_code(code)
    if normalized is None:
        raise ValueError("malformed access code")
    return HASH_PREFIX + keyed_hash(secret_key, "access codes", normalized)


def legacy_hash_access_code(secret_key, normalized):
    """The hash reports got before the keys were separated: HMAC under the server secret itself. Such reports keep
    their codes (a code cannot be hashed again without the code); every new code is hashed with `hash_access_code`."""
    return hmac.new(secret_key.encode(), normalized.encode(), hashlib.sha256).hexdigest()


def access_code_matches(secret_key, code, expected_hash):
    normalized = normalize_access_code(code)
    if normalized is None or not expected_hash:
        return False
    if expected_hash.startswith(HASH_PREFIX):
        return hmac.compare_digest(hash_access_code(secret_key, normalized), expected_hash)
    return hmac.compare_digest(legacy_hash_access_code(secret_key, normalized), expected_hash)
