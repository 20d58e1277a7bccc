"""Storage contract, one test per service: every repository verb runs on the real store, and every
command it sends stays inside the subset DESIGN §6 says both MongoDB and the nx-27017 stand-in get right.

The commands are captured from the driver itself (pymongo command monitoring), so nothing a repository
sends can escape the check.
"""
from datetime import timedelta

import pytest
from pymongo import MongoClient, monitoring

from services.common.events import now
from services.common.mongo import StoreDocument
from services.gateway.storage import GatewayRepository
from services.intake.storage import IntakeRepository
from services.notifications.storage import NotificationsRepository
from services.routing.seed import seed
from services.routing.storage import RoutingRepository
from services.sla.storage import SlaRepository
from services.tracking import domain as tracking_domain
from services.tracking.storage import TrackingRepository
from tests.support.factories import make_submitted_event

QUERY_OPERATORS = {"$eq", "$in", "$gt", "$gte", "$lt", "$lte", "$exists", "$regex", "$options"}
UPDATE_OPERATORS = {"$set", "$inc", "$setOnInsert"}
PIPELINE_STAGES = {"$match", "$group", "$sort", "$skip", "$limit"}
GROUP_ACCUMULATORS = {"$sum"}


class CommandLog(monitoring.CommandListener):
    def __init__(self):
        self.commands = []

    def started(self, event):
        self.commands.append((event.command_name, event.command))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def check_filter(query, where):
    for field, condition in query.items():
        assert not field.startswith("$"), f"{where}: top-level {field} is outside the subset"
        if isinstance(condition, dict):
            operators = set(condition)
            assert all(op.startswith("$") for op in operators), f"{where}: equality on an embedded document ({field})"
            assert operators <= QUERY_OPERATORS, f"{where}: {operators - QUERY_OPERATORS} on {field}"
            if "$regex" in condition:
                assert isinstance(condition["$regex"], str), f"{where}: compiled regex on {field}"


def check_update(update, where):
    assert isinstance(update, dict), f"{where}: pipeline updates are outside the subset"
    assert set(update) <= UPDATE_OPERATORS, f"{where}: {set(update) - UPDATE_OPERATORS}"
    for operator, fields in update.items():
        for field, value in fields.items():
            assert not _is_array_of_documents(value), f"{where}: {operator} writes an array of sub-documents to {field}"


def check_pipeline(pipeline, where):
    for stage in pipeline:
        [(name, spec)] = stage.items()
        assert name in PIPELINE_STAGES, f"{where}: stage {name}"
        if name == "$match":
            check_filter(spec, where)
        if name == "$group":
            assert not isinstance(spec["_id"], dict), f"{where}: expression _id in $group"
            for field, accumulator in spec.items():
                if field != "_id":
                    assert set(accumulator) <= GROUP_ACCUMULATORS, f"{where}: accumulator {accumulator}"


def _is_array_of_documents(value):
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


def check_command(name, command):
    where = f"{name} on {command.get(name)}"
    if name == "find":
        check_filter(command.get("filter", {}), where)
    elif name == "findAndModify":
        check_filter(command.get("query", {}), where)
        check_update(command.get("update", {}), where)
    elif name == "update":
        for statement in command["updates"]:
            assert "arrayFilters" not in statement, f"{where}: arrayFilters"
            check_filter(statement["q"], where)
            check_update(statement["u"], where)
    elif name == "delete":
        for statement in command["deletes"]:
            check_filter(statement["q"], where)
    elif name == "aggregate":
        check_pipeline(command["pipeline"], where)
    elif name == "insert":
        for document in command["documents"]:
            for field, value in document.items():
                assert not _is_array_of_documents(value), f"{where}: array of sub-documents in {field}"
    elif name == "createIndexes":
        for index in command["indexes"]:
            assert set(index) <= {"key", "name", "unique"}, f"{where}: index options {set(index)}"
    else:
        assert name in {"ping", "endSessions", "count", "listIndexes"}, f"unexpected command {name}"


