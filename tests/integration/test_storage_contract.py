"""Storage contract, one test per service: every repository verb runs on the real store, and every
command it sends stays inside the subset DESIGN §6 says both MongoDB and the nx-27017 stand-in get right.

The commands are captured from the driver itself (pymongo command monitoring), so nothing a repository
sends can escape the check.
"""
from datetime import timedelta

import pytest
from pymongo import MongoClient, monitoring

from services.common.events import now
from services.common.mongo import StoreDocument, client_options
from services.gateway.storage import GatewayRepository
from services.intake.storage import ATTACHMENT_BUCKET, IntakeRepository
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
GROUP_ACCUMULATORS = {"$sum", "$max"}


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
        # The services' own client options (majority writes with a wtimeout): the contract holds with them.
        client = MongoClient(store.uri, tz_aware=True, document_class=StoreDocument, event_listeners=[log],
                             **client_options(store.uri))
        assert client.write_concern.document == {"w": "majority", "wtimeout": 5000}
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
    assert repository.claim_idempotency(dict(record, _id="old", expires_at=now() - timedelta(minutes=1))) is None
    assert repository.purge_expired_idempotency(now()) == 1  # the live one stays
    assert repository.find_idempotency("k") is not None and repository.db.idempotency.count_documents({}) == 1
    exercise_ledger(repository)
    assert_within_subset(log)


def test_intake_attachment_storage_contract(recorded):
    """Issue 3: staged parts, GridFS content (string ids: see storage.ATTACHMENT_BUCKET), metadata, totals."""
    repository, log = recorded(IntakeRepository, "lapor_intake")
    upload_id = "upl_" + "0" * 32
    for index, data in ((1, b"world"), (0, b"hello "), (1, b"world")):  # a resent part is kept once
        repository.stage_part(upload_id, index, data)
    repository.stage_part("upl_" + "1" * 32, 0, b"other")
    assert repository.staged_parts(upload_id) == [(0, b"hello "), (1, b"world")]
    repository.discard_parts([upload_id])
    assert repository.staged_parts(upload_id) == []
    assert repository.discard_stale_parts(now() - timedelta(minutes=1)) == 0
    assert repository.discard_stale_parts(now() + timedelta(seconds=2)) == 1

    content = bytes(range(256)) * 2400  # 600 KiB: three GridFS chunks
    meta = {"_id": "att_a", "tracking_id": "10000004", "filename": "foto.jpg", "content_type": "image/jpeg",
            "size": len(content), "sha256": "a" * 64, "uploaded_at": now(), "by": "reporter", "by_username": None}
    stored, created = repository.store_attachment(meta, content)
    assert created and stored["file_id"].startswith("att_a.")
    twin, created = repository.store_attachment(dict(meta, uploaded_at=now()), content)
    assert not created and twin["file_id"] == stored["file_id"]
    assert len(list(repository.db[f"{ATTACHMENT_BUCKET}.files"].find({}, {"_id": 1}))) == 1  # the twin's is gone
    repository.store_attachment(dict(meta, _id="att_b", size=3, sha256="b" * 64), b"pdf")
    assert [m["_id"] for m in repository.attachments_of("10000004")] == ["att_a", "att_b"]
    assert repository.attachment_totals("10000004") == (2, len(content) + 3)
    assert repository.attachment_totals("10000012") == (0, 0)
    assert repository.read_attachment(stored, 0, len(content) + 10) == content
    assert repository.read_attachment(stored, 250_000, 300_000) == content[250_000:550_000]  # across chunks
    repository.delete_attachment(stored)
    assert repository.find_attachment("att_a") is None
    assert list(repository.db[f"{ATTACHMENT_BUCKET}.chunks"].find({"files_id": stored["file_id"]}, {"n": 1})) == []
    assert repository.attachment_totals("10000004") == (1, 3)
    assert_within_subset(log)


