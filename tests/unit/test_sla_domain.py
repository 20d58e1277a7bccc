"""SLA's pure logic: Indonesian working days in Asia/Jakarta, what each entry does to the clocks, the current
deadline, and the compliance figures."""
from datetime import date, datetime, timedelta, timezone

import holidays
import pytest
from marshmallow import ValidationError

from services.sla import schemas
from services.sla.domain import (
    JAKARTA, NOTHING, STAGES, WorkingCalendar, agency_figures, answer_time, calendar_view, clock_event, clock_id,
    clock_plan, clocks_to_pause, clocks_to_resume, clocks_to_stop, current_clock, percentile, response_outcome,
    sla_figures, touches_clocks, working_days_for,
)

UTC = timezone.utc
PACKAGE_YEARS = (2025, 2026, 2027)


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


def jakarta(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def end_of_day(year, month, day):
    return datetime(year, month, day, 23, 59, 59, tzinfo=JAKARTA)


def make_event(kind, status="disposed", previous_status="disposed", case_class=None):
    return {"kind": kind, "status": status, "previous_status": previous_status, "case_class": case_class}


# The calendar against the holidays package itself, day by day.

@pytest.mark.parametrize("year", PACKAGE_YEARS)
def test_every_day_of_the_year_agrees_with_the_holidays_package(calendar, year):
    national = holidays.country_holidays("ID", categories=("public", "government"), years=year)
    day = date(year, 1, 1)
    while day.year == year:
        assert calendar.is_working_day(day) is (day.weekday() < 5 and day not in national), day
        day += timedelta(days=1)


@pytest.mark.parametrize("year", PACKAGE_YEARS)
def test_cuti_bersama_are_days_off(calendar, year):
    joint_leave = holidays.country_holidays("ID", categories=("government",), years=year)
    assert len(joint_leave) >= 8  # the package really carries the government category
    assert not any(calendar.is_working_day(day) for day in joint_leave)


@pytest.mark.parametrize("year", PACKAGE_YEARS)
def test_overrides_change_exactly_their_own_days(year):
    national = holidays.country_holidays("ID", categories=("public", "government"), years=year)
    extra_holiday = next(d for d in _days(year) if d.weekday() < 5 and d not in national)
    extra_working_day = next(d for d in sorted(national) if d.weekday() < 5)
    plain, changed = WorkingCalendar(), WorkingCalendar.with_overrides([
        {"day": extra_holiday.isoformat(), "kind": "holiday"},
        {"day": extra_working_day.isoformat(), "kind": "working_day"},
    ])
    differing = [day for day in _days(year) if plain.is_working_day(day) != changed.is_working_day(day)]
    assert differing == sorted([extra_holiday, extra_working_day])


def _days(year):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("day, working", [
    (date(2026, 11, 26), True),    # Thursday
    (date(2026, 11, 27), True),    # Friday
    (date(2026, 11, 28), False),   # Saturday
    (date(2026, 11, 29), False),   # Sunday
    (date(2026, 8, 17), False),    # Independence Day
    (date(2026, 12, 24), False),   # Christmas cuti bersama
    (date(2026, 12, 25), False),   # Christmas
    (date(2026, 12, 28), True),
    (date(2025, 3, 31), False),    # Idul Fitri 1446
    (date(2025, 4, 7), False),     # its last cuti bersama, a Monday
    (date(2025, 4, 8), True),
    (date(2026, 3, 20), False),    # Idul Fitri 1447 cuti bersama
    (date(2026, 3, 23), False),
    (date(2026, 3, 24), False),
    (date(2026, 3, 25), True),
    (date(2027, 3, 9), False),     # Idul Fitri 1448 (estimated by the package) cuti bersama
    (date(2027, 3, 15), False),
    (date(2027, 3, 16), True),
    (date(2026, 1, 1), False),
    (date(2026, 1, 2), True),
])
def test_working_days(calendar, day, working):
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize("start, days, due", [
    # Monday morning, three working days: Thursday.
    (jakarta(2026, 11, 23), 3, end_of_day(2026, 11, 26)),
    # Friday, one working day: over the weekend to Monday.
    (jakarta(2026, 11, 27), 1, end_of_day(2026, 11, 30)),
    # 20:00 UTC on Friday is already Saturday 03:00 in Jakarta; the count starts from Saturday.
    (datetime(2026, 11, 27, 20, 0, tzinfo=UTC), 3, end_of_day(2026, 12, 2)),
    # 20:00 UTC on Thursday is Friday in Jakarta: one working day is Monday, not Friday.
    (datetime(2026, 11, 26, 20, 0, tzinfo=UTC), 1, end_of_day(2026, 11, 30)),
    # 16:59 UTC is 23:59 the same day in Jakarta.
    (datetime(2026, 11, 26, 16, 59, tzinfo=UTC), 1, end_of_day(2026, 11, 27)),
    # Year ends: Christmas, its cuti bersama, the weekend, New Year's Day.
    (jakarta(2025, 12, 24), 3, end_of_day(2025, 12, 31)),
    (jakarta(2025, 12, 24), 5, end_of_day(2026, 1, 5)),
    (jakarta(2026, 12, 23), 1, end_of_day(2026, 12, 28)),
    (jakarta(2026, 12, 23), 5, end_of_day(2027, 1, 4)),
    (jakarta(2027, 12, 23), 1, end_of_day(2027, 12, 27)),
    (jakarta(2027, 12, 23), 10, end_of_day(2028, 1, 7)),
    # 31 December 17:30 UTC is already New Year's Day in Jakarta.
    (datetime(2025, 12, 31, 17, 30, tzinfo=UTC), 1, end_of_day(2026, 1, 2)),
    # Idul Fitri with its cuti bersama: 2025 (with Nyepi's), 2026 (with Nyepi's), 2027.
    (jakarta(2025, 3, 27), 3, end_of_day(2025, 4, 10)),
    (jakarta(2025, 3, 27), 5, end_of_day(2025, 4, 14)),
    (jakarta(2026, 3, 17), 1, end_of_day(2026, 3, 25)),
    (jakarta(2026, 3, 13), 5, end_of_day(2026, 3, 27)),
    (jakarta(2027, 3, 5), 3, end_of_day(2027, 3, 18)),
    # Response: five working days from a Wednesday disposition across Independence Day.
    (jakarta(2026, 8, 12), 5, end_of_day(2026, 8, 20)),
])
def test_due_at_is_end_of_the_nth_working_day_in_jakarta(calendar, start, days, due):
    result = calendar.due_at(start, days)
    assert result == due
    assert result.utcoffset() == due.utcoffset()
    assert (result.hour, result.minute, result.second) == (23, 59, 59)


def test_due_at_starting_on_a_holiday_counts_from_the_next_working_day(calendar):
    assert calendar.due_at(jakarta(2026, 12, 25), 1) == end_of_day(2026, 12, 28)


def test_sixty_working_days_for_a_field_inspection_cross_the_year_end(calendar):
    due = calendar.due_at(jakarta(2025, 11, 3), 60)
    national = holidays.country_holidays("ID", categories=("public", "government"), years=(2025, 2026))
    counted = [d for d in _between(date(2025, 11, 4), due.date()) if d.weekday() < 5 and d not in national]
    assert len(counted) == 60 and counted[-1] == due.date()


def _between(first, last):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# Overrides: a national admin's decree.

def test_added_holiday_pushes_the_deadline():
    calendar = WorkingCalendar(added_holidays=[date(2026, 11, 30)])
    assert not calendar.is_working_day(date(2026, 11, 30))
    assert calendar.due_at(jakarta(2026, 11, 27), 1) == end_of_day(2026, 12, 1)


def test_added_working_day_on_a_saturday_counts():
    calendar = WorkingCalendar(added_working_days=[date(2026, 11, 28)])
    assert calendar.is_working_day(date(2026, 11, 28))
    assert calendar.due_at(jakarta(2026, 11, 27), 1) == end_of_day(2026, 11, 28)


def test_added_working_day_overrides_a_cuti_bersama():
    calendar = WorkingCalendar.with_overrides([{"day": "2026-12-24", "kind": "working_day"}])
    assert calendar.is_working_day(date(2026, 12, 24))
    assert calendar.due_at(jakarta(2026, 12, 23), 1) == end_of_day(2026, 12, 24)


def test_a_new_idul_fitri_decree_moves_a_deadline_across_it():
    """2027's Idul Fitri dates are estimates in the package: a decree adding a day moves deadlines on."""
    decree = WorkingCalendar.with_overrides([{"day": "2027-03-16", "kind": "holiday"}])
    assert decree.due_at(jakarta(2027, 3, 5), 3) == end_of_day(2027, 3, 19)


def test_overrides_do_not_leak_between_calendars(calendar):
    WorkingCalendar(added_holidays=[date(2026, 11, 30)])
    assert calendar.is_working_day(date(2026, 11, 30))


def test_working_days_left_counts_the_days_after_today_up_to_the_due_day():
    calendar = WorkingCalendar()
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=JAKARTA)
    due = calendar.due_at(monday, 5)
    assert calendar.working_days_left(monday, due) == 5
    assert calendar.working_days_left(due, due) == 0
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=JAKARTA)
    assert calendar.working_days_left(friday, due) == 1  # the weekend does not count


