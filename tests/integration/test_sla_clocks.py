"""Each clock's consequence through the real services on the real bus, with sla's clock moved by the test:
tracking shows the deadline, routing escalates a missed response up the hierarchy, tracking closes a report
whose reporter stayed silent, and a stale breach changes nothing."""
import uuid

import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from tests.support.bus import cluster_proxy

from services.common.access_codes import hash_access_code
from services.routing.seed import seed, seed_demo_units
from services.routing.service import RoutingService
from services.routing.storage import RoutingRepository
from services.sla.domain import WorkingCalendar
from services.sla.service import SlaService
from services.sla.storage import SlaRepository
from services.tracking.service import AUTO_CLOSE_NOTE, TrackingService
from services.tracking.storage import TrackingRepository
from tests.conftest import TEST_SECRET_KEY
from tests.support.clock import TestClock
from tests.support.factories import UNROUTABLE, make_submitted_event
from tests.support.waiting import wait_for

TRACKING_ID = "10000004"
CODE = "7K2M-9QXD"
NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional", "scope": None}


def officer(code):
    return {"role": "agency_officer", "username": "budi", "name": "Budi", "agency_code": code, "agency_name": code,
            "scope": [code]}


@pytest.fixture
def clock(tmp_path):
    return TestClock(tmp_path / "clock-offset")


@pytest.fixture
def repos(open_repo):
    routing = open_repo(RoutingRepository, "lapor_routing")
    seed(routing)
    seed_demo_units(routing)
    return open_repo(TrackingRepository, "lapor_tracking"), open_repo(SlaRepository, "lapor_sla")


@pytest.fixture
def services(start_service, service_config, clock, repos):
    for cls in (TrackingService, RoutingService):
        start_service(cls)
    start_service(SlaService, **clock.config())
    with cluster_proxy(service_config) as cluster:
        yield cluster


@pytest.fixture
def tracking_repo(repos):
    return repos[0]


@pytest.fixture
def sla_repo(repos):
    return repos[1]


def submit(service_config, tracking_repo):
    event = make_submitted_event(tracking_id=TRACKING_ID, reporter_ref=None,  # waits for the national admin
                                 access_code_hash=hash_access_code(TEST_SECRET_KEY, CODE), **UNROUTABLE)
    event_dispatcher(service_config)("intake", "report_submitted", event)
    wait_for(lambda: tracking_repo.get_report(TRACKING_ID), message="case opened")


def running_clock(sla_repo, stage, version):
    """The clock of `stage` opened by entry `version`, once sla has it."""
    return wait_for(lambda: next((c for c in sla_repo.running_clocks(TRACKING_ID)
                                  if c["stage"] == stage and c["version"] == version), None),
                    message=f"{stage} clock of version {version}")


def shown_due(tracking_repo, due_at):
    return wait_for(lambda: tracking_repo.get_report(TRACKING_ID)["due_at"] == due_at, message=f"due_at {due_at}")


def report_when(tracking_repo, predicate, message):
    return wait_for(lambda: (r := tracking_repo.get_report(TRACKING_ID)) and predicate(r) and r, message=message)


@pytest.mark.parametrize("holder, parent", [
    ("KOTA-18.72", "PROV-18"),            # a city's province
    ("KOTA-18.72-DPUPR", "KOTA-18.72"),   # a unit's agency
    ("PROV-18", "KEMENDAGRI"),            # a province's ministry
    ("KEMENDAGRI", "KEMENPANRB"),         # the top: the national queue's agency
])
def test_a_missed_response_escalates_to_the_parent_agency(services, service_config, tracking_repo, sla_repo, clock,
                                                          holder, parent):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": holder, "case_class": "dispute"})
    response = running_clock(sla_repo, "response", 2)
    assert running_clock(sla_repo, "completion", 2)["due_at"] > response["due_at"]
    shown_due(tracking_repo, response["due_at"])  # the view shows the nearer deadline

    clock.move_to(response["due_at"])
    entry = wait_for(lambda: tracking_repo.get_entry(TRACKING_ID, 3), message="escalation")
    assert (entry["kind"], entry["status"], entry["agency_code"]) == ("escalated", "disposed", parent)
    assert (entry["automatic"], entry["actor"]["role"]) == (True, "system")
    assert tracking_repo.get_report(TRACKING_ID)["hops"] == 0  # an escalation is not a hop
    assert entry["note"].startswith("Eskalasi otomatis: tenggat tanggapan terlewati")
    # The parent gets five working days of its own from the escalation. (Here they run out at once: the test
    # moved sla's time on, while tracking writes entries at the wall clock's; so up it goes, to the top.)
    restarted = wait_for(lambda: sla_repo.get_clock(f"{TRACKING_ID}:response:3"), message="the parent's clock")
    assert restarted["agency_code"] == parent
    assert restarted["due_at"] == WorkingCalendar().due_at(entry["at"], 5)