@pytest.fixture
def recorded(store, db_prefix):
    clients = []

    def open_(repository_cls, base_name):
        log = CommandLog()
        client = MongoClient(store.uri, tz_aware=True, document_class=StoreDocument, event_listeners=[log])
        clients.append(client)
        repository = repository_cls(client[f"{db_prefix}{base_name}"])
        repository.ensure_indexes()
        return repository, log

    yield open_
    for client in clients:
        client.close()


def assert_within_subset(log):
    assert log.commands, "no command was recorded"
    for name, command in log.commands:
        check_command(name, command)


def exercise_ledger(repository):
    assert not repository.event_processed("e1")
    repository.mark_event_processed("e1", "report_updated")
    repository.mark_event_processed("e1", "report_updated")
    assert repository.event_processed("e1")
    assert repository.count_event_failure("e2", "boom") == 1
    assert repository.count_event_failure("e2", "boom") == 2
    repository.park_event("e2", "report_updated", "on_report_updated", {"x": 1}, "boom")
    repository.park_event("e2", "report_updated", "on_report_updated", {"x": 1}, "boom")
    assert len(repository.parked_events()) == 1
    assert repository.ping()


def test_intake_storage_contract(recorded):
    repository, log = recorded(IntakeRepository, "lapor_intake")
    submission = {"tracking_id": "10000004", "reporter_ref": "rep_1", "contact_encrypted": "x",
                  "submitted_at": now() - timedelta(seconds=10), "event": {"tracking_id": "10000004"}}
    assert repository.insert_submission(submission)
    assert not repository.insert_submission(submission)
    assert repository.count_unpublished() == 1
    assert repository.claim_unpublished(grace_seconds=1, lease_seconds=30)["_id"] == "10000004"
    assert repository.claim_unpublished(grace_seconds=1, lease_seconds=30) is None  # leased
    repository.mark_published("10000004")
    assert repository.count_unpublished() == 0
    assert repository.encrypted_contact("rep_1") == "x"
    record = {"_id": "k", "fingerprint": "f", "tracking_id": "10000004", "access_code_encrypted": "c",
              "expires_at": now() + timedelta(hours=1)}
    assert repository.claim_idempotency(record) is None
    assert repository.claim_idempotency(dict(record, fingerprint="g"))["fingerprint"] == "f"
    assert repository.find_idempotency("k")["tracking_id"] == "10000004"
    exercise_ledger(repository)
    assert_within_subset(log)


