"""Encrypt every reporter contact, pending access code and file name intake keeps again with the newest PII key.

    LAPOR_PII_KEY="<new>,<old>" python -m services.intake.rotate_pii_key      (make rotate-pii-key)

Rotating the key: put the new key first in LAPOR_PII_KEY and keep the old one after it, restart intake (it then
encrypts with the new key and still reads the old), run this, then drop the old key and restart intake again.
Each value is replaced only while it still holds what was read (a compare-and-set), so it may run beside a live
intake and again after an interruption; a value no key opens is left as it is, counted, and makes the exit code 1.
"""
import argparse
import os
import sys

from cryptography.fernet import Fernet, InvalidToken
from pymongo.errors import PyMongoError

from services.common.cli import not_answering
from services.common.mongo import open_repository
from services.common.secret_files import SecretFileError, resolve_secret_files
from services.common.secrets import pii_cipher
from services.intake.storage import IntakeRepository

DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"


def rotate(repository, cipher, newest):
    """{collection.field: {"rotated", "current", "unreadable"}} after encrypting each value with `newest`."""
    counts = {}
    for collection, field in repository.ENCRYPTED_FIELDS:
        tally = counts[f"{collection}.{field}"] = {"rotated": 0, "current": 0, "unreadable": 0}
        for document_id, token in repository.encrypted_values(collection, field):
            try:
                newest.decrypt(token.encode())
                tally["current"] += 1
                continue
            except InvalidToken:
                pass
            try:
                rotated = cipher.rotate(token.encode()).decode()
            except InvalidToken:
                tally["unreadable"] += 1
                continue
            if repository.replace_encrypted(collection, document_id, field, token, rotated):
                tally["rotated"] += 1
            else:
                tally["current"] += 1  # changed since it was read: written by intake with the newest key
    return counts


def main(argv=None, environ=None, out=None):
    argparse.ArgumentParser(prog="python -m services.intake.rotate_pii_key",
                            description=__doc__.split("\n")[0]).parse_args(argv)
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    try:
        resolve_secret_files(environ)
        keys = [key.strip() for key in (environ.get("LAPOR_PII_KEY") or "").split(",") if key.strip()]
        cipher = pii_cipher(",".join(keys))
    except (SecretFileError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(keys) < 2:
        print("error: LAPOR_PII_KEY holds one key; put the new key first and the old one after it "
              "(\"<new>,<old>\")", file=sys.stderr)
        return 2
    uri = environ.get("LAPOR_MONGO_URI") or DEFAULT_MONGO_URI
    client = None
    try:
        client, repository = open_repository(IntakeRepository, uri, "lapor_intake", environ.get("LAPOR_DB_PREFIX", ""))
        counts = rotate(repository, cipher, Fernet(keys[0].encode()))
    except PyMongoError as exc:
        print(f"error: {not_answering('store', uri, exc)}; "
              "nothing more was changed; run it again", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
    for name, tally in counts.items():
        print(f"{name}: {tally['rotated']} encrypted again, {tally['current']} already on the new key, "
              f"{tally['unreadable']} no key opens", file=out)
    return 1 if any(tally["unreadable"] for tally in counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