@pytest.mark.parametrize("start, days, before, warn", [
    (jakarta(2026, 11, 23), 3, 1, end_of_day(2026, 11, 25)),       # due Thursday: warned at Wednesday's end
    (jakarta(2026, 11, 26), 3, 1, end_of_day(2026, 11, 30)),       # due Tuesday: Monday, over the weekend
    (jakarta(2026, 12, 21), 3, 1, end_of_day(2026, 12, 23)),       # due 28 Dec: before Christmas's days off
    (jakarta(2026, 11, 23), 3, 2, end_of_day(2026, 11, 24)),
    (jakarta(2026, 11, 23), 3, 5, jakarta(2026, 11, 23)),          # not before the clock opened: at once
])
def test_warning_comes_working_days_before_the_deadline(calendar, start, days, before, warn):
    assert calendar.warn_at(start, calendar.due_at(start, days), before) == warn


def test_no_warning_when_set_to_zero(calendar):
    assert calendar.warn_at(jakarta(2026, 11, 23), end_of_day(2026, 11, 26), 0) is None


def test_calendar_view_lists_holidays_with_their_names_and_the_overrides():
    overrides = [{"day": "2026-12-24", "kind": "working_day", "note": "Keppres baru", "by": {"username": "a"},
                  "at": datetime(2026, 11, 1, tzinfo=UTC)},
                 {"day": "2026-11-30", "kind": "holiday", "note": None, "by": None, "at": None},
                 {"day": "2027-01-04", "kind": "holiday", "note": None, "by": None, "at": None}]
    days = {item["day"]: item for item in calendar_view(2026, overrides)}
    assert days["2026-03-20"]["working"] is False and "Idul Fitri" in days["2026-03-20"]["name"]
    assert days["2026-12-24"]["working"] is True and days["2026-12-24"]["override"]["note"] == "Keppres baru"
    assert days["2026-11-30"] == {"day": "2026-11-30", "working": False, "name": None,
                                  "override": {"kind": "holiday", "note": None, "by": None, "at": None}}
    assert "2027-01-04" not in days and all(day.startswith("2026-") for day in days)