def test_tracking_storage_contract(recorded):
    repository, log = recorded(TrackingRepository, "lapor_tracking")
    first, second = repository.reserve_id_block(10), repository.reserve_id_block(10)
    assert second["start"] == first["end"] and repository.count_id_blocks() == 2
    report = tracking_domain.new_case(_loaded(make_submitted_event(tracking_id="10000004")))
    assert repository.insert_report(report) and not repository.insert_report(report)
    entry = tracking_domain.new_entry(report, "disposed", "disposed", {"role": "system"}, now(), agency_code="A")
    assert repository.insert_entry(entry, {"event_id": "e"}) and not repository.insert_entry(entry, {})
    assert repository.compare_and_set(report, {"status": "disposed", "version": 2, "updated_at": now()})
    assert not repository.compare_and_set(report, {"status": "disposed", "version": 2})  # stale read
    assert [e["version"] for e in repository.entries("10000004", 2)] == [2]
    ten_seconds_ago = now() - timedelta(seconds=10)
    repository.db.timeline.update_one({"_id": entry["_id"]}, {"$set": {"written_at": ten_seconds_ago, "relay_lease_until": ten_seconds_ago}})
    assert repository.claim_unpublished_entry(1, 30)["version"] == 2
    repository.mark_entry_published("10000004", 2)
    assert repository.count_unpublished() == 0
    current = repository.get_report("10000004")
    repository.set_due(current, now() + timedelta(days=3), 2)
    assert repository.get_report("10000004")["due_version"] == 2
    assert repository.count_access_failure("10000004", timedelta(minutes=15))[0] == 1
    assert repository.count_access_failure("10000004", timedelta(minutes=15))[0] == 2
    assert repository.access_failures("10000004", timedelta(minutes=15))[0] == 2
    found, total = repository.find_public({"q": "jalan", "status": "disposed", "region": "18.72",
                                           "from": now() - timedelta(days=1), "to": now() + timedelta(days=1)}, 1, 10)
    assert total == 1 and found[0]["tracking_id"] == "10000004"
    repository.delete_entry("10000004", 2)
    assert repository.get_entry("10000004", 2) is None
    exercise_tracking_actions(repository, repository.get_report("10000004"))
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_tracking_actions(repository, report):
    """Issue 4's verbs: ratings and first responses, reissued codes, supports, the inbox, the stats."""
    at = now()
    changes = {"status": "completed", "version": 3, "updated_at": at, "completed_at": at, "flagged": True,
               "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro",
               "first_response_at": at, "first_response_seconds": 5400.0,
               "rating": {"score": 4, "comment": "Cepat", "at": at}, "pending_access_code_hash": "b" * 64}
    assert repository.compare_and_set(report, changes)
    stored = repository.get_report("10000004")
    assert stored["rating"]["score"] == 4 and abs((stored["rating"]["at"] - at).total_seconds()) < 1
    assert abs((stored["completed_at"] - at).total_seconds()) < 1 and stored["flagged"]
    repository.promote_access_code("10000004", "b" * 64)
    stored = repository.get_report("10000004")
    assert (stored["access_code_hash"], stored["pending_access_code_hash"]) == ("b" * 64, None)
    assert [repository.count_reissue("10000004", "2026-11-25") for _ in range(2)] == [1, 2]
    assert repository.count_reissue("10000004", "2026-11-26") == 1
    assert repository.add_support("10000004:h1", "10000004") and not repository.add_support("10000004:h1", "10000004")
    assert repository.add_support("10000004:h2", "10000004")
    assert repository.get_report("10000004")["support_count"] == 2
    secret = tracking_domain.new_case(_loaded(make_submitted_event(tracking_id="10000011", confidential=True)))
    repository.insert_report(secret)
    by_flag = [("flagged", -1), ("created_at", 1)]
    found, total = repository.find_inbox(("completed",), ["KOTA-18.72", "A"], by_flag, 1, 10)
    assert total == 1 and found[0]["tracking_id"] == "10000004"
    assert repository.find_inbox(("completed",), ["A"], [("due_at", 1)], 1, 10) == ([], 0)
    found, total = repository.find_inbox(("received", "completed"), None, [("due_at", 1), ("created_at", 1)], 1, 10)
    assert total == 2 and [r["tracking_id"] for r in found] == ["10000011", "10000004"]  # no deadline yet sorts first
    assert repository.count_public_by("status") == {"completed": 1}
    assert repository.count_public_by("agency_code") == {"KOTA-18.72": 1}
    assert repository.agency_names(["KOTA-18.72", "NONE"]) == {"KOTA-18.72": "Pemerintah Kota Metro", "NONE": None}
    assert repository.public_first_response_seconds() == [5400.0]
    assert repository.count_confidential() == 1


def test_routing_storage_contract(recorded):
    repository, log = recorded(RoutingRepository, "lapor_routing")
    counts = seed(repository)
    assert (counts["provinces"], counts["regencies_and_cities"]) == (38, 514)
    assert seed(repository) == counts  # idempotent
    assert repository.agency("KOTA-18.72")["name"] == "Pemerintah Kota Metro"
    assert {a["code"] for a in repository.find_agencies(q="kota metro")} == {"KOTA-18.72"}
    assert len(repository.find_agencies(parent_code="PROV-18")) == 15
    assert [r["code"] for r in repository.find_regions(q="metro", level=2)] == ["18.72"]
    assert len(repository.find_regions(parent_code="18")) == 15
    repository.save_triage({"tracking_id": "10000004", "suggested_agency": "KOTA-18.72"})
    repository.save_triage({"tracking_id": "10000004", "suggested_agency": "OTHER"})
    assert repository.triage_of("10000004")["suggested_agency"] == "KOTA-18.72"
    exercise_ledger(repository)
    assert_within_subset(log)


