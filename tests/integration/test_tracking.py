"""Tracking against the real broker and store: opening cases, the compare-and-set transition, ID blocks."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.errors import IllegalTransition, ValidationFailed
from services.common.tracking_ids import make_tracking_id
from services.tracking.service import TrackingService
from services.tracking.storage import TrackingRepository
from tests.support.bus import hook, service_proxy
from tests.support.factories import make_submitted_event
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for


@pytest.fixture
def tracking(start_service):
    return start_service(TrackingService)


@pytest.fixture
def repo(open_repo):
    return open_repo(TrackingRepository, "lapor_tracking")


@pytest.fixture
def recorder(start_service):
    cls = make_recorder(("tracking", "report_updated"))
    start_service(cls)
    return cls


def deliver(tracking, service_config, event):
    dispatch = event_dispatcher(service_config)
    with entrypoint_waiter(tracking, "on_report_submitted"):
        dispatch("intake", "report_submitted", event)


def dispose(agency_code="KOTA-18.72", **overrides):
    change = {"kind": "disposed", "to_status": "disposed", "actor": {"role": "national_admin"},
              "agency_code": agency_code, "agency_name": "Pemerintah Kota Metro"}
    change.update(overrides)
    return change


def test_opening_a_case_emits_opened_with_the_content(tracking, service_config, repo, recorder):
    event = make_submitted_event(tracking_id="10000004", agency_code="KOTA-18.72")
    deliver(tracking, service_config, event)

    report = repo.get_report("10000004")
    assert (report["status"], report["version"]) == ("received", 1)
    [entry] = repo.entries("10000004", 1)
    assert entry["kind"] == "opened"
    [(_, opened)] = wait_for(lambda: recorder.heard, message="report_updated opened")
    assert opened["kind"] == "opened" and opened["version"] == 1 and opened["status"] == "received"
    assert opened["content"]["title"] == event["title"]
    assert opened["content"]["agency_code"] == "KOTA-18.72"
    assert "phone" not in str(opened) and "access_code_hash" not in opened


def test_the_same_event_delivered_twice_changes_nothing(tracking, service_config, repo, recorder):
    event = make_submitted_event(tracking_id="10000004")
    deliver(tracking, service_config, event)
    deliver(tracking, service_config, event)
    # A re-publication by intake's relay carries the same content under another event id.
    deliver(tracking, service_config, dict(event, event_id="another-delivery-of-the-same-submission"))

    assert repo.get_report("10000004")["version"] == 1
    assert len(repo.entries("10000004", 10)) == 1
    wait_for(lambda: recorder.heard, message="opened")
    eventlet.sleep(0.5)
    assert [payload["kind"] for _, payload in recorder.heard] == ["opened"]


def test_an_allowed_transition_moves_the_report_and_is_announced(tracking, service_config, repo, recorder):
    deliver(tracking, service_config, make_submitted_event(tracking_id="10000004"))
    with hook(tracking, "transition") as transition:
        view = transition("10000004", dispose(expected_version=1, note="ke Pemkot Metro"))

    assert view["status"] == "disposed" and view["version"] == 2
    assert view["agency"] == {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
    kinds = wait_for(lambda: [p["kind"] for _, p in recorder.heard if p["version"] == 2], message="disposed event")
    assert kinds == ["disposed"]


@pytest.mark.parametrize("change", [
    {"kind": "completed", "to_status": "completed", "actor": {"role": "agency_admin"}},   # received → completed
    {"kind": "followup", "to_status": "in_progress", "actor": {"role": "agency_admin"}},  # not disposed yet
    {"kind": "verified", "to_status": "disposed", "actor": {"role": "national_admin"}},   # wrong target status
    dispose(expected_version=7),                                                          # stale version
    dispose(expected_status="verified"),                                                  # stale status
])
def test_a_refused_transition_changes_nothing(tracking, service_config, repo, change):
    deliver(tracking, service_config, make_submitted_event(tracking_id="10000004"))
    before = repo.get_report("10000004")

    with hook(tracking, "transition") as transition:
        with pytest.raises(IllegalTransition):
            transition("10000004", change)

    after = repo.get_report("10000004")
    assert (after["status"], after["version"], after["updated_at"]) == (
        before["status"], before["version"], before["updated_at"])
    assert len(repo.entries("10000004", 10)) == 1


def test_two_racing_transitions_from_one_version_let_exactly_one_through(tracking, service_config, repo):
    deliver(tracking, service_config, make_submitted_event(tracking_id="10000004"))
    outcomes = []

    def attempt(agency_code):
        # Over the real bus, one RPC client per caller, as three officers' requests would arrive.
        with service_proxy("tracking", service_config) as rpc:
            try:
                outcomes.append(rpc.transition("10000004", dispose(agency_code, expected_version=1))["agency"]["code"])
            except IllegalTransition:
                outcomes.append("refused")

    pool = eventlet.GreenPool()
    for code in ("KOTA-18.72", "PROV-18", "KAB-18.01"):
        pool.spawn(attempt, code)
    pool.waitall()

    winners = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 2
    report = repo.get_report("10000004")
    assert report["version"] == 2 and report["agency_code"] == winners[0]
    assert len(repo.entries("10000004", 10)) == 2


def test_id_blocks_never_overlap(tracking):
    with hook(tracking, "reserve_id_block") as reserve:
        blocks = [reserve(size) for size in (10, 1000, 1, 500)]
    numbers = [n for block in blocks for n in range(block["start"], block["end"])]
    assert len(numbers) == len(set(numbers)) == 1511
    assert min(numbers) == 1_000_000


def test_the_public_feed_filters_pages_and_never_shows_confidential_reports(tracking, service_config):
    cases = [
        make_submitted_event(tracking_id=make_tracking_id(1_000_000 + n), title=title, type=kind,
                             confidential=confidential, location={"region_code": region},
                             submitted_at=(datetime.now(timezone.utc) - timedelta(minutes=10 - n)).isoformat())
        for n, (title, kind, confidential, region) in enumerate([
            ("Jalan berlubang di Metro", "complaint", False, "18.72"),
            ("Lampu jalan mati", "aspiration", False, "18.72"),
            ("Pungutan liar di kantor", "complaint", True, "18.72"),
            ("Jalan rusak di Bandar Lampung", "complaint", False, "18.71"),
        ])
    ]
    for event in cases:
        deliver(tracking, service_config, event)

    with hook(tracking, "feed") as feed:
        everything = feed({})
        assert everything["total"] == 3
        assert "Pungutan liar di kantor" not in [r["title"] for r in everything["items"]]
        assert [r["title"] for r in feed({"q": "JALAN", "region": "18.72"})["items"]] == [
            "Lampu jalan mati", "Jalan berlubang di Metro"]  # newest first
        assert feed({"type": "aspiration"})["total"] == 1
        page = feed({"per_page": "2", "page": "2"})
        assert (page["page"], page["per_page"], len(page["items"]), page["total"]) == (2, 2, 1, 3)
        assert feed({"from": "2000-01-01", "to": "2000-12-31"})["total"] == 0
        with pytest.raises(ValidationFailed) as caught:
            feed({"status": "lost", "per_page": "1000", "sort": "x"})
        assert set(caught.value.fields) == {"status", "per_page", "sort"}


def test_open311_requests_filter_by_ids_status_category_and_dates_never_confidential(tracking, service_config):
    at = datetime.now(timezone.utc)
    cases = [  # (tracking_id, category, confidential, minutes ago)
        (make_tracking_id(1_000_000), "jalan-rusak", False, 30),
        (make_tracking_id(1_000_001), "sampah", False, 20),
        (make_tracking_id(1_000_002), "jalan-rusak", True, 10),
        (make_tracking_id(1_000_003), "jalan-rusak", False, 0),
    ]
    for tracking_id, category, confidential, minutes_ago in cases:
        deliver(tracking, service_config, make_submitted_event(
            tracking_id=tracking_id, category=category, confidential=confidential,
            submitted_at=(at - timedelta(minutes=minutes_ago)).isoformat()))
    first, second, secret, newest = (case[0] for case in cases)
    with hook(tracking, "transition") as transition:
        transition(first, dispose())
        transition(first, {"kind": "archived", "to_status": "archived", "actor": {"role": "national_admin"}})
    since = (at - timedelta(days=90)).isoformat()

    with hook(tracking, "open311_requests") as requests_of:
        ids_of = lambda query: [view["tracking_id"] for view in requests_of(query)]  # noqa: E731
        assert ids_of({"created_from": since}) == [newest, second, first]  # newest first, never the secret one
        assert ids_of({"created_from": since, "statuses": ["received", "verified", "disposed", "in_progress"]}) == [
            newest, second]
        assert ids_of({"created_from": since, "statuses": ["completed", "rejected", "archived"]}) == [first]
        assert ids_of({"created_from": since, "categories": ["jalan-rusak"], "limit": 1}) == [newest]
        assert ids_of({"ids": [first, secret, newest, make_tracking_id(1_000_999)]}) == [newest, first]
        window = {"created_from": (at - timedelta(minutes=25)).isoformat(),
                  "created_until": (at - timedelta(minutes=5)).isoformat()}
        assert ids_of(window) == [second]
        [view] = requests_of({"ids": [second]})
        assert "reporter" not in view and view["category"] == "sampah"
        with pytest.raises(ValidationFailed) as caught:
            requests_of({"statuses": ["open"], "limit": 1001, "sort": "x"})
        assert set(caught.value.fields) == {"statuses.0", "limit", "sort"}


def _store_lost_at_the_compare_and_set(monkeypatch):
    """The store goes away after the entry is claimed and before the report moves (a kill -9 of the store)."""
    from pymongo.errors import AutoReconnect
    original, failed = TrackingRepository.compare_and_set, []

    def compare_and_set(self, report, changes):
        if not failed:
            failed.append(report["tracking_id"])
            raise AutoReconnect("connection closed")
        return original(self, report, changes)

    monkeypatch.setattr(TrackingRepository, "compare_and_set", compare_and_set)


def test_a_retried_change_carries_on_the_entry_its_first_try_claimed(tracking, service_config, repo, recorder,
                                                                      monkeypatch):
    """Seen in `make chaos` (store scenario): routing's auto-disposition met its own first try's entry as
    'another party' and gave up, leaving the report `received` for good."""
    deliver(tracking, service_config, make_submitted_event(tracking_id="10000004"))
    _store_lost_at_the_compare_and_set(monkeypatch)
    change = dispose(expected_version=1, expected_status="received", change_key="opened-event-1:disposed")
    with hook(tracking, "transition") as transition:
        with pytest.raises(Exception):
            transition("10000004", change)  # the first try: entry claimed, report not moved
        assert repo.get_report("10000004")["version"] == 1
        view = transition("10000004", change)  # the redelivered event's try
    assert view["status"] == "disposed"
    report = repo.get_report("10000004")
    assert (report["status"], report["version"]) == ("disposed", 2)
    assert [entry["kind"] for entry in repo.entries("10000004", 10)] == ["opened", "disposed"]
    wait_for(lambda: [p for _, p in recorder.heard if p["kind"] == "disposed"], message="disposed announced")


def test_another_change_never_takes_over_a_claimed_entry(tracking, service_config, repo, monkeypatch):
    deliver(tracking, service_config, make_submitted_event(tracking_id="10000004"))
    _store_lost_at_the_compare_and_set(monkeypatch)
    with hook(tracking, "transition") as transition:
        with pytest.raises(Exception):
            transition("10000004", dispose(expected_version=1, change_key="first"))
        for other in (dispose("PROV-18", expected_version=1, change_key="second"), dispose("PROV-18", expected_version=1)):
            with pytest.raises(IllegalTransition):
                transition("10000004", other)
    assert repo.get_report("10000004")["version"] == 1