# Which clocks an entry opens, stops, pauses.

@pytest.mark.parametrize("event, stop, opened", [
    (make_event("opened", "received", None), (), ("verification",)),
    (make_event("disposed", "disposed", "received"), STAGES, ("response",)),
    (make_event("disposed", "disposed", "verified", "dispute"), STAGES, ("response", "completion")),
    (make_event("disposed", "disposed", "disposed", "field_inspection"), STAGES, ("response", "completion")),
    (make_event("disposed", "disposed", "disposed", "standard"), STAGES, ("response",)),
    (make_event("escalated", "in_progress", "in_progress", "dispute"), STAGES, ("response", "completion")),
    (make_event("reopened", "in_progress", "completed"), STAGES, ("response",)),
    (make_event("declined", "received", "disposed", "dispute"), STAGES, ("verification",)),
    (make_event("declined", "disposed", "disposed"), STAGES, ("response",)),
    (make_event("followup", "in_progress", "disposed"), ("response", "auto_close"), ("auto_close",)),
    (make_event("followup", "in_progress", "in_progress"), ("response", "auto_close"), ("auto_close",)),
    (make_event("reply", "in_progress", "in_progress"), ("auto_close",), ()),
    (make_event("completed", "completed", "in_progress"), STAGES, ()),
    (make_event("rejected", "rejected", "received"), STAGES, ()),
    (make_event("archived", "archived", "completed"), STAGES, ()),
])
def test_clock_plan(event, stop, opened):
    plan = clock_plan(event)
    assert (tuple(plan.stop), tuple(plan.open)) == (stop, opened)


