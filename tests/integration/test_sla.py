"""SLA on the real bus with a clock the test moves: clocks opened, paused and stopped by timeline entries,
the current deadline announced, warnings and breaches once each, calendar changes, figures, metrics."""
from datetime import datetime, timedelta

import eventlet
import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.sla.domain import WorkingCalendar, jakarta_day
from services.sla.service import SlaService
from services.sla.storage import SlaRepository
from tests.support.bus import service_proxy
from tests.support.clock import TestClock
from tests.support.factories import make_updated_event
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

TRACKING_ID = "10000004"
METRO = "KOTA-18.72"
OFFICER = {"role": "agency_officer", "agency_code": METRO}
NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional"}


@pytest.fixture
def clock(tmp_path):
    return TestClock(tmp_path / "clock-offset")


@pytest.fixture
def heard(start_service):
    cls = make_recorder(("sla", "deadline_set"), ("sla", "deadline_approaching"), ("sla", "deadline_breached"))
    start_service(cls)
    return cls.heard


@pytest.fixture
def sla(start_service, clock, heard):
    return start_service(SlaService, **clock.config())


@pytest.fixture
def repo(open_repo):
    return open_repo(SlaRepository, "lapor_sla")


@pytest.fixture
def rpc(sla, service_config):
    with service_proxy("sla", service_config) as proxy:
        yield proxy


def entry(version, kind, status, previous_status=None, tracking_id=TRACKING_ID, **overrides):
    return make_updated_event(tracking_id=tracking_id, version=version, kind=kind, status=status,
                              previous_status=previous_status, **overrides)


def opened(tracking_id=TRACKING_ID):
    return entry(1, "opened", "received", tracking_id=tracking_id)


def disposed(version=2, case_class=None, tracking_id=TRACKING_ID):
    return entry(version, "disposed", "disposed", "received", tracking_id=tracking_id, agency_code=METRO,
                 agency_name="Pemerintah Kota Metro", case_class=case_class)


def followup(version=3, previous_status="disposed", tracking_id=TRACKING_ID):
    return entry(version, "followup", "in_progress", previous_status, tracking_id=tracking_id, agency_code=METRO,
                 actor=OFFICER)


def deliver(sla, service_config, *events):
    dispatch = event_dispatcher(service_config)
    for event in events:
        with entrypoint_waiter(sla, "on_report_updated"):
            dispatch("tracking", "report_updated", event)


def of_type(heard, event_type):
    return [payload for kind, payload in heard if kind == event_type]


def stages(repo, tracking_id=TRACKING_ID):
    return sorted(clock["stage"] for clock in repo.running_clocks(tracking_id))


def the_clock(repo, stage, tracking_id=TRACKING_ID):
    [clock] = [c for c in repo.clocks_of(tracking_id) if c["stage"] == stage]
    return clock


def parse(iso):
    return datetime.fromisoformat(iso)


def test_opened_starts_the_verification_clock_and_announces_its_deadline(sla, service_config, repo, heard):
    deliver(sla, service_config, opened())
    assert stages(repo) == ["verification"]
    [deadline] = wait_for(lambda: of_type(heard, "deadline_set"), message="deadline_set")
    assert deadline["stage"] == "verification" and deadline["version"] == 1
    assert deadline["due_at"].endswith("16:59:59+00:00")  # 23:59:59 in Jakarta
    clock = the_clock(repo, "verification")
    assert parse(deadline["due_at"]) == WorkingCalendar().due_at(clock["opened_at"], 3) == clock["due_at"]


def test_disposition_stops_verification_and_starts_the_response_clock(sla, service_config, repo, heard):
    deliver(sla, service_config, opened(), disposed())
    assert stages(repo) == ["response"]
    announced = wait_for(lambda: len(of_type(heard, "deadline_set")) == 2 and of_type(heard, "deadline_set"))
    assert sorted(d["stage"] for d in announced) == ["response", "verification"]


def test_an_entry_arriving_before_the_one_it_follows_is_not_lost(sla, service_config, repo):
    deliver(sla, service_config, disposed(), opened())
    # The newer entry is applied; the older one, arriving late, does not reopen verification.
    assert stages(repo) == ["response"]


def test_the_same_event_twice_opens_one_clock(sla, service_config, repo, heard):
    event = opened()
    deliver(sla, service_config, event, event)
    assert len(repo.running_clocks(TRACKING_ID)) == 1
    wait_for(lambda: of_type(heard, "deadline_set"), message="deadline_set")
    assert len(of_type(heard, "deadline_set")) == 1


