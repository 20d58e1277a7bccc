"""Issue 13, secrets: the PII key could not be changed without losing every reporter's contact. LAPOR_PII_KEY now
takes "<new>,<old>" (the first encrypts, any decrypts), and services/intake/rotate_pii_key.py encrypts what intake
keeps again with the new key, on the real store, so the old key can then be dropped."""
import io

import pytest
from cryptography.fernet import Fernet

from services.intake.rotate_pii_key import main as rotate_main
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.factories import make_report

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def rotate(store, db_prefix, keys):
    out = io.StringIO()
    code = rotate_main([], environ={"LAPOR_PII_KEY": keys, "LAPOR_MONGO_URI": store.uri,
                                    "LAPOR_DB_PREFIX": db_prefix}, out=out)
    return code, out.getvalue()


def test_contacts_encrypted_with_the_old_key_are_read_with_the_new_one_alone(
        start_service, service_config, store, db_prefix, repo):
    start_service(TrackingService)  # intake asks it for tracking IDs
    old_intake = start_service(IntakeService, PII_KEY=OLD)
    with service_proxy("intake", service_config) as intake:
        intake.submit(make_report(), idempotency_key="7f0c9d3e-0000-4000-8000-000000000001")
    [submission] = repo.db.submissions.find()
    lost = repo.db.submissions.insert_one(dict(submission, _id="other", reporter_ref="ref-of-another-key",
                                               contact_encrypted=Fernet(STRANGER).encrypt(b"{}").decode()))
    old_intake.stop()

    code, printed = rotate(store, db_prefix, f"{NEW},{OLD}")
    assert code == 1  # one value no key opens: left as it was, and said
    assert "submissions.contact_encrypted: 1 encrypted again, 0 already on the new key, 1 no key opens" in printed
    assert "idempotency.access_code_encrypted: 1 encrypted again" in printed
    assert "Siti" not in printed and NEW not in printed and OLD not in printed
    assert repo.db.submissions.find_one({"_id": lost.inserted_id})["contact_encrypted"].startswith("gAAAA")

    rotated = repo.db.submissions.find_one({"_id": submission["_id"]})
    assert b"Siti Aminah" in Fernet(NEW).decrypt(rotated["contact_encrypted"].encode())
    start_service(IntakeService, PII_KEY=NEW)  # the old key dropped
    with service_proxy("intake", service_config) as intake:
        assert intake.contact(submission["reporter_ref"])["name"] == "Siti Aminah"

    repo.db.submissions.delete_one({"_id": lost.inserted_id})
    assert rotate(store, db_prefix, f"{NEW},{OLD}")[0] == 0  # again: nothing left to do
    assert "0 encrypted again, 1 already on the new key" in rotate(store, db_prefix, f"{NEW},{OLD}")[1]


@pytest.mark.parametrize("keys, message", [
    ("", "LAPOR_PII_KEY must be set"), (NEW, "holds one key"), (f"{NEW},not-a-key", "key 2 of 2 is not a Fernet key"),
])
def test_the_rotation_refuses_keys_it_cannot_use(store, db_prefix, capsys, keys, message):
    assert rotate(store, db_prefix, keys)[0] == 2
    assert message in capsys.readouterr().err