def test_above_the_national_queue_there_is_nobody_to_escalate_to(services, service_config, tracking_repo, sla_repo,
                                                                  clock):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KEMENPANRB"})
    clock.move_to(running_clock(sla_repo, "response", 2)["due_at"])
    wait_for(lambda: sla_repo.clocks_in_state(TRACKING_ID, "response", "breached"), message="breach")
    eventlet.sleep(1.0)
    assert tracking_repo.get_report(TRACKING_ID)["version"] == 2


def test_silence_after_a_follow_up_closes_the_report(services, service_config, tracking_repo, sla_repo, clock):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    services.tracking.act(TRACKING_ID, "followup", officer("KOTA-18.72"), {"message": "Sudah kami tinjau."})
    auto_close = running_clock(sla_repo, "auto_close", 3)
    shown_due(tracking_repo, auto_close["due_at"])

    clock.move_to(auto_close["due_at"])
    closed = report_when(tracking_repo, lambda r: r["status"] == "completed", "automatic close")
    entry = tracking_repo.get_entry(TRACKING_ID, closed["version"])
    assert (entry["kind"], entry["automatic"], entry["actor"]["role"], entry["note"]) == (
        "completed", True, "system", AUTO_CLOSE_NOTE)
    view = services.tracking.report(TRACKING_ID, viewer=NATIONAL_ADMIN)
    assert (view["status"], view["due_at"], view["overdue"]) == ("completed", None, False)


def test_a_stale_automatic_close_is_refused_harmlessly(services, service_config, tracking_repo, sla_repo):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    services.tracking.act(TRACKING_ID, "followup", officer("KOTA-18.72"), {"message": "Sudah kami tinjau."})
    auto_close = running_clock(sla_repo, "auto_close", 3)
    services.tracking.reporter_act(TRACKING_ID, CODE, "reply", {"message": "Belum beres, Pak."})
    wait_for(lambda: sla_repo.get_clock(auto_close["_id"])["state"] == "stopped", message="stopped by the reply")

    # A breach that raced the reply (or arrived late) still says version 3: tracking refuses it.
    stale = stale_breach(auto_close, stage="auto_close")
    event_dispatcher(service_config)("sla", "deadline_breached", stale)
    wait_for(lambda: tracking_repo.event_processed(stale["event_id"]), message="the stale breach acknowledged")
    report = tracking_repo.get_report(TRACKING_ID)
    assert (report["status"], report["version"]) == ("in_progress", 4)
    assert tracking_repo.parked_events() == []


def test_an_escalation_for_an_agency_that_no_longer_holds_the_report_changes_nothing(
        services, service_config, tracking_repo, sla_repo, open_repo):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    response = running_clock(sla_repo, "response", 2)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KOTA-18.71"})
    running_clock(sla_repo, "response", 3)

    stale = stale_breach(response, stage="response")
    event_dispatcher(service_config)("sla", "deadline_breached", stale)
    routing_repo = open_repo(RoutingRepository, "lapor_routing")
    wait_for(lambda: routing_repo.event_processed(stale["event_id"]), message="the stale breach acknowledged")
    report = tracking_repo.get_report(TRACKING_ID)
    assert (report["agency_code"], report["version"]) == ("KOTA-18.71", 3)
    assert routing_repo.parked_events() == []


def stale_breach(clock, stage):
    return {"event_id": str(uuid.uuid4()), "tracking_id": TRACKING_ID, "emitted_at": clock["due_at"].isoformat(),
            "schema": 1, "stage": stage, "clock_id": clock["_id"], "due_at": clock["due_at"].isoformat(),
            "agency_code": clock["agency_code"], "version": clock["version"]}


def test_the_view_shows_no_deadline_while_the_agency_waits_for_the_reporter(services, service_config, tracking_repo,
                                                                           sla_repo):
    submit(service_config, tracking_repo)
    services.routing.dispose(TRACKING_ID, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    response = running_clock(sla_repo, "response", 2)
    shown_due(tracking_repo, response["due_at"])
    services.tracking.act(TRACKING_ID, "request_info", officer("KOTA-18.72"), {"message": "Mohon kirim foto."})
    shown_due(tracking_repo, None)
    assert services.tracking.report(TRACKING_ID, viewer=NATIONAL_ADMIN)["due_at"] is None

    services.tracking.reporter_act(TRACKING_ID, CODE, "reply", {"message": "Fotonya terlampir."})
    resumed = wait_for(lambda: (c := sla_repo.get_clock(response["_id"]))["state"] == "running" and c,
                       message="resumed")
    shown_due(tracking_repo, resumed["due_at"])
    view = services.tracking.report(TRACKING_ID, viewer=NATIONAL_ADMIN)
    assert view["due_at"] == resumed["due_at"].isoformat() and view["overdue"] is False