def test_a_case_class_opens_the_completion_clock_and_views_show_the_nearer_deadline(sla, service_config, repo,
                                                                                      heard):
    deliver(sla, service_config, opened(), disposed(case_class="dispute"))
    assert stages(repo) == ["completion", "response"]
    completion, response = the_clock(repo, "completion"), the_clock(repo, "response")
    assert completion["due_at"] == WorkingCalendar().due_at(completion["opened_at"], 14) > response["due_at"]
    shown = wait_for(lambda: [d for d in of_type(heard, "deadline_set") if d["version"] == 2], message="v2")
    assert [(d["stage"], parse(d["due_at"])) for d in shown] == [("response", response["due_at"])]

    deliver(sla, service_config, entry(3, "completed", "completed", "disposed", actor=OFFICER))
    assert stages(repo) == []
    cleared = wait_for(lambda: [d for d in of_type(heard, "deadline_set") if d["version"] == 3], message="v3")
    assert cleared[0]["due_at"] is None  # no deadline runs any more: the view shows none


def test_a_field_inspection_has_sixty_working_days(sla, service_config, repo):
    deliver(sla, service_config, opened(), disposed(case_class="field_inspection"))
    completion = the_clock(repo, "completion")
    assert completion["due_at"] == WorkingCalendar().due_at(completion["opened_at"], 60)


def test_a_request_for_information_pauses_the_clocks_until_the_reporter_replies(sla, service_config, repo, heard):
    deliver(sla, service_config, opened(), disposed(case_class="dispute"))
    running = the_clock(repo, "response")
    deliver(sla, service_config, entry(3, "info_requested", "disposed", "disposed", actor=OFFICER))
    assert stages(repo) == []  # paused: it cannot breach while the agency waits for the reporter
    paused = the_clock(repo, "response")
    assert paused["state"] == "paused" and 4 <= paused["working_days_left"] <= 5
    assert the_clock(repo, "completion")["state"] == "paused"
    [waiting] = wait_for(lambda: [d for d in of_type(heard, "deadline_set") if d["version"] == 3], message="v3")
    assert waiting["due_at"] is None

    deliver(sla, service_config, entry(4, "reply", "disposed", "disposed", actor={"role": "reporter"}))
    resumed = the_clock(repo, "response")
    assert resumed["state"] == "running" and resumed["due_at"] >= running["due_at"]
    [announced] = wait_for(lambda: [d for d in of_type(heard, "deadline_set") if d["version"] == 4], message="v4")
    assert announced["clock_id"] == running["_id"] and parse(announced["due_at"]) == resumed["due_at"]


def test_a_reply_without_a_pause_changes_no_clock(sla, service_config, repo):
    deliver(sla, service_config, opened(), disposed())
    [before] = repo.running_clocks(TRACKING_ID)
    deliver(sla, service_config, entry(3, "reply", "disposed", "disposed", actor={"role": "reporter"}))
    [after] = repo.running_clocks(TRACKING_ID)
    assert after["due_at"] == before["due_at"]


def test_a_clock_warns_a_working_day_ahead_then_breaches_once(sla, service_config, repo, heard, clock):
    deliver(sla, service_config, opened())
    verification = the_clock(repo, "verification")
    clock.move_to(verification["warn_at"])
    [warning] = wait_for(lambda: of_type(heard, "deadline_approaching"), message="deadline_approaching")
    assert (warning["stage"], warning["clock_id"], warning["version"]) == ("verification", verification["_id"], 1)
    assert parse(warning["due_at"]) == verification["due_at"]
    assert not of_type(heard, "deadline_breached")

    clock.move_to(verification["due_at"])
    [breach] = wait_for(lambda: of_type(heard, "deadline_breached"), message="deadline_breached")
    assert (breach["stage"], breach["clock_id"], breach["version"]) == ("verification", verification["_id"], 1)
    assert the_clock(repo, "verification")["state"] == "breached"
    clock.move_to(verification["due_at"] + timedelta(days=30))
    wait_for(lambda: repo.count_unpublished() == 0, message="nothing owed")
    assert (len(of_type(heard, "deadline_approaching")), len(of_type(heard, "deadline_breached"))) == (1, 1)


