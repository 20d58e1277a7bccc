"""Parked events replayed on the real bus and store (issue 12, item 8): a handler that failed every retry is parked,
the cause is fixed, a replay delivers it once; replaying again, or an event handled meanwhile, changes nothing;
a failed replay stays parked with the new error. Over HTTP only national admins list and replay, audited."""
import uuid
from datetime import timedelta

import eventlet
import pytest
import requests
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from tests.support.bus import cluster_proxy
from nameko.testing.services import entrypoint_waiter

from services.common import ledger
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.common.events import REPORT_SUBMITTED, now
from services.common.ledger import once_per_event
from services.gateway import admin, dead_events
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.routing.seed import seed
from services.routing.service import RoutingService
from services.routing.storage import RoutingRepository
from services.tracking.service import TrackingService
from tests.support.factories import make_submitted_event
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

TRACKING_ID = "10000004"
NATIONAL_ADMIN = {"role": "national_admin", "username": "nasional", "name": "Admin Nasional", "scope": None}
AGENCY_ADMIN = {"role": "agency_admin", "username": "metro", "agency_code": "KOTA-18.72", "scope": ["KOTA-18.72"]}
PASSWORD = "kata-sandi-rahasia"
SITI_TRACES = ("Siti", "Aminah", "081234567890", "0812-3456-7890", "siti@example.id")


@pytest.fixture
def recorder(start_service):
    """What tracking publishes: an `opened` entry per case opened, so a second run of the handler shows."""
    cls = make_recorder(("tracking", "report_updated"))
    start_service(cls)
    return cls.heard


class CountingTracking(TrackingService):
    """Tracking, counting each run of its case-opening handler: tracking's own writes are idempotent (a second run
    adds no entry and publishes nothing new), so only a count shows whether the handler ran twice."""

    runs = []

    @event_handler("intake", REPORT_SUBMITTED, requeue_on_error=True)
    @once_per_event(REPORT_SUBMITTED)
    def on_report_submitted(self, event):
        self.runs.append(event["event_id"])
        return TrackingService.on_report_submitted.ledger_handler(self, event)


@pytest.fixture
def tracking(start_service, recorder):
    CountingTracking.runs.clear()
    return start_service(CountingTracking)


def runs_of(event):
    return CountingTracking.runs.count(event["event_id"])


@pytest.fixture
def cluster(tracking, service_config):
    with cluster_proxy(service_config) as proxy:
        yield proxy


def opened_events(heard, tracking_id=TRACKING_ID):
    return [payload for _, payload in heard if payload["tracking_id"] == tracking_id and payload["kind"] == "opened"]


def deadline_set(tracking_id=TRACKING_ID, version=1):
    due = (now() + timedelta(days=3)).replace(microsecond=0)
    return {"event_id": str(uuid.uuid4()), "tracking_id": tracking_id, "emitted_at": now().isoformat(), "schema": 1,
            "stage": "verification", "clock_id": f"{tracking_id}:verification:{version}", "due_at": due.isoformat(),
            "agency_code": None, "version": version}


def park_directly(tracking_repo, event, event_type="report_submitted", handler="on_report_submitted"):
    tracking_repo.park_event(event["event_id"], event_type, handler, event, "KeyError: 'region'", attempts=5)
    return f"{event['event_id']}:{handler}"


