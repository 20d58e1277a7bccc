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
