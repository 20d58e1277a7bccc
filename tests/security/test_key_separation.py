"""Issue 13 (Low, secrets): JWTs, CSRF tokens, sealed cookies, access-code hashes and every other keyed hash each
take a key of their own, derived from LAPOR_SECRET_KEY with HKDF and a label (services.common.keys). Before, the
access-code hashes, rate-limit counters, supporter keys, wrong-code counters and SMS part names were HMACs under
the server secret itself, and the rest under ad-hoc HMAC derivations."""
import ast
import hashlib
import hmac
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.common import keys
from services.common.access_codes import access_code_matches, hash_access_code, normalize_access_code
from services.gateway import accounts, limits, web_session
from services.intake.smpp_pdu import group_key
from services.tracking import domain as tracking_domain

SECRET = "a-server-secret-of-one-deployment"
ROOT = Path(__file__).resolve().parents[2]


def hkdf(label):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"lapor {label}".encode()).derive(SECRET.encode())


def raw_hmac(message):
    return hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_every_label_gives_its_own_key_and_none_is_the_secret():
    derived = [keys.derive_key(SECRET, label) for label in keys.LABELS]
    assert len(set(derived)) == len(keys.LABELS)
    assert SECRET.encode() not in derived
    assert keys.derive_key(SECRET, "access codes") == hkdf("access codes")  # RFC 5869 HKDF-SHA256, as documented
    assert keys.derive_key("another-secret", "access codes") != keys.derive_key(SECRET, "access codes")
    with pytest.raises(ValueError):
        keys.derive_key(SECRET, "a label nobody registered")


def test_access_code_hashes_use_their_own_key_and_old_hashes_still_open():
    code = "7K2M-9QXD"
    normalized = normalize_access_code(code)
    stored = hash_access_code(SECRET, code)
    assert stored != raw_hmac(normalized)
    assert stored == "k1:" + hmac.new(hkdf("access codes"), normalized.encode(), hashlib.sha256).hexdigest()
    assert access_code_matches(SECRET, code, stored)
    # a report filed before the separation keeps its code
    assert access_code_matches(SECRET, code, raw_hmac(normalized))
    assert not access_code_matches(SECRET, "7K2M-9QXE", raw_hmac(normalized))
    assert not access_code_matches(SECRET, "7K2M-9QXE", stored)


def test_officer_tokens_verify_only_under_their_own_key():
    account = {"_id": "a1", "username": "budi.s", "role": "national_admin", "agency_code": None, "name": "Budi"}
    token = accounts.issue_token(account, None, SECRET, 600, accounts.datetime.now(accounts.timezone.utc))
    jwt.decode(token, hkdf("officer tokens"), algorithms=["HS256"], options={"verify_aud": False})
    for wrong in (SECRET.encode(), hkdf("web csrf"), hkdf("access codes")):
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, wrong, algorithms=["HS256"], options={"verify_aud": False})


def test_csrf_tokens_seals_and_counters_do_not_share_a_key():
    binding = "browser-value"
    assert web_session.csrf_token(SECRET, binding) == hmac.new(hkdf("web csrf"), binding.encode(),
                                                               hashlib.sha256).hexdigest()
    sealed = web_session.seal(SECRET, "receipt", {"tracking_id": "10000004"})
    assert web_session.unseal(SECRET, "receipt", sealed, 60) == {"tracking_id": "10000004"}
    assert web_session.unseal(SECRET, "access", sealed, 60) is None  # one purpose never opens another
    assert limits.counter_id(SECRET, limits.IP, "203.0.113.7").split(":", 1)[1] != raw_hmac(
        "rate-limit:ip:203.0.113.7")
    assert tracking_domain.supporter_key(SECRET, "10000004", "203.0.113.7") != f"10000004:{raw_hmac('203.0.113.7')}"
    assert tracking_domain.legacy_supporter_key(SECRET, "10000004", "203.0.113.7") == \
        f"10000004:{raw_hmac('203.0.113.7')}"
    [(per_report, _), _] = tracking_domain.access_failure_counters(SECRET, "10000004", "203.0.113.7")
    assert per_report != f"10000004:{raw_hmac('access-failure:203.0.113.7')}"
    assert group_key(SECRET, "081234567890", 7, 2) != group_key("another-secret", "081234567890", 7, 2)


def _calls_with_a_label(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                "derive_key", "keyed_hash") and len(node.args) >= 2:
            yield node.args[1]


def test_each_label_is_used_in_one_place_and_no_code_keys_an_hmac_with_the_raw_secret():
    used = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        if path.name == "keys.py":
            continue
        source = path.read_text()
        for label in _calls_with_a_label(ast.parse(source)):
            assert isinstance(label, ast.Constant), f"{path}: a key label must be a literal"
            used.append(label.value)
        for line_number, line in enumerate(source.splitlines(), 1):
            if "hmac.new(secret_key.encode()" in line:
                allowed = "def legacy_" in "\n".join(source.splitlines()[max(0, line_number - 6):line_number])
                assert allowed, f"{path}:{line_number} keys an HMAC with the raw server secret"
    assert sorted(used) == sorted(keys.LABELS)  # every registered label used, and each only once