def test_sla_storage_contract(recorded):
    repository, log = recorded(SlaRepository, "lapor_sla")
    repository.set_applied_version("10000004", 2)
    repository.set_applied_version("10000004", 1)
    assert repository.applied_version("10000004") == 2
    clock = {"clock_id": "10000004:response:2", "tracking_id": "10000004", "stage": "response", "version": 2,
             "opened_at": now() - timedelta(seconds=10), "due_at": now() - timedelta(seconds=1)}
    assert repository.open_clock(clock, {"event_id": "e"}) and not repository.open_clock(clock, {})
    assert repository.claim_unpublished("published", 1, 30)["_id"] == clock["clock_id"]
    repository.mark_published(clock["clock_id"])
    assert repository.count_unpublished() == 0
    make_event = lambda clock, at: {"event_id": "b1", "clock_id": clock["clock_id"], "due_at": clock["due_at"]}  # noqa: E731
    breached = repository.claim_breached(make_event, lease_seconds=30)
    assert breached["state"] == "breached" and breached["breach_event"]["event_id"] == "b1"
    assert repository.claim_breached(make_event, lease_seconds=30) is None
    assert repository.count_unpublished() == 1  # the breach still owed
    verification = dict(clock, clock_id="10000004:verification:1", stage="verification", version=1,
                        due_at=now() + timedelta(days=3))
    repository.open_clock(verification, {})
    repository.stop_clocks("10000004", ["verification"], now(), before_version=1)
    assert len(repository.running_clocks("10000004")) == 1  # a redelivered entry 1 keeps its own clock
    repository.stop_clocks("10000004", ["verification"], now(), before_version=2)
    assert repository.running_clocks("10000004") == []
    response = dict(clock, clock_id="10000004:response:5", version=5, due_at=now() + timedelta(days=7))
    repository.open_clock(response, {})
    [running] = repository.clocks_in_state("10000004", "response", "running")
    assert repository.pause_clock(running, now(), 4) and not repository.pause_clock(running, now(), 4)
    [paused] = repository.clocks_in_state("10000004", "response", "paused")
    assert paused["working_days_left"] == 4
    assert repository.resume_clock(paused, now() + timedelta(days=6), {"event_id": "r", "emitted_at": now()})
    assert repository.get_clock(response["clock_id"])["state"] == "running"
    repository.pause_clock(running, now(), 4)
    repository.stop_clocks("10000004", ["response"], now(), before_version=6)
    assert repository.clocks_in_state("10000004", "response", "paused") == []  # a paused clock stops too
    exercise_ledger(repository)
    assert_within_subset(log)


def test_notifications_storage_contract(recorded):
    repository, log = recorded(NotificationsRepository, "lapor_notifications")
    message = {"_id": "10000004:1:reporter:sms", "tracking_id": "10000004", "channel": "sms", "template": "t"}
    assert repository.add_message(message) and not repository.add_message(message)
    assert repository.claim_retry(lease_seconds=60) is None  # pending, but its sender still has the lease
    repository.mark_failed(message["_id"], "smsc down", retry_in_seconds=-5, dead=False)
    assert repository.claim_retry(lease_seconds=60)["attempts"] == 1
    assert repository.claim_retry(lease_seconds=60) is None
    repository.mark_sent(message["_id"], "log")
    found, total = repository.find_messages(tracking_id="10000004", status="sent", channel="sms")
    assert total == 1 and found[0]["attempts"] == 2
    exercise_ledger(repository)
    assert_within_subset(log)


