"""What the web pages keep in the browser, in plain Python: CSRF tokens, sealed values and cookie settings."""
import base64
import hashlib
import hmac
import json
import secrets
import unicodedata
from urllib.parse import unquote, urlsplit

from cryptography.fernet import Fernet, InvalidToken

from services.common.keys import derive_key, keyed_hash

SESSION_COOKIE = "lapor_sesi"        # an officer's bearer token (the same JWT the API issues)
BROWSER_COOKIE = "lapor_peramban"    # a random value per browser: what forms are bound to before anyone signs in
ACCESS_COOKIE = "lapor_akses"        # the reporter's tracking ID and access code, sealed
RECEIPT_COOKIE = "lapor_tanda_terima"  # a new report's receipt, sealed, for the submitting browser's one look
LANGUAGE_COOKIE = "lapor_bahasa"

RECEIPT_SECONDS = 15 * 60            # the receipt page shows the code this long after submitting
ACCESS_SECONDS = 60 * 60             # a reporter stays "signed in" to one report this long
LANGUAGE_SECONDS = 365 * 24 * 3600
HOME = "/konsol"                    # where a sign-in goes without a usable `next`


def csrf_token(secret_key, binding):
    """The token every POST form carries: an HMAC of the browser's session (or browser cookie) value."""
    return keyed_hash(secret_key, "web csrf", binding)


def csrf_ok(secret_key, binding, token):
    return bool(binding and token) and hmac.compare_digest(csrf_token(secret_key, binding), str(token))


def new_browser_value():
    return secrets.token_urlsafe(24)


def _fernet(secret_key, purpose):
    """A Fernet key per purpose, below the sealed cookies' own derived key."""
    key = hmac.new(derive_key(secret_key, "web seal"), purpose.encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key, purpose, payload):
    """`payload` encrypted and authenticated (Fernet, a key per purpose): it may travel in a URL or a cookie
    without showing what it holds, and a value sealed for one purpose never opens for another."""
    return _fernet(secret_key, purpose).encrypt(json.dumps(payload).encode()).decode()


def unseal(secret_key, purpose, token, max_age_seconds):
    """The payload, or None when the token is missing, forged, for another purpose or older than allowed."""
    if not token:
        return None
    try:
        return json.loads(_fernet(secret_key, purpose).decrypt(token.encode(), ttl=max_age_seconds))
    except (InvalidToken, ValueError, TypeError):
        return None


def is_https(scheme, forwarded_proto):
    """Secure cookies only where the browser reaches us over https (directly or through a proxy)."""
    return scheme == "https" or (forwarded_proto or "").split(",")[0].strip() == "https"


def cookie_options(secure, max_age=None, path="/"):
    """Every cookie of the pages: unreadable by scripts, never sent by another site's forms or links."""
    return {"httponly": True, "samesite": "Strict", "secure": secure, "max_age": max_age, "path": path}


def safe_next(target):
    """Where to go after signing in: a path on this site only (never `//other.example`, `/\\other`, a full URL,
    or one a browser would turn into those by dropping tabs and newlines or reading encoded slashes)."""
    if not isinstance(target, str) or not target.startswith("/") or _leaves_site(target):
        return HOME
    decoded = target
    for _ in range(3):  # percent-encoding hides nothing: `%2F`, `%5C`, `%09` and `%252F` are read as what they are
        decoded = unquote(decoded)
        if _leaves_site(decoded, raw=False):
            return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return HOME
    return target


def _leaves_site(value, raw=True):
    """True when `value` starts like another origin, or holds a backslash or a control character; as sent
    (`raw`) also any space or separator, which a browser may drop before it reads the rest."""
    if value.startswith("//") or "\\" in value:
        return True
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" or (raw and (category[0] in "CZ")):
            return True
    return False
