"""The ledger's replay verbs on the real store, inside the subset DESIGN §6 allows (as test_storage_contract checks
every repository): list and count parked records, claim one against a second replay, settle it, and records
parked before replays existed are taken as parked."""
import pytest
from pymongo import MongoClient

from services.common.events import now
from services.common.ledger import OUTCOME_FAILED, OUTCOME_REPLAYED
from services.common.mongo import StoreDocument
from services.tracking.storage import TrackingRepository
from tests.integration.test_storage_contract import CommandLog, check_command


@pytest.fixture
def ledger(store, db_prefix):
    log = CommandLog()
    client = MongoClient(store.uri, tz_aware=True, document_class=StoreDocument, event_listeners=[log])
    repository = TrackingRepository(client[f"{db_prefix}lapor_tracking"])
    repository.ensure_indexes()
    yield repository, log
    client.close()


def test_replay_verbs_keep_to_the_subset(ledger):
    repository, log = ledger
    repository.park_event("e1", "report_updated", "on_report_updated", {"tracking_id": "10000004"}, "boom", 5)
    repository.park_event("e2", "deadline_set", "on_deadline_set", {"tracking_id": "10000004"}, "boom")
    repository.park_event("e1", "report_updated", "on_report_updated", {"tracking_id": "10000004"}, "again", 9)

    records, total = repository.find_dead_events()
    assert total == 2 and {r["_id"] for r in records} == {"e1:on_report_updated", "e2:on_deadline_set"}
    assert repository.dead_event("e1:on_report_updated")["attempts"] == 5  # the first parking stands
    assert repository.find_dead_events(event_type="deadline_set", limit=0) == ([], 1)
    assert repository.find_dead_events(handler="on_report_updated")[1] == 1
    assert repository.dead_event_ids("report_updated") == ["e1:on_report_updated"]

    claimed = repository.claim_dead_event("e1:on_report_updated")
    assert claimed is not None
    assert repository.claim_dead_event("e1:on_report_updated") is None  # held by the first replay
    repository.settle_replay(claimed, OUTCOME_FAILED, "still broken", "nasional", now())
    failed = repository.dead_event("e1:on_report_updated")
    assert (failed["status"], failed["error"], failed["attempts"], failed["replay_count"]) == (
        "parked", "still broken", 6, 1)

    claimed = repository.claim_dead_event("e1:on_report_updated")  # free again at once
    assert claimed is not None
    repository.settle_replay(claimed, OUTCOME_REPLAYED, None, "nasional", now())
    assert repository.claim_dead_event("e1:on_report_updated") is None
    assert repository.find_dead_events(status="replayed")[1] == 1
    assert repository.find_dead_events(status=None)[1] == 2
    assert [r["outcome"] for r in repository.event_replays("e1:on_report_updated")] == ["failed", "replayed"]

    repository.count_event_failure("e3", "boom")
    repository.reset_event_failures("e3")
    assert repository.count_event_failure("e3", "boom") == 1
    claimed = repository.claim_dead_event("e2:on_deadline_set")
    repository.release_dead_event(claimed["_id"])
    assert repository.claim_dead_event("e2:on_deadline_set") is not None

    for name, command in log.commands:
        check_command(name, command)


def test_records_parked_before_replays_existed_are_parked(ledger):
    repository, _ = ledger
    repository.db.dead_events.insert_one({"_id": "old:on_report_updated", "event_id": "old",
                                          "event_type": "report_updated", "handler": "on_report_updated",
                                          "payload": {}, "error": "boom", "parked_at": now()})
    repository.ensure_indexes()
    assert repository.dead_event_ids("report_updated") == ["old:on_report_updated"]
    assert repository.claim_dead_event("old:on_report_updated") is not None
