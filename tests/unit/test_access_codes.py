"""Access codes (DESIGN §5): Crockford base32 XXXX-XXXX, read leniently, kept only as a keyed hash."""
import hashlib
import re

import pytest

from services.common.access_codes import (
    CROCKFORD_ALPHABET, access_code_matches, generate_access_code, hash_access_code, normalize_access_code,
)

SECRET = "test-secret"
CODE = "7K3M-Q9ZT"
CODE_FORMAT = re.compile(rf"^[{CROCKFORD_ALPHABET}]{{4}}-[{CROCKFORD_ALPHABET}]{{4}}$")


def make_hash(code=CODE, secret=SECRET):
    return hash_access_code(secret, code)


def test_crockford_alphabet_leaves_out_the_ambiguous_letters():
    assert len(CROCKFORD_ALPHABET) == 32
    assert not set("ILOU") & set(CROCKFORD_ALPHABET)


def test_generated_codes_have_the_shown_format():
    codes = {generate_access_code() for _ in range(200)}
    assert all(CODE_FORMAT.match(code) for code in codes)
    assert len(codes) > 195  # 40 random bits: repeats in 200 draws would mean a broken generator


def test_generated_code_normalises_to_itself_without_the_hyphen():
    code = generate_access_code()
    assert normalize_access_code(code) == code.replace("-", "")


@pytest.mark.parametrize("text, expected", [
    ("7K3M-Q9ZT", "7K3MQ9ZT"),
    ("7k3m-q9zt", "7K3MQ9ZT"),
    ("7K3MQ9ZT", "7K3MQ9ZT"),
    ("  7K3M Q9ZT  ", "7K3MQ9ZT"),
    ("7K3M - Q9ZT", "7K3MQ9ZT"),
    ("O0O0-0000", "00000000"),
    ("o0o0-0000", "00000000"),
    ("IL11-il11", "11111111"),
    ("ABCD-EFGH", "ABCDEFGH"),
])
def test_normalize_accepts_case_spacing_hyphen_and_aliases(text, expected):
    assert normalize_access_code(text) == expected


@pytest.mark.parametrize("text", [
    "",
    "7K3M-Q9Z",       # seven characters
    "7K3M-Q9ZTX",     # nine characters
    "7K3M-Q9ZU",      # U is not Crockford
    "7K3M-Q9Z!",
    "7K3M_Q9ZT",
    "7K3M-Q9Zé",
    None,
    12345678,
])
def test_normalize_rejects_malformed_codes(text):
    assert normalize_access_code(text) is None


def test_hash_is_hex_sha256_but_not_a_plain_hash_of_the_code():
    digest = make_hash()
    assert re.fullmatch(r"k1:[0-9a-f]{64}", digest)  # k1: the access codes' own derived key
    assert digest != hashlib.sha256(b"7K3MQ9ZT").hexdigest()


def test_hash_is_the_same_for_every_spelling_of_a_code():
    assert make_hash("7k3m q9zt") == make_hash("7K3M-Q9ZT") == make_hash("7K3MQ9ZT")


def test_hash_is_keyed():
    assert make_hash(secret="one secret") != make_hash(secret="another secret")


def test_hash_differs_between_codes():
    assert make_hash("7K3M-Q9ZT") != make_hash("7K3M-Q9ZV")


def test_hash_refuses_a_malformed_code():
    with pytest.raises(ValueError):
        hash_access_code(SECRET, "UUUU-UUUU")


@pytest.mark.parametrize("given", ["7K3M-Q9ZT", "7k3mq9zt", " 7K3M Q9ZT "])
def test_matches_every_spelling_of_the_right_code(given):
    assert access_code_matches(SECRET, given, make_hash()) is True


def test_matches_aliases_of_the_right_code():
    expected_hash = make_hash("10A0-B1C0")
    assert access_code_matches(SECRET, "lOaO-bIcO", expected_hash) is True


@pytest.mark.parametrize("given, expected_hash", [
    ("7K3M-Q9ZV", make_hash()),                        # wrong code
    ("7K3M-Q9Z", make_hash()),                         # malformed
    ("", make_hash()),
    (None, make_hash()),
    (CODE, ""),                                        # no hash on file
    (CODE, None),
    (CODE, make_hash(secret="another secret")),        # hashed under another key
])
def test_does_not_match(given, expected_hash):
    assert access_code_matches(SECRET, given, expected_hash) is False
