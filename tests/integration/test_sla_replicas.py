"""Two sla replicas on one broker and one store: every warning and every breach goes out exactly once."""
from datetime import timedelta

import eventlet
import requests

from services.common.events import now
from services.sla.domain import new_clock
from services.sla.service import SlaService
from services.sla.storage import SlaRepository
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

DUE = 60
APPROACHING = 20


def clock_for(number, due_at, warn_at):
    event = {"tracking_id": f"2{number:07d}", "version": 2, "at": now() - timedelta(days=8),
             "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro", "case_class": None}
    return new_clock(event, "response", 5, due_at, warn_at)


def counter_total(container, name):
    text = requests.get(f"http://{container.config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(f"{name}{{"))


def test_two_replicas_fire_each_warning_and_each_breach_once(start_service, open_repo):
    repo = open_repo(SlaRepository, "lapor_sla")
    for number in range(DUE):  # past their deadline (and their warning point) before any replica starts
        repo.open_clock(clock_for(number, now() - timedelta(minutes=5), now() - timedelta(days=1)))
    for number in range(DUE, DUE + APPROACHING):  # past their warning point only
        repo.open_clock(clock_for(number, now() + timedelta(days=1), now() - timedelta(minutes=5)))
    recorder = make_recorder(("sla", "deadline_breached"), ("sla", "deadline_approaching"))
    start_service(recorder)

    replicas = [start_service(SlaService, CHECK_SECONDS=0.05) for _ in range(2)]

    def of_type(event_type):
        return [payload for kind, payload in recorder.heard if kind == event_type]

    wait_for(lambda: len(of_type("deadline_breached")) >= DUE, message=f"{DUE} breaches")
    wait_for(lambda: len(of_type("deadline_approaching")) >= APPROACHING, message=f"{APPROACHING} warnings")
    eventlet.sleep(1.0)  # many more looks by both replicas
    breached = [event["clock_id"] for event in of_type("deadline_breached")]
    warned = [event["clock_id"] for event in of_type("deadline_approaching")]
    assert len(breached) == len(set(breached)) == DUE
    assert len(warned) == len(set(warned)) == APPROACHING
    assert set(breached).isdisjoint(warned)  # a clock already due gets its breach, not a late warning
    # Both replicas claimed (about half each when measured), and together exactly once per clock.
    assert sum(counter_total(replica, "lapor_sla_breaches_total") for replica in replicas) == DUE
    assert repo.count_unpublished() == 0