def test_a_parked_event_is_delivered_once_after_the_cause_is_fixed(cluster, service_config, tracking_repo, recorder):
    # A deadline for a case tracking has not opened: NotFound on every try, parked after the last one.
    deadline = deadline_set()
    event_dispatcher(service_config)("sla", "deadline_set", deadline)
    record_id = f"{deadline['event_id']}:on_deadline_set"
    parked = wait_for(lambda: tracking_repo.dead_event(record_id), timeout=40, message="the deadline parked")
    assert (parked["status"], parked["attempts"]) == ("parked", ledger.MAX_ATTEMPTS)
    [listed] = cluster.tracking.dead_events({"event_type": "deadline_set"}, NATIONAL_ADMIN)["items"]
    assert (listed["id"], listed["handler"], listed["tracking_id"]) == (record_id, "on_deadline_set", TRACKING_ID)
    assert listed["error"].startswith("NotFound: report 10000004 not opened yet")

    # Replayed before the fix: it fails again, and stays parked with one more attempt.
    answer = cluster.tracking.replay_dead_events({"id": record_id}, NATIONAL_ADMIN)
    assert [item["outcome"] for item in answer["items"]] == ["failed"]
    still = tracking_repo.dead_event(record_id)
    assert (still["status"], still["attempts"], still["replay_count"]) == ("parked", ledger.MAX_ATTEMPTS + 1, 1)
    assert still["replayed_by"] == "nasional" and tracking_repo.db.event_failures.find_one(
        {"_id": deadline["event_id"]}) is None  # a later delivery would get every retry again
    assert not tracking_repo.event_processed(deadline["event_id"])

    # The fix: the case opens. Now all deadline_set records of tracking are replayed.
    event_dispatcher(service_config)("intake", "report_submitted", make_submitted_event(tracking_id=TRACKING_ID))
    wait_for(lambda: tracking_repo.get_report(TRACKING_ID), message="case opened")
    answer = cluster.tracking.replay_dead_events({"event_type": "deadline_set"}, NATIONAL_ADMIN)
    assert [(item["id"], item["outcome"]) for item in answer["items"]] == [(record_id, "replayed")]
    assert answer["remaining"] == 0 and answer["counts"]["replayed"] == 1
    report = tracking_repo.get_report(TRACKING_ID)
    assert report["due_at"].isoformat() == deadline["due_at"] and report["due_version"] == 1
    done = tracking_repo.dead_event(record_id)
    assert (done["status"], done["replay_outcome"], done["replay_count"]) == ("replayed", "replayed", 2)
    assert tracking_repo.event_processed(deadline["event_id"])
    assert cluster.tracking.dead_events({}, NATIONAL_ADMIN)["total"] == 0  # nothing parked any more
    assert [r["outcome"] for r in tracking_repo.event_replays(record_id)] == ["failed", "replayed"]

    # Replaying it again, by id or by type, does nothing.
    again = cluster.tracking.replay_dead_events({"id": record_id}, NATIONAL_ADMIN)
    assert [item["outcome"] for item in again["items"]] == ["already_replayed"]
    assert cluster.tracking.replay_dead_events({"event_type": "deadline_set"}, NATIONAL_ADMIN)["items"] == []
    assert tracking_repo.dead_event(record_id)["replay_count"] == 2


def test_replaying_twice_or_redelivering_has_no_second_effect(cluster, tracking, service_config, tracking_repo,
                                                               recorder):
    submitted = make_submitted_event(tracking_id=TRACKING_ID)
    record_id = park_directly(tracking_repo, submitted)

    first = cluster.tracking.replay_dead_events({"id": record_id}, NATIONAL_ADMIN)
    assert [item["outcome"] for item in first["items"]] == ["replayed"]
    wait_for(lambda: opened_events(recorder), message="the case's opened entry published")
    second = cluster.tracking.replay_dead_events({"id": record_id}, NATIONAL_ADMIN)
    assert [item["outcome"] for item in second["items"]] == ["already_replayed"]
    assert cluster.tracking.replay_dead_events({"event_type": "report_submitted"}, NATIONAL_ADMIN)["items"] == []
    # The broker delivers the original once more: the ledger knows it was processed by the replay.
    with entrypoint_waiter(tracking, "on_report_submitted"):
        event_dispatcher(service_config)("intake", "report_submitted", submitted)
    eventlet.sleep(1.0)
    assert runs_of(submitted) == 1
    assert len(opened_events(recorder)) == 1
    assert len(list(tracking_repo.db.timeline.find({"tracking_id": TRACKING_ID}))) == 1


def test_an_event_handled_meanwhile_is_not_run_again(cluster, tracking, service_config, tracking_repo, recorder):
    submitted = make_submitted_event(tracking_id=TRACKING_ID)
    record_id = park_directly(tracking_repo, submitted)
    with entrypoint_waiter(tracking, "on_report_submitted"):
        event_dispatcher(service_config)("intake", "report_submitted", submitted)
    wait_for(lambda: opened_events(recorder), message="opened by the redelivery")

    answer = cluster.tracking.replay_dead_events({"event_type": "report_submitted",
                                                  "handler": "on_report_submitted"}, NATIONAL_ADMIN)
    assert [item["outcome"] for item in answer["items"]] == ["already_processed"]
    record = tracking_repo.dead_event(record_id)
    assert (record["status"], record["replay_outcome"]) == ("replayed", "already_processed")
    eventlet.sleep(1.0)
    assert runs_of(submitted) == 1
    assert len(opened_events(recorder)) == 1