@pytest.mark.parametrize("kind, pause, resume", [("info_requested", True, False), ("reply", False, True),
                                                 ("followup", False, False), ("disposed", False, False)])
def test_only_a_request_for_information_and_the_reply_pause_and_resume(kind, pause, resume):
    plan = clock_plan(make_event(kind))
    assert (plan.pause, plan.resume) == (pause, resume)


@pytest.mark.parametrize("kind", ["verified", "rated", "duplicate_linked", "access_code_reissued", "something_new"])
def test_entries_that_leave_the_clocks_alone(kind):
    plan = clock_plan(make_event(kind))
    assert plan == NOTHING and not touches_clocks(plan)


@pytest.mark.parametrize("stage, case_class, days", [
    ("verification", None, 3),
    ("response", None, 5),
    ("auto_close", None, 10),
    ("completion", "dispute", 14),
    ("completion", "field_inspection", 60),
    ("completion", None, None),
    ("completion", "standard", None),
])
def test_working_days_per_stage(stage, case_class, days):
    assert working_days_for(stage, case_class) == days


def test_clock_id_names_report_stage_and_version():
    assert clock_id("10000004", "response", 3) == "10000004:response:3"
    assert clock_id("10000004", "response", 3) != clock_id("10000004", "response", 4)


def make_clock(stage="response", state="running", version=2, due=end_of_day(2026, 11, 30), **overrides):
    clock = {"_id": clock_id("10000004", stage, version), "clock_id": clock_id("10000004", stage, version),
             "tracking_id": "10000004", "stage": stage, "state": state, "version": version, "due_at": due,
             "opened_at": jakarta(2026, 11, 23), "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro",
             "answered_at": None, "missed": False}
    clock.update(overrides)
    return clock


def test_an_entry_stops_only_open_clocks_of_its_stages_opened_before_it():
    clocks = [make_clock(version=2), make_clock(version=4), make_clock("completion", version=2),
              make_clock(state="stopped", version=1), make_clock(state="breached", version=3)]
    stopped = clocks_to_stop(clocks, ("response",), version=4)
    assert [c["version"] for c in stopped] == [2, 3]


def test_waiting_for_the_reporter_pauses_response_and_completion_but_not_auto_close():
    clocks = [make_clock(), make_clock("completion"), make_clock("auto_close"), make_clock(state="breached")]
    assert [c["stage"] for c in clocks_to_pause(clocks, version=5)] == ["response", "completion"]
    paused = [dict(c, state="paused") for c in clocks[:3]]
    assert [c["stage"] for c in clocks_to_resume(paused)] == ["response", "completion"]


@pytest.mark.parametrize("role, stage, answered", [
    ("agency_officer", "response", True), ("agency_admin", "response", True),
    ("system", "response", False), ("national_admin", "response", False), ("agency_admin", "completion", False),
])
def test_only_the_holders_own_action_answers_the_response_clock(role, stage, answered):
    event = {"actor": {"role": role}, "at": jakarta(2026, 11, 25)}
    assert (answer_time(make_clock(stage), event) is not None) is answered


def test_the_current_deadline_is_the_earliest_live_clock():
    response = make_clock(due=end_of_day(2026, 11, 30))
    completion = make_clock("completion", due=end_of_day(2026, 12, 10))
    assert current_clock([completion, response])["stage"] == "response"
    missed = make_clock(state="breached", due=end_of_day(2026, 11, 20))
    assert current_clock([completion, missed])["state"] == "breached"  # late, and the view says so
    assert current_clock([dict(response, state="paused"), dict(completion, state="stopped")]) is None


def test_a_breach_rebuilds_the_same_event_each_time():
    clock = make_clock(state="breached", breach_event_id="b-1", breached_at=jakarta(2026, 12, 1))
    event = clock_event("breach", clock)
    assert event == clock_event("breach", clock)
    assert (event["event_id"], event["stage"], event["version"], event["agency_code"]) == (
        "b-1", "response", 2, "KOTA-18.72")
    assert event["due_at"] == clock["due_at"] and event["emitted_at"] == clock["breached_at"]


# Figures.

NOW = jakarta(2026, 12, 2)


