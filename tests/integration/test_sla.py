"""SLA on the real bus: clocks opened and stopped by timeline entries, deadlines announced, order tolerated."""
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.sla.service import SlaService
from services.sla.storage import SlaRepository
from tests.support.factories import make_updated_event
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for


@pytest.fixture
def sla(start_service):
    return start_service(SlaService)


@pytest.fixture
def repo(open_repo):
    return open_repo(SlaRepository, "lapor_sla")


@pytest.fixture
def deadlines(start_service):
    cls = make_recorder(("sla", "deadline_set"))
    start_service(cls)
    return cls.heard


def opened():
    return make_updated_event(tracking_id="10000004", version=1, kind="opened", status="received")


def disposed():
    return make_updated_event(tracking_id="10000004", version=2, kind="disposed", status="disposed",
                              previous_status="received", agency_code="KOTA-18.72")


def deliver(sla, service_config, *events):
    dispatch = event_dispatcher(service_config)
    for event in events:
        with entrypoint_waiter(sla, "on_report_updated"):
            dispatch("tracking", "report_updated", event)


def stages(repo):
    return sorted(clock["stage"] for clock in repo.running_clocks("10000004"))


def test_opened_starts_the_verification_clock_and_announces_its_deadline(sla, service_config, repo, deadlines):
    deliver(sla, service_config, opened())
    assert stages(repo) == ["verification"]
    [(_, deadline)] = wait_for(lambda: deadlines, message="deadline_set")
    assert deadline["stage"] == "verification" and deadline["version"] == 1
    assert deadline["due_at"].endswith("16:59:59+00:00")  # 23:59:59 in Jakarta


def test_disposition_stops_verification_and_starts_the_response_clock(sla, service_config, repo, deadlines):
    deliver(sla, service_config, opened(), disposed())
    assert stages(repo) == ["response"]
    stages_announced = wait_for(lambda: len(deadlines) == 2 and sorted(d["stage"] for _, d in deadlines))
    assert stages_announced == ["response", "verification"]


def test_an_entry_arriving_before_the_one_it_follows_is_not_lost(sla, service_config, repo):
    deliver(sla, service_config, disposed(), opened())
    # The newer entry is applied; the older one, arriving late, does not reopen verification.
    assert stages(repo) == ["response"]


def test_the_same_event_twice_opens_one_clock(sla, service_config, repo, deadlines):
    event = opened()
    deliver(sla, service_config, event, event)
    assert len(repo.running_clocks("10000004")) == 1
    wait_for(lambda: deadlines, message="deadline_set")
    assert len(deadlines) == 1


def info_requested(version=3):
    return make_updated_event(tracking_id="10000004", version=version, kind="info_requested", status="disposed",
                              previous_status="disposed", agency_code="KOTA-18.72")


def replied(version=4):
    return make_updated_event(tracking_id="10000004", version=version, kind="reply", status="disposed",
                              previous_status="disposed", agency_code="KOTA-18.72")


def test_a_request_for_information_pauses_the_response_clock_until_the_reporter_replies(
        sla, service_config, repo, deadlines):
    deliver(sla, service_config, opened(), disposed())
    [running] = repo.running_clocks("10000004")
    deliver(sla, service_config, info_requested())
    assert stages(repo) == []  # paused: it cannot breach while the agency waits for the reporter
    [paused] = repo.clocks_in_state("10000004", "response", "paused")
    assert 4 <= paused["working_days_left"] <= 5

    deliver(sla, service_config, replied())
    [resumed] = repo.running_clocks("10000004")
    assert resumed["_id"] == running["_id"] and resumed["due_at"] >= running["due_at"]
    announced = wait_for(lambda: [d for _, d in deadlines if d["stage"] == "response"][1:], message="new deadline")
    assert announced[0]["clock_id"] == running["_id"]


def test_a_reply_without_a_pause_changes_no_clock(sla, service_config, repo):
    deliver(sla, service_config, opened(), disposed())
    [before] = repo.running_clocks("10000004")
    deliver(sla, service_config, make_updated_event(tracking_id="10000004", version=3, kind="reply",
                                                    status="disposed", previous_status="disposed"))
    [after] = repo.running_clocks("10000004")
    assert after["due_at"] == before["due_at"]