def test_two_replays_at_once_deliver_it_once(cluster, service_config, tracking_repo, recorder):
    submitted = make_submitted_event(tracking_id=TRACKING_ID)
    record_id = park_directly(tracking_repo, submitted)

    def replay():
        with cluster_proxy(service_config) as proxy:
            return proxy.tracking.replay_dead_events({"id": record_id}, NATIONAL_ADMIN)["items"][0]["outcome"]

    pool = eventlet.GreenPool(2)
    outcomes = sorted(pool.imap(lambda _: replay(), range(2)))
    assert outcomes.count("replayed") == 1 and set(outcomes) <= {"replayed", "busy", "already_replayed"}
    wait_for(lambda: opened_events(recorder), message="opened")
    eventlet.sleep(1.0)
    assert runs_of(submitted) == 1
    assert len(opened_events(recorder)) == 1


def test_only_operators_may_list_or_replay_and_selectors_are_checked(cluster, tracking_repo):
    record_id = park_directly(tracking_repo, make_submitted_event(tracking_id=TRACKING_ID))
    for actor in (AGENCY_ADMIN, None, {"role": "reporter"}):
        with pytest.raises(Forbidden):
            cluster.tracking.dead_events({}, actor)
        with pytest.raises(Forbidden):
            cluster.tracking.replay_dead_events({"id": record_id}, actor)
    with pytest.raises(NotFound):
        cluster.tracking.replay_dead_events({"id": "no-such:record"}, NATIONAL_ADMIN)
    for selector, field in (({}, "_schema"), ({"id": record_id, "event_type": "report_submitted"}, "_schema"),
                            ({"id": record_id, "handler": "on_report_submitted"}, "handler"),
                            ({"event_type": "report_submitted", "handler": "on_deadline_set"}, "handler"),
                            ({"event_type": "nope"}, "event_type"), ({"id": record_id, "extra": 1}, "extra")):
        with pytest.raises(ValidationFailed) as refused:
            cluster.tracking.replay_dead_events(selector, NATIONAL_ADMIN)
        assert field in refused.value.fields, selector
    assert tracking_repo.dead_event(record_id)["status"] == "parked"  # none of that touched it


# --- over HTTP -------------------------------------------------------------------------------------------------

@pytest.fixture
def gateway_url(start_service, tracking, open_repo):
    routing_repo, gateway_repo = open_repo(RoutingRepository, "lapor_routing"), open_repo(GatewayRepository,
                                                                                          "lapor_gateway")
    seed(routing_repo)
    for username, role, agency in (("nasional", "national_admin", None), ("metro", "agency_admin", "KOTA-18.72"),
                                   ("pengawas", "supervisor", None)):
        admin.create_account(gateway_repo, {"username": username, "role": role, "agency_code": agency,
                                            "name": username.title(), "password": PASSWORD}, routing_repo.agency)
    start_service(RoutingService)  # signing in asks routing for the officer's scope
    gateway = start_service(GatewayService)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