def test_gateway_storage_contract(recorded):
    repository, log = recorded(GatewayRepository, "lapor_gateway")
    account = {"_id": "metro.admin", "role": "agency_admin", "agency_code": "KOTA-18.72", "name": "Admin Metro",
               "password_hash": "$argon2id$x", "created_at": now(), "disabled_at": None}
    assert repository.insert_account(account)
    assert not repository.insert_account(dict(account, role="national_admin"))  # never overwritten
    assert repository.account("metro.admin")["role"] == "agency_admin"
    assert repository.account("nobody") is None
    repository.set_password_hash("metro.admin", "$argon2id$y")
    assert repository.account("metro.admin")["password_hash"] == "$argon2id$y"
    assert repository.set_disabled("metro.admin", now()) and not repository.set_disabled("nobody", now())
    assert repository.account("metro.admin")["disabled_at"] <= now()
    assert repository.set_disabled("metro.admin", None) and repository.account("metro.admin")["disabled_at"] is None
    [listed] = repository.accounts()
    assert listed["_id"] == "metro.admin" and "password_hash" not in listed
    window = timedelta(minutes=15)
    assert repository.count_login_failure("user:metro.admin", window)[0] == 1
    assert repository.count_login_failure("user:metro.admin", window)[0] == 2
    repository.count_login_failure("address:10.0.0.1", window)
    repository.forgive_login_failure("address:10.0.0.1")
    repository.forgive_login_failure("address:10.0.0.1")  # never below zero
    assert repository.count_login_failure("address:10.0.0.1", window)[0] == 1
    repository.clear_login_failures("user:metro.admin")
    assert repository.count_login_failure("user:metro.admin", window)[0] == 1
    twenty_minutes_ago = now() - timedelta(minutes=20)
    repository.db.login_failures.update_one({"_id": "user:metro.admin"},
                                            {"$set": {"window_started_at": twenty_minutes_ago}})
    count, started_at = repository.count_login_failure("user:metro.admin", window)  # the old window closed
    assert count == 1 and started_at > twenty_minutes_ago
    for second, (username, tracking_id) in enumerate([("metro.admin", None), ("metro.admin", "10000004"),
                                                      ("budi.s", "10000004")]):
        repository.insert_audit({"at": now() - timedelta(seconds=10 - second), "username": username,
                                 "action": "login", "tracking_id": tracking_id, "details": {"reason": "x"}})
    entries, total = repository.find_audit(username="metro.admin", skip=0, limit=1)
    assert total == 2 and entries[0]["tracking_id"] == "10000004" and "_id" not in entries[0]
    entries, total = repository.find_audit(tracking_id="10000004")
    assert total == 2 and [e["username"] for e in entries] == ["budi.s", "metro.admin"]
    assert repository.find_audit(skip=2, limit=5)[0][0]["tracking_id"] is None
    assert not [name for name in dir(repository) if "audit" in name and name not in ("insert_audit", "find_audit")]
    exercise_ledger(repository)
    assert_within_subset(log)


@pytest.mark.parametrize("command", [
    ("find", {"find": "x", "filter": {"location": {"region_code": "18.72"}}}),
    ("find", {"find": "x", "filter": {"status": {"$not": {"$eq": "x"}}}}),
    ("update", {"update": "x", "updates": [{"q": {}, "u": {"$push": {"history": {"$each": [{"a": 1}]}}}}]}),
    ("aggregate", {"aggregate": "x", "pipeline": [{"$lookup": {}}]}),
    ("aggregate", {"aggregate": "x", "pipeline": [{"$group": {"_id": {"$year": "$at"}, "n": {"$sum": 1}}}]}),
])
def test_the_checker_refuses_what_the_stand_in_gets_wrong(command):
    with pytest.raises(AssertionError):
        check_command(*command)


def _loaded(payload):
    from services.common.events import REPORT_SUBMITTED, load_event

    return load_event(REPORT_SUBMITTED, payload)