def test_an_answered_response_never_breaches_and_the_follow_up_starts_the_automatic_close(
        sla, service_config, repo, heard, clock):
    deliver(sla, service_config, opened(), disposed(), followup())
    response, auto_close = the_clock(repo, "response"), the_clock(repo, "auto_close")
    assert response["state"] == "stopped" and response["answered_at"] is not None
    assert auto_close["due_at"] == WorkingCalendar().due_at(auto_close["opened_at"], 10)

    clock.move_to(response["due_at"] + timedelta(days=1))
    eventlet.sleep(1.0)  # several looks for due clocks
    assert not of_type(heard, "deadline_breached") and not of_type(heard, "deadline_approaching")
    clock.move_to(auto_close["warn_at"])
    [warning] = wait_for(lambda: of_type(heard, "deadline_approaching"), message="the automatic close's warning")
    assert warning["stage"] == "auto_close"
    clock.move_to(auto_close["due_at"])
    [breach] = wait_for(lambda: of_type(heard, "deadline_breached"), message="deadline_breached")
    assert (breach["stage"], breach["version"]) == ("auto_close", 3)


def test_a_reporter_reply_stops_the_automatic_close(sla, service_config, repo, heard, clock):
    deliver(sla, service_config, opened(), disposed(), followup(),
            entry(4, "reply", "in_progress", "in_progress", actor={"role": "reporter"}))
    auto_close = the_clock(repo, "auto_close")
    assert auto_close["state"] == "stopped"
    clock.move_to(auto_close["due_at"] + timedelta(days=1))
    wait_for(lambda: repo.count_unpublished() == 0, message="announcements out")
    eventlet.sleep(1.0)  # several looks for due clocks
    assert not of_type(heard, "deadline_breached")


def test_a_new_holiday_moves_running_deadlines_and_removing_it_moves_them_back(rpc, sla, service_config, repo,
                                                                                heard):
    deliver(sla, service_config, opened())
    before = the_clock(repo, "verification")
    calendar = WorkingCalendar()
    day_off = calendar.nth_working_day_after(jakarta_day(before["opened_at"]), 1)

    changed = rpc.add_holiday(day_off.isoformat(), "Keppres cuti bersama tambahan", NATIONAL_ADMIN)
    assert changed == {"day": day_off.isoformat(), "kind": "holiday", "note": "Keppres cuti bersama tambahan",
                       "rescheduled": 1}
    moved = the_clock(repo, "verification")
    assert moved["due_at"] == WorkingCalendar(added_holidays=[day_off]).due_at(before["opened_at"], 3)
    assert moved["due_at"] > before["due_at"]
    wait_for(lambda: parse(of_type(heard, "deadline_set")[-1]["due_at"]) == moved["due_at"], message="moved")
    [shown] = [d for d in rpc.calendar(day_off.year)["days"] if d["day"] == day_off.isoformat()]
    assert shown["working"] is False and shown["override"]["by"]["username"] == "admin"

    assert rpc.remove_override(day_off.isoformat(), NATIONAL_ADMIN)["rescheduled"] == 1
    assert the_clock(repo, "verification")["due_at"] == before["due_at"]
    wait_for(lambda: parse(of_type(heard, "deadline_set")[-1]["due_at"]) == before["due_at"], message="back")


def test_only_a_national_admin_changes_the_calendar(rpc):
    with pytest.raises(Forbidden):
        rpc.add_working_day("2026-12-26", "Sabtu masuk", {"role": "agency_admin", "agency_code": METRO})
    with pytest.raises(ValidationFailed) as refused:
        rpc.add_holiday("besok", None, NATIONAL_ADMIN)
    assert refused.value.fields["day"][0]["id"].startswith("Tanggal tidak valid")
    with pytest.raises(NotFound):
        rpc.remove_override("2026-12-26", NATIONAL_ADMIN)
    assert rpc.add_working_day("2026-12-26", None, NATIONAL_ADMIN)["rescheduled"] == 0
    [saturday] = [d for d in rpc.calendar(2026)["days"] if d["day"] == "2026-12-26"]
    assert saturday["working"] is True and saturday["name"] is None


def test_the_calendar_of_a_year_names_its_holidays_and_cuti_bersama(rpc):
    days = {d["day"]: d for d in rpc.calendar("2027")["days"]}
    assert days["2027-03-10"]["working"] is False and "Idul Fitri" in days["2027-03-10"]["name"]
    assert days["2027-03-12"]["working"] is False and "Cuti Bersama" in days["2027-03-12"]["name"]
    with pytest.raises(ValidationFailed):
        rpc.calendar(1999)