def test_intake_sms_parts_storage_contract(recorded):
    """Parts of long SMS from the SMSC: kept once each, read in order, one claim per complete group, swept."""
    repository, log = recorded(IntakeRepository, "lapor_intake")
    assert repository.keep_sms_part("smpp-parts:a", 2, 2, 0, b" dua")
    assert repository.keep_sms_part("smpp-parts:a", 1, 2, 0, b"KOTA METRO satu")
    assert not repository.keep_sms_part("smpp-parts:a", 2, 2, 0, b" dua")  # delivered again: kept once
    assert repository.sms_parts("smpp-parts:a") == [(0, b"KOTA METRO satu"), (0, b" dua")]
    assert repository.claim_sms_group("smpp-parts:a", 1) == 1
    assert repository.claim_sms_group("smpp-parts:a", 2) == 1  # the part completing it at the same moment
    assert repository.claim_sms_group("smpp-parts:a", 1) == 1  # the claiming part, redelivered
    repository.keep_sms_part("smpp-parts:b", 1, 3, 8, "satu".encode("utf-16-be"))  # never completed
    assert repository.discard_stale_sms_parts(now() - timedelta(minutes=1)) == 0
    assert repository.discard_stale_sms_parts(now() + timedelta(seconds=2)) == 1  # b; a was complete
    assert repository.sms_parts("smpp-parts:a") == [] and repository.sms_parts("smpp-parts:b") == []
    assert repository.claim_sms_group("smpp-parts:a", 2) == 2  # the claim went with its group
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
    exercise_open311_lists(repository)
    repository.delete_entry("10000004", 2)
    assert repository.get_entry("10000004", 2) is None
    exercise_tracking_actions(repository, repository.get_report("10000004"))
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_open311_lists(repository):
    """find_public with lists (one equality query per value, merged newest first) and with ids (dates in Python)."""
    day = timedelta(days=1)
    others = [("10000012", "received", "sampah", False, 3), ("10000020", "completed", "jalan-rusak", False, 2),
              ("10000036", "received", "jalan-rusak", True, 1)]
    for tracking_id, status, category, confidential, minutes_ago in others:
        event = make_submitted_event(tracking_id=tracking_id, category=category, confidential=confidential,
                                     submitted_at=(now() - timedelta(minutes=minutes_ago)).isoformat())
        repository.insert_report(dict(tracking_domain.new_case(_loaded(event)), status=status))
    window = {"from": now() - day, "until": now() + day}
    found, total = repository.find_public(dict(window, status=["received", "completed"]), 1, 10)
    assert [r["tracking_id"] for r in found] == ["10000020", "10000012"] and total == 2  # newest first, no secret
    found, total = repository.find_public(dict(window, status=["received", "completed", "disposed"],
                                               category=["jalan-rusak", "sampah"]), 2, 1, count=False)
    assert [r["tracking_id"] for r in found] == ["10000012"] and total is None  # page 2 of the merge
    assert repository.find_public(dict(window, category=[]), 1, 10) == ([], 0)
    ids = ["10000012", "10000020", "10000036", "10000048"]
    found, total = repository.find_public({"ids": ids, "status": ["received"]}, 1, 10)
    assert [r["tracking_id"] for r in found] == ["10000012"] and total == 1
    found, _ = repository.find_public({"ids": ids, "from": now() - timedelta(seconds=150)}, 1, 10)
    assert [r["tracking_id"] for r in found] == ["10000020"]
    for tracking_id, *_ in others:
        repository.db.reports.delete_one({"_id": tracking_id})


