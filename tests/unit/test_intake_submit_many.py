"""submit_many when a dependency fails mid-batch (worker_factory fakes): what was stored is reported, the rest
is marked unavailable without being tried, so the caller resends exactly those."""
from unittest.mock import MagicMock

from cryptography.fernet import Fernet
from nameko.testing.services import worker_factory
from pymongo.errors import ServerSelectionTimeoutError

from services.intake.service import IntakeService
from tests.support.factories import make_report


def test_once_the_store_fails_the_rest_of_the_batch_is_unavailable_and_not_tried():
    secrets = MagicMock(secret_key="unit-secret", cipher=Fernet(Fernet.generate_key()))
    tracking_ids = MagicMock()
    tracking_ids.return_value.next.side_effect = ["10000004", "10000011", "10000027", "10000033"]
    service = worker_factory(IntakeService, secrets=secrets, tracking_ids=tracking_ids, broker_user="lapor-gateway")
    service.storage.insert_submission.side_effect = [True, ServerSelectionTimeoutError("store away")]

    results = service.submit_many([make_report(), make_report(title=""), make_report(), make_report()])

    assert results[0]["tracking_id"] == "10000004" and results[1]["error"]["code"] == "validation_error"
    assert [result["error"]["code"] for result in results[2:]] == ["unavailable", "unavailable"]
    assert [result["index"] for result in results] == [0, 1, 2, 3]
    assert service.storage.insert_submission.call_count == 2
    service.outbox.after_reply.assert_called_once()