def bearer(url, username):
    response = requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                             timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_over_http_national_admins_list_and_replay_audited_and_nobody_else(gateway_url, tracking_repo, open_repo,
                                                                         recorder):
    url = f"{gateway_url}/api/v1/admin/dead-events"
    # A payload that carries more than it should (a buggy producer): the list shows none of it.
    submitted = make_submitted_event(tracking_id=TRACKING_ID, body="Hubungi saya di 0812-3456-7890 atau siti@example.id",
                                     reporter={"name": "Siti Aminah", "phone": "081234567890"})
    record_id = park_directly(tracking_repo, submitted)
    replay_url = f"{url}/tracking/replay"

    anonymous = requests.get(url, params={"service": "tracking"}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert requests.post(replay_url, json={"id": record_id}, timeout=10).status_code == 401
    for username in ("metro", "pengawas"):
        headers = dict(bearer(gateway_url, username), **{"Accept-Language": "en"})
        refused = requests.get(url, params={"service": "tracking"}, headers=headers, timeout=10)
        assert refused.status_code == 403
        assert refused.json()["error"] == {"code": "forbidden", "message": "You are not allowed to do this."}
        assert requests.post(replay_url, json={"id": record_id}, headers=headers, timeout=10).status_code == 403
    assert tracking_repo.dead_event(record_id)["status"] == "parked"

    national = bearer(gateway_url, "nasional")
    listed = requests.get(url, params={"service": "tracking", "event_type": "report_submitted"}, headers=national,
                          timeout=10)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["page"], [item["id"] for item in body["items"]]) == (1, 1, [record_id])
    assert body["items"][0]["payload"]["reporter_ref"] == submitted["reporter_ref"]
    assert not [trace for trace in SITI_TRACES if trace in listed.text]
    assert submitted["access_code_hash"] not in listed.text
    # Every service in turn: notifications and sla are not running here, so that is a 503 in the error shape.
    everyone = requests.get(url, headers=national, timeout=30)
    assert everyone.status_code == 503 and everyone.json()["error"]["code"] == "unavailable"
    bad = requests.get(url, params={"service": "intake", "status": "x"}, headers=national, timeout=10)
    assert bad.status_code == 400 and "service" in bad.json()["error"]["fields"]
    bad = requests.get(url, params={"service": "tracking", "status": "x"}, headers=national, timeout=10)
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]

    replayed = requests.post(replay_url, json={"id": record_id}, headers=national, timeout=30)
    assert replayed.status_code == 200, replayed.text
    assert [item["outcome"] for item in replayed.json()["items"]] == ["replayed"]
    again = requests.post(replay_url, json={"id": record_id}, headers=national, timeout=30)
    assert [item["outcome"] for item in again.json()["items"]] == ["already_replayed"]
    wait_for(lambda: opened_events(recorder), message="opened")
    eventlet.sleep(1.0)
    assert runs_of(submitted) == 1 and len(opened_events(recorder)) == 1
    assert tracking_repo.dead_event(record_id)["replayed_by"] == "nasional"

    neither = requests.post(replay_url, json={}, headers=dict(national, **{"Accept-Language": "en"}), timeout=10)
    assert neither.status_code == 400
    assert neither.json()["error"]["fields"] == {"_schema": ["Give either id or event_type."]}
    indonesian = requests.post(replay_url, json={}, headers=national, timeout=10)
    assert indonesian.json()["error"]["fields"] == {"_schema": ["Isi salah satu: id atau event_type."]}
    unknown = requests.post(f"{url}/intake/replay", json={"id": record_id}, headers=national, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"

    audit = requests.get(f"{gateway_url}/api/v1/audit", headers=national, params={"per_page": "100"}, timeout=10)
    entries = [(e["username"], e["outcome"], e["details"].get("service")) for e in audit.json()["items"]
               if e["action"] == "replay_dead_events"]
    assert sorted(entries) == sorted([
        ("metro", "forbidden", "tracking"), ("pengawas", "forbidden", "tracking"), ("nasional", "ok", "tracking"),
        ("nasional", "ok", "tracking"), ("nasional", "validation_error", "tracking"),
        ("nasional", "validation_error", "tracking"), ("nasional", "not_found", "intake")])
    first_ok = [e for e in audit.json()["items"] if e["action"] == "replay_dead_events" and e["outcome"] == "ok"][-1]
    assert first_ok["details"]["counts"]["replayed"] == 1 and first_ok["details"]["tracking_ids"] == [TRACKING_ID]


# --- the operator's command ------------------------------------------------------------------------------------

def test_the_command_lists_and_replays_over_the_bus_and_audits(tracking, service_config, store, db_prefix,
                                                                tracking_repo, open_repo, recorder, capsys):
    submitted = make_submitted_event(tracking_id=TRACKING_ID)
    record_id = park_directly(tracking_repo, submitted)
    environ = {"LAPOR_AMQP_URI": service_config["AMQP_URI"], "LAPOR_MONGO_URI": store.uri,
               "LAPOR_DB_PREFIX": db_prefix}

    assert dead_events.main(["list", "--service", "tracking"], environ=environ, login="operator") == 0
    listing = capsys.readouterr().out
    assert record_id in listing and "1 shown of 1" in listing

    assert dead_events.main(["replay", "--service", "tracking", "--event-type", "report_submitted"],
                            environ=environ, login="operator") == 0
    assert f"{record_id}: replayed" in capsys.readouterr().out
    assert dead_events.main(["replay", "--service", "tracking", "--id", record_id], environ=environ,
                            login="operator") == 0
    assert f"{record_id}: already_replayed" in capsys.readouterr().out
    assert tracking_repo.dead_event(record_id)["replayed_by"] == "cli:operator"
    assert runs_of(submitted) == 1
    wait_for(lambda: opened_events(recorder), message="opened")

    gateway_repo = open_repo(GatewayRepository, "lapor_gateway")
    entries, _ = gateway_repo.find_audit(username="cli:operator")
    assert sorted((e["action"], e["outcome"], e["details"]["via"]) for e in entries) == [
        ("replay_dead_events", "ok", "cli"), ("replay_dead_events", "ok", "cli")]
    assert dead_events.main(["replay", "--service", "tracking", "--id", "no-such:record"], environ=environ,
                            login="operator") == 1