def exercise_tracking_actions(repository, report):
    """Issue 4's verbs: ratings and first responses, reissued codes, supports, the inbox, the stats."""
    at = now()
    changes = {"status": "completed", "version": 3, "updated_at": at, "completed_at": at, "flagged": True,
               "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro",
               "first_response_at": at, "first_response_seconds": 5400.0, "first_response_tenths": 15,
               "rating": {"score": 4, "comment": "Cepat", "at": at}, "pending_access_code_hash": "b" * 64}
    assert repository.compare_and_set(report, changes)
    stored = repository.get_report("10000004")
    assert stored["rating"]["score"] == 4 and abs((stored["rating"]["at"] - at).total_seconds()) < 1
    assert abs((stored["completed_at"] - at).total_seconds()) < 1 and stored["flagged"]
    repository.promote_access_code("10000004", "b" * 64)
    stored = repository.get_report("10000004")
    assert (stored["access_code_hash"], stored["pending_access_code_hash"]) == ("b" * 64, None)
    # Days relative to now (never calendar dates: the purge cuts at now - 2 days): yesterday and today are
    # kept, a day two months back goes.
    yesterday, today = (now() - timedelta(days=1)).date().isoformat(), now().date().isoformat()
    long_ago = (now() - timedelta(days=60)).date().isoformat()
    assert [repository.count_reissue("10000004", yesterday) for _ in range(2)] == [1, 2]
    assert repository.count_reissue("10000004", today) == 1
    assert repository.count_reissue("10000004", long_ago) == 1
    repository.db.access_failures.update_one({"_id": "10000004"},
                                             {"$set": {"window_started_at": now() - timedelta(days=3)}})
    assert repository.purge_access_counters(now() - timedelta(days=2)) == 2  # the old day's count and the old window
    assert repository.count_reissue("10000004", yesterday) == 3 and repository.count_reissue("10000004", today) == 2 and repository.access_failures(
        "10000004", timedelta(minutes=15))[0] == 0
    assert repository.add_support("10000004:h1", "10000004") and not repository.add_support("10000004:h1", "10000004")
    assert repository.add_support("10000004:h2", "10000004")
    assert repository.get_report("10000004")["support_count"] == 2
    secret = tracking_domain.new_case(_loaded(make_submitted_event(tracking_id="10000011", confidential=True)))
    repository.insert_report(secret)
    by_flag = [("flagged", -1), ("created_key", 1)]
    found, total = repository.find_inbox(("completed",), ["KOTA-18.72", "A"], by_flag, 1, 10)
    assert total == 1 and found[0]["tracking_id"] == "10000004"
    assert repository.find_inbox(("completed",), ["A"], [("due_at", 1)], 1, 10) == ([], 0)
    assert repository.find_inbox(("completed",), None, by_flag, 1, 10, region="18")[1] == 1
    assert repository.find_inbox(("completed",), None, by_flag, 1, 10, region="18.71")[1] == 0
    found, total = repository.find_inbox(("received", "completed"), None, [("due_at", 1), ("created_key", 1)], 1, 10)
    assert total == 2 and [r["tracking_id"] for r in found] == ["10000011", "10000004"]  # no deadline yet sorts first
    assert repository.count_public_by("status") == {"completed": 1}
    assert repository.count_public_by("agency_code") == {"KOTA-18.72": 1}
    assert repository.count_public_by("first_response_tenths") == {15: 1}
    assert repository.count_public_by("created_day") == {report["created_day"]: 1}
    assert repository.agency_names() == {"KOTA-18.72": "Pemerintah Kota Metro"}
    assert repository.count_confidential() == 1
    assert repository.stats_snapshot() is None
    repository.save_stats_snapshot({"total": 1, "weekly": [{"week": "2026-11-23", "count": 1}]}, at)
    stats, counted_at = repository.stats_snapshot()
    assert stats["weekly"] == [{"week": "2026-11-23", "count": 1}] and abs((counted_at - at).total_seconds()) < 1
    assert repository.claim_stats_refresh(60) and not repository.claim_stats_refresh(60)
    repository.release_stats_refresh()
    assert repository.claim_stats_refresh(60)


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
    exercise_triage(repository)
    exercise_agency_contacts(repository)
    exercise_units_and_rules(repository)
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_units_and_rules(repository):
    """Issue 5: units added by admins, and the routing rules' versions (inserted, never updated)."""
    unit = {"code": "KOTA-18.72-DLH", "name": "Dinas LH", "kind": "unit", "parent_code": "KOTA-18.72",
            "region_code": "18.72", "categories": ["environment"]}
    assert repository.insert_agency(unit, {"email": "dlh@metrokota.go.id"})
    assert not repository.insert_agency(dict(unit, name="Lain"))
    assert repository.agency("KOTA-18.72-DLH") == unit
    assert repository.existing_agency_codes(["KOTA-18.72-DLH", "PLN", "NONE"]) == {"KOTA-18.72-DLH", "PLN"}
    assert repository.routing_rules() is None and repository.routing_rules_version() == 0
    actor = {"role": "national_admin", "username": "admin"}
    assert repository.save_routing_rules({"roads": "local_province"}, actor)["version"] == 1
    assert repository.save_routing_rules({"roads": "PLN", "water": "local_regency"}, actor)["version"] == 2
    assert repository.routing_rules()["rules"] == {"roads": "PLN", "water": "local_regency"}
    assert [v["version"] for v in repository.routing_rules_history()] == [2, 1]


