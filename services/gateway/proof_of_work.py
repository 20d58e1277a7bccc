"""Past the per-address submission limit, a proof of work instead of a wall (issue 13, Low). Plain Python.

Indonesian carriers put whole districts behind one carrier-grade NAT address, so a hard 60 reports an hour per
address can silence a district during a flood. Past that limit the gateway answers 429 with a challenge; a client
that spends about a second of CPU on it (`bits` leading zero bits of SHA-256, as hashcash) and sends the
solution with its next try is let through. A script filing reports by the thousand pays that second for every
one; a person filing one report does not notice. No third party is asked (no captcha service).

A challenge is `<expires>.<bits>.<nonce>.<mac>`: the MAC (a key of its own, services.common.keys) binds it to the
client's counter, so it is good only from the address (IPv6: the /64) it was given to, only until it expires, and
only once (the gateway's store claims the nonce). A proof is `<challenge>:<solution>`, sent as the header
`X-Lapor-Proof` (API) or the form field `proof` (web).
"""
import hashlib
import hmac
import itertools
import secrets

from services.common.keys import keyed_hash

HEADER = "X-Lapor-Proof"
FORM_FIELD = "proof"
CHALLENGE_SECONDS = 300
DEFAULT_BITS = 18          # about 260 000 hashes on average: a fraction of a second native, a few seconds in a phone
MAX_SOLUTION_LENGTH = 32
MAX_PROOF_LENGTH = 200


def issue(secret_key, counter, bits, now_timestamp):
    """A new challenge for the client whose counter id is `counter`."""
    payload = f"{int(now_timestamp) + CHALLENGE_SECONDS}.{bits}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_mac(secret_key, counter, payload)}"


def accepted_nonce(secret_key, counter, proof, min_bits, now_timestamp):
    """The challenge's nonce (to be claimed once) when `proof` solves a challenge issued to `counter`, unexpired,
    of at least `min_bits`; else None. Never raises on what a client sent."""
    if not isinstance(proof, str) or len(proof) > MAX_PROOF_LENGTH:
        return None
    challenge, _, solution = proof.strip().rpartition(":")
    parts = challenge.split(".")
    if len(parts) != 4 or not solution or len(solution) > MAX_SOLUTION_LENGTH:
        return None
    expires, bits, nonce, mac = parts
    if not (expires.isdigit() and bits.isdigit()):
        return None
    if not hmac.compare_digest(_mac(secret_key, counter, f"{expires}.{bits}.{nonce}"), mac):
        return None
    if int(expires) < now_timestamp or int(bits) < min_bits:
        return None
    return nonce if leading_zero_bits(_digest(challenge, solution)) >= int(bits) else None


def solve(challenge):
    """The first solution of `challenge` (what a client does; lapor.js does the same in the browser)."""
    bits = int(challenge.split(".")[1])
    for counter in itertools.count():
        solution = format(counter, "x")
        if leading_zero_bits(_digest(challenge, solution)) >= bits:
            return solution


def leading_zero_bits(digest):
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def _digest(challenge, solution):
    return hashlib.sha256(f"{challenge}:{solution}".encode()).digest()


def _mac(secret_key, counter, payload):
    return keyed_hash(secret_key, "work challenges", f"{counter}|{payload}")[:32]