def test_figures_per_agency_and_period(rpc, sla, service_config, clock, heard, repo):
    deliver(sla, service_config, opened("10000011"), disposed(tracking_id="10000011"), followup(tracking_id="10000011"))
    deliver(sla, service_config, opened("10000028"), disposed(tracking_id="10000028"))
    # The period is the Jakarta days the two response clocks opened on (one day, unless the test straddles
    # midnight in Jakarta, 17:00 UTC), never the test's own idea of today.
    answered, unanswered = the_clock(repo, "response", "10000011"), the_clock(repo, "response", "10000028")
    days = sorted(jakarta_day(c["opened_at"]) for c in (answered, unanswered))
    period = {"agency": METRO, "from": days[0].isoformat(), "to": days[-1].isoformat()}

    [metro] = rpc.figures(period)["agencies"]
    assert {key: metro[key] for key in ("disposed", "answered_in_time", "late", "open", "overdue")} == {
        "disposed": 2, "answered_in_time": 1, "late": 0, "open": 1, "overdue": 0}
    assert metro["compliance_ratio"] == 1.0 and metro["median_first_response_hours"] >= 0
    assert metro["agency"] == {"code": METRO, "name": "Pemerintah Kota Metro"}

    # Past the unanswered one's deadline, however many calendar days its working days span (Lebaran and its
    # cuti bersama, the year end), and before any other clock of the test warns.
    clock.move_to(unanswered["due_at"])
    wait_for(lambda: of_type(heard, "deadline_breached"), message="the unanswered one breached")
    [later] = rpc.figures(period)["agencies"]
    assert (later["open"], later["overdue"], later["compliance_ratio"]) == (0, 1, 0.5)
    [nobody] = rpc.figures({"agency": "KOTA-18.71"})["agencies"]
    assert nobody["disposed"] == 0 and nobody["compliance_ratio"] is None
    with pytest.raises(ValidationFailed):
        rpc.figures({"from": "2026-02-01", "to": "2026-01-01"})


def test_metrics_count_open_clocks_breaches_and_first_responses(sla, service_config, clock, heard, repo):
    deliver(sla, service_config, opened(), disposed(), followup(), opened("10000011"))
    # To 10000011's verification deadline: "ten days on" was not past three working days when they span
    # Lebaran's cuti bersama (from 5 March 2027: due 18 March).
    clock.move_to(the_clock(repo, "verification", "10000011")["due_at"])
    wait_for(lambda: of_type(heard, "deadline_breached"), message="a breach")
    address = sla.config["WEB_SERVER_ADDRESS"]

    def exposition():  # the breach is counted when it goes out, the open-clock gauge at the end of that check
        text = requests.get(f"http://{address}/metrics", timeout=5).text
        return "lapor_sla_breaches_total" in text and 'lapor_sla_open_clocks{stage="auto_close"' in text and text

    text = wait_for(exposition, message="metrics")
    assert 'lapor_sla_breaches_total{agency="none",stage="verification"} 1.0' in text
    assert 'lapor_sla_open_clocks{stage="auto_close",state="running"} 1.0' in text
    assert "lapor_sla_first_response_hours_count 1.0" in text


def test_the_same_figures_query_is_counted_once_a_minute(start_service, clock, service_config, repo):
    """Issue 13 item 12: `/api/v1/stats/sla` is public, and each call read every clock of its period."""
    sla = start_service(SlaService, FIGURES_MAX_AGE_SECONDS=60, **clock.config())
    deliver(sla, service_config, opened("10000011"), disposed(tracking_id="10000011"))
    day = jakarta_day(the_clock(repo, "response", "10000011")["opened_at"])
    period = {"agency": METRO, "from": (day - timedelta(days=1)).isoformat(),
              "to": (day + timedelta(days=1)).isoformat()}
    with service_proxy("sla", service_config) as rpc:
        assert rpc.figures(period)["agencies"][0]["disposed"] == 1
        deliver(sla, service_config, opened("10000028"), disposed(tracking_id="10000028"))  # handled on return
        assert rpc.figures(period)["agencies"][0]["disposed"] == 1  # the count of a moment ago
        assert rpc.figures(dict(period, to=(day + timedelta(days=2)).isoformat()))["agencies"][0]["disposed"] == 2
        clock.move_to(clock.now() + timedelta(seconds=61))
        assert rpc.figures(period)["agencies"][0]["disposed"] == 2