def exercise_triage(repository):
    """Issue 5: the full triage record (flat in the store), the index of triaged reports, examples, model, lease."""
    record = {"tracking_id": "10000005", "suggested_agency": "KOTA-18.72", "region_code": "18.72",
              "candidates": [{"agency": "KOTA-18.72", "score": 0.9}, {"agency": "PROV-18", "score": 0.05}],
              "out_of_scope": [{"reason": "elections", "words": ["pilkada", "serangan fajar"]}]}
    assert repository.save_triage(record)["candidates"] == record["candidates"]
    assert repository.triage_of("10000005")["out_of_scope"] == record["out_of_scope"]
    opened = now() - timedelta(days=1)
    repository.index_report("10000005", "18.72", "jalan lubang pala", False, opened)
    repository.index_report("10000006", "18.72", "rahasia", True, opened)
    repository.record_status("10000006", 2, "disposed")
    repository.record_status("10000006", 1, "received")  # older: ignored
    assert [r["tracking_id"] for r in repository.open_reports("18.72", now() - timedelta(days=14))] == ["10000005"]
    assert repository.count_queued() == 1
    repository.record_status("10000005", 3, "rejected")
    assert repository.open_reports("18.72", now() - timedelta(days=14)) == [] and repository.count_queued() == 0
    repository.record_status("10000007", 4, "disposed")  # an event before `opened`: indexed all the same
    assert repository.indexed_report("10000007")["status"] == "disposed"
    repository.save_training_example("10000005", "jalan lubang pala", "local", "KOTA-18.72")
    assert repository.training_examples() == [{"text": "jalan lubang pala", "target": "local",
                                               "agency_code": "KOTA-18.72"}]
    assert repository.latest_example_at() is not None
    assert repository.model_version() is None
    assert repository.save_model(b"\x00model", classes=["local", "PLN"], examples=2) == 1
    assert repository.save_model(b"\x00model2", classes=["local", "PLN"], examples=3) == 2
    assert repository.model()["blob"] == b"\x00model2" and repository.model_version()["version"] == 2
    assert repository.claim_lease("training", "a", 60) and not repository.claim_lease("training", "b", 60)
    repository.release_lease("training", "a")
    assert repository.claim_lease("training", "b", 60)