@pytest.mark.parametrize("overrides, outcome", [
    ({"state": "stopped", "answered_at": jakarta(2026, 11, 25)}, "answered_in_time"),
    ({"state": "stopped", "answered_at": jakarta(2026, 12, 1), "missed": True}, "late"),
    ({"state": "stopped", "answered_at": jakarta(2026, 12, 1)}, "late"),  # answered before the timer noticed
    ({"state": "stopped", "missed": True}, "late"),                       # escalated after missing it
    ({"state": "stopped"}, "withdrawn"),                                  # re-routed in time by someone else
    ({"state": "running", "due_at": end_of_day(2026, 12, 4)}, "open"),
    ({"state": "paused"}, "open"),
    ({"state": "running"}, "overdue"),                                    # due, not yet claimed by the timer
    ({"state": "breached", "missed": True}, "overdue"),
])
def test_response_outcome(overrides, outcome):
    assert response_outcome(make_clock(**overrides), NOW) == outcome


def test_percentile_interpolates():
    assert percentile([], 50) is None
    assert percentile([4.0], 90) == 4.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)


def test_agency_figures():
    opened = jakarta(2026, 11, 23)
    clocks = [
        make_clock(state="stopped", answered_at=opened + timedelta(hours=2)),
        make_clock(state="stopped", answered_at=opened + timedelta(hours=4)),
        make_clock(state="stopped", answered_at=opened + timedelta(days=9), missed=True),
        make_clock(state="breached", missed=True),
        make_clock(state="running", due_at=end_of_day(2026, 12, 4)),
        make_clock(state="stopped"),
    ]
    figures = agency_figures("KOTA-18.72", clocks, NOW)
    assert figures == {
        "agency": {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"},
        "disposed": 6, "answered_in_time": 2, "late": 1, "open": 1, "overdue": 1,
        "median_first_response_hours": 4.0, "p90_first_response_hours": 173.6,
        "compliance_ratio": 0.5,
    }


def test_figures_per_agency_and_an_agency_with_nothing_decided_has_no_ratio():
    clocks = [make_clock(agency_code="B"), make_clock(agency_code="A", state="running", due_at=end_of_day(2026, 12, 4))]
    figures = sla_figures(clocks, NOW)
    assert [f["agency"]["code"] for f in figures] == ["A", "B"]
    assert figures[0]["compliance_ratio"] is None and figures[0]["median_first_response_hours"] is None
    assert figures[1]["overdue"] == 1 and figures[1]["compliance_ratio"] == 0.0


@pytest.mark.parametrize("query, expected", [
    ({}, (date(2026, 11, 3), date(2026, 12, 2))),
    ({"from_": date(2026, 1, 1)}, (date(2026, 1, 1), date(2026, 12, 2))),
    ({"to": date(2026, 6, 30)}, (date(2026, 6, 1), date(2026, 6, 30))),
    ({"from_": date(2026, 6, 1), "to": date(2026, 6, 1)}, (date(2026, 6, 1), date(2026, 6, 1))),
])
def test_the_figures_period_defaults_to_the_last_thirty_days(query, expected):
    assert schemas.period(query, date(2026, 12, 2)) == expected


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-06-02", "to": "2026-06-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-06-01"}, "to"),
    ({"from": "kemarin"}, "from"),
    ({"page": "2"}, "page"),
])
def test_the_figures_query_refuses(query, field):
    with pytest.raises(Exception) as refused:
        schemas.FiguresQuerySchema().load(query)
    assert field in refused.value.messages


@pytest.mark.parametrize("query, refused", [
    ({"from": "2025-12-01", "to": "2026-12-02"}, True),  # 367 days, both ends counted
    ({"from": "2025-12-02", "to": "2026-12-02"}, False),  # 366
    ({"from": "2025-12-02"}, False),
    ({"from": "2025-12-01"}, True),  # issue 13 item 12: `from` alone reached back to 2000 (every clock read)
    ({"from": "2000-01-01"}, True),
])
def test_a_figures_period_is_at_most_a_year_however_it_is_given(query, refused):
    def loaded():
        return schemas.period(schemas.FiguresQuerySchema().load(query), date(2026, 12, 2))

    if refused:
        with pytest.raises(ValidationError) as caught:
            loaded()
        assert caught.value.messages in ({"to": [schemas.TOO_LONG]}, {"from": [schemas.TOO_LONG]})
    else:
        assert loaded()[1] == date(2026, 12, 2)