def exercise_agency_contacts(repository):
    """Issue 6: where notifications reaches an agency; never in an agency as everyone sees it, kept by a re-seed."""
    assert repository.agency_contacts("KOTA-18.72") == {} and repository.agency_contacts("NONE") is None
    contacts = {"email": "dpupr@metrokota.go.id", "webhook_url": "https://sim.metrokota.go.id/lapor",
                "webhook_secret_ref": "metro"}
    assert repository.set_agency_contacts("KOTA-18.72", contacts)
    assert not repository.set_agency_contacts("NONE", contacts)
    assert repository.agency_contacts("KOTA-18.72") == contacts
    assert "contacts" not in repository.agency("KOTA-18.72")
    assert not any("contacts" in a for a in repository.find_agencies(q="kota metro"))
    assert "contacts" not in repository.local_government("18.72")
    repository.upsert_agencies([{"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "kind": "city"}])
    assert repository.agency_contacts("KOTA-18.72") == contacts


def test_sla_storage_contract(recorded):
    repository, log = recorded(SlaRepository, "lapor_sla")
    repository.set_applied_version("10000004", 2)
    repository.set_applied_version("10000004", 1)
    assert repository.applied_version("10000004") == 2
    past = now() - timedelta(seconds=10)
    clock = {"clock_id": "10000004:response:2", "tracking_id": "10000004", "stage": "response", "version": 2,
             "agency_code": "KOTA-18.72", "state": "running", "opened_at": past, "counted_from_at": past,
             "counted_days": 5, "due_at": now() - timedelta(seconds=2), "warn_at": past, "warned": False,
             "missed": False, "answered_at": None}
    assert repository.open_clock(clock) and not repository.open_clock(clock)
    exercise_sla_claims(repository, clock)
    exercise_sla_clock_moves(repository, clock)
    exercise_sla_announcements(repository)
    exercise_sla_calendar_and_figures(repository)
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_sla_claims(repository, clock):
    """Warnings and breaches: each claimed once, its outbox owed until marked published."""
    assert repository.claim_warning(now(), lease_seconds=30) is None  # already due: a breach, not a warning
    breached = repository.claim_breach(now(), lease_seconds=30)
    assert breached["state"] == "breached" and breached["missed"] and breached["breach_event_id"]
    assert repository.claim_breach(now(), lease_seconds=30) is None
    assert repository.count_unpublished() == 1
    assert repository.claim_unpublished_clock_event("breach", lease_seconds=30) is None  # its publisher's lease
    expired = now() - timedelta(seconds=1)
    repository.db.clocks.update_one({"_id": clock["clock_id"]}, {"$set": {"breach_lease_until": expired}})
    assert repository.claim_unpublished_clock_event("breach", lease_seconds=30)["_id"] == clock["clock_id"]
    repository.mark_clock_event_published(clock["clock_id"], "breach")
    assert repository.count_unpublished() == 0
    soon = dict(clock, clock_id="10000004:completion:2", stage="completion", due_at=now() + timedelta(days=3))
    repository.open_clock(soon)
    warned = repository.claim_warning(now(), lease_seconds=30)
    assert warned["_id"] == soon["clock_id"] and warned["warned"] and warned["warning_event_id"]
    assert repository.claim_warning(now(), lease_seconds=30) is None
    repository.mark_clock_event_published(soon["clock_id"], "warning")
    assert repository.count_open_clocks() == {("response", "breached"): 1, ("completion", "running"): 1}


def exercise_sla_clock_moves(repository, clock):
    """Stop, pause, resume, reschedule: each a compare-and-set on the state it read."""
    [breached] = repository.clocks_in_state("10000004", "response", "breached")
    assert repository.stop_clock(breached, now(), answered_at=now()) and not repository.stop_clock(breached, now())
    assert repository.get_clock(clock["clock_id"])["answered_at"] is not None
    [completion] = repository.running_clocks("10000004")
    assert repository.pause_clock(completion, now(), 4) and not repository.pause_clock(completion, now(), 4)
    [paused] = repository.clocks_in_state("10000004", "completion", "paused")
    assert paused["working_days_left"] == 4
    later = now() + timedelta(days=6)
    assert repository.resume_clock(paused, now(), later, later - timedelta(days=1))
    [resumed] = repository.running_clocks("10000004")
    assert resumed["counted_days"] == 4 and not resumed["warned"]
    tomorrow = now() + timedelta(days=1)
    assert [c["_id"] for c in repository.clocks_counting_across(tomorrow, now())] == [resumed["_id"]]
    assert repository.clocks_counting_across(now() - timedelta(days=1), now()) == []  # counts from after it
    assert repository.reschedule_clock(resumed, later + timedelta(days=1), later, warn_again=True)
    assert not repository.reschedule_clock(resumed, later, later, warn_again=False)  # read before the move
    assert len(repository.clocks_of("10000004")) == 2


def exercise_sla_announcements(repository):
    event = {"event_id": "a1", "tracking_id": "10000004", "stage": "response", "clock_id": "10000004:response:2",
             "due_at": now(), "version": 2}
    repository.add_announcement(event, grace_seconds=-1)
    assert repository.announced("10000004")["clock_id"] == "10000004:response:2"
    assert repository.applied_version("10000004") == 2
    assert repository.claim_unpublished_announcement(lease_seconds=30)["event"]["event_id"] == "a1"
    assert repository.claim_unpublished_announcement(lease_seconds=30) is None
    repository.mark_announced("a1")
    repository.add_announcement(dict(event, event_id="a2", due_at=None), grace_seconds=30)
    assert repository.announced("10000004")["due_at"] is None
    assert repository.claim_unpublished_announcement(lease_seconds=30) is None  # its grace: the writer publishes
    assert repository.count_unpublished() == 1


def exercise_sla_calendar_and_figures(repository):
    override = {"day": "2026-12-31", "kind": "holiday", "note": "Keppres", "by": {"username": "a", "name": "A"},
                "at": now()}
    repository.set_calendar_override(override)
    repository.set_calendar_override(dict(override, kind="working_day", at=now()))
    [stored] = repository.calendar_overrides()
    assert stored["kind"] == "working_day" and isinstance(stored["at"], type(now()))
    assert repository.remove_calendar_override("2026-12-31")["kind"] == "working_day"
    assert repository.remove_calendar_override("2026-12-31") is None
    day = timedelta(days=1)
    [found] = repository.response_clocks(now() - day, now() + day, agency_code="KOTA-18.72")
    assert found["answered_at"] is not None and found["state"] == "stopped"
    assert repository.response_clocks(now() - day, now() + day, agency_code="OTHER") == []
    assert len(repository.response_clocks(now() - day, now() + day)) == 1
    assert repository.response_clocks(now() + day, now() + 2 * day) == []
    repository.mark_confidential("10000004")  # its report is confidential: public figures leave it out
    assert repository.response_clocks(now() - day, now() + day) == []
    assert len(repository.response_clocks(now() - day, now() + day, include_confidential=True)) == 1


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
    exercise_notification_delivery(repository)
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_notification_delivery(repository):
    """Issue 6: held messages and their deadlines, dead letters with their event, the resend, edited templates."""
    held = {"_id": "10000004:2:agency:console", "tracking_id": "10000004", "version": 2, "channel": "console",
            "template": "agency_disposed", "data": {"agency_code": "KOTA-18.72", "due_at": None}}
    assert repository.add_message(held, hold_seconds=60) and repository.get_message(held["_id"])["status"] == "held"
    assert repository.claim_retry(lease_seconds=60) is None  # still waiting for its deadline
    due_at = now() + timedelta(days=7)
    repository.record_deadline("10000004", "response", 2, due_at)
    repository.record_deadline("10000004", "response", 2, due_at + timedelta(days=1))  # the first one stays
    assert abs((repository.deadline("10000004", "response", 2) - due_at).total_seconds()) < 1
    assert repository.deadline("10000004", "response", 3) is None
    claimed = repository.claim_held("10000004", 2, lease_seconds=60)
    assert claimed["status"] == "pending" and repository.claim_held("10000004", 2, lease_seconds=60) is None
    repository.set_text(held["_id"], "final")
    assert repository.get_message(held["_id"])["rendered_at"] <= now()
    event = {"event_id": "f1", "tracking_id": "10000004", "emitted_at": now(), "schema": 1,
             "outbox_id": held["_id"], "channel": "console", "reason": "boom"}
    repository.mark_failed(held["_id"], "boom", retry_in_seconds=60, dead=True, failure_event=event,
                           grace_seconds=-5)
    dead = repository.claim_unpublished_failure(lease_seconds=30)
    assert dead["_id"] == held["_id"] and dead["failure_event"]["event_id"] == "f1"
    assert abs((dead["failure_event"]["emitted_at"] - event["emitted_at"]).total_seconds()) < 1
    assert repository.claim_unpublished_failure(lease_seconds=30) is None  # leased
    repository.mark_failure_published(held["_id"])
    resent = repository.claim_for_resend(held["_id"], "budi.s", lease_seconds=60)
    assert (resent["status"], resent["attempts"], resent["resent_by"]) == ("pending", 0, "budi.s")
    assert repository.claim_for_resend(held["_id"], "budi.s", lease_seconds=60) is None  # pending, not dead
    repository.save_template("report_verified", "id", "Laporan {tracking_id}.", "budi.s")
    repository.save_template("report_verified", "id", "Laporan {tracking_id} diperiksa.", "budi.s")
    assert repository.template_override("report_verified", "id")["text"] == "Laporan {tracking_id} diperiksa."
    assert list(repository.template_overrides()) == [("report_verified", "id")]
    repository.delete_template("report_verified", "id")
    assert repository.template_override("report_verified", "id") is None


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
    hour = timedelta(hours=1)
    assert [repository.count_rate_limit_hit("ip:abc", hour)[0] for _ in range(3)] == [1, 2, 3]
    assert repository.count_rate_limit_hit("phone:abc", hour)[0] == 1  # each bucket and key counts apart
    repository.db.rate_limits.update_one({"_id": "ip:abc"}, {"$set": {"window_started_at": now() - 2 * hour}})
    count, started_at = repository.count_rate_limit_hit("ip:abc", hour)  # the old window closed
    assert count == 1 and started_at > now() - hour
    assert repository.count_login_failure("ip:abc", window)[0] == 1  # login failures are another collection
    two_days_ago = now() - timedelta(days=2)
    repository.db.rate_limits.update_one({"_id": "phone:abc"}, {"$set": {"window_started_at": two_days_ago}})
    repository.db.login_failures.insert_one({"_id": "user:gone", "window_started_at": two_days_ago, "count": 3})
    assert repository.purge_counters(now() - timedelta(days=1)) == 2
    assert repository.db.rate_limits.find_one({"_id": "ip:abc"}) and not repository.db.rate_limits.find_one(
        {"_id": "phone:abc"})
    assert repository.db.login_failures.find_one({"_id": "user:metro.admin"})
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
    exercise_api_keys(repository)
    exercise_ledger(repository)
    assert_within_subset(log)


def exercise_api_keys(repository):
    """API keys of other government systems: stored by digest, revoked by client name."""
    repository.insert_api_key({"_id": "d1", "name": "pemkot-metro", "active": True, "created_at": now(),
                               "revoked_at": None})
    repository.insert_api_key({"_id": "d2", "name": "bpjs", "active": True, "created_at": now(), "revoked_at": None})
    assert repository.api_key("d1")["name"] == "pemkot-metro" and repository.api_key("nope") is None
    assert [record["name"] for record in repository.active_api_keys("pemkot-metro")] == ["pemkot-metro"]
    assert repository.revoke_api_keys("pemkot-metro", now()) == 1
    assert repository.revoke_api_keys("pemkot-metro", now()) == 0  # nothing active is left
    assert not repository.api_key("d1")["active"] and repository.api_key("d1")["revoked_at"] <= now()
    assert repository.active_api_keys("pemkot-metro") == [] and repository.api_key("d2")["active"]
    assert [record["name"] for record in repository.api_keys()] == ["bpjs", "pemkot-metro"]
    assert "_id" not in repository.api_keys()[0]


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
