"""SLA's pure logic: Indonesian working days in Asia/Jakarta, and which clocks each entry opens or stops."""
from datetime import date, datetime, timezone

import pytest

from services.sla.domain import (
    JAKARTA, STAGES, WorkingCalendar, clock_id, clock_plan, pause_action, working_days_for,
)

UTC = timezone.utc


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar()


def jakarta(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def end_of_day(year, month, day):
    return datetime(year, month, day, 23, 59, 59, tzinfo=JAKARTA)


def make_event(kind, status="disposed", previous_status="disposed"):
    return {"kind": kind, "status": status, "previous_status": previous_status}


@pytest.mark.parametrize("day, working", [
    (date(2026, 11, 26), True),    # Thursday
    (date(2026, 11, 27), True),    # Friday
    (date(2026, 11, 28), False),   # Saturday
    (date(2026, 11, 29), False),   # Sunday
    (date(2026, 8, 17), False),    # Independence Day
    (date(2026, 12, 24), False),   # Christmas cuti bersama
    (date(2026, 12, 25), False),   # Christmas
    (date(2026, 12, 28), True),
    (date(2026, 3, 20), False),    # Eid al-Fitr cuti bersama
    (date(2026, 3, 23), False),    # Eid al-Fitr cuti bersama
    (date(2026, 3, 24), False),    # Eid al-Fitr cuti bersama
    (date(2026, 3, 25), True),
    (date(2026, 1, 1), False),
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
    # Christmas Eve (cuti bersama) and Christmas, then the weekend.
    (jakarta(2026, 12, 23), 1, end_of_day(2026, 12, 28)),
    (jakarta(2026, 12, 23), 3, end_of_day(2026, 12, 30)),
    # Nyepi and its joint holiday (18-19 March), Eid al-Fitr with its joint holidays (20-24 March).
    (jakarta(2026, 3, 17), 1, end_of_day(2026, 3, 25)),
    (jakarta(2026, 3, 13), 5, end_of_day(2026, 3, 27)),
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


def test_added_holiday_pushes_the_deadline():
    calendar = WorkingCalendar(added_holidays=[date(2026, 11, 30)])
    assert not calendar.is_working_day(date(2026, 11, 30))
    assert calendar.due_at(jakarta(2026, 11, 27), 1) == end_of_day(2026, 12, 1)


def test_added_working_day_on_a_saturday_counts():
    calendar = WorkingCalendar(added_working_days=[date(2026, 11, 28)])
    assert calendar.is_working_day(date(2026, 11, 28))
    assert calendar.due_at(jakarta(2026, 11, 27), 1) == end_of_day(2026, 11, 28)


def test_added_working_day_overrides_a_national_holiday():
    calendar = WorkingCalendar(added_working_days=[date(2026, 12, 24)])
    assert calendar.is_working_day(date(2026, 12, 24))
    assert calendar.due_at(jakarta(2026, 12, 23), 1) == end_of_day(2026, 12, 24)


def test_overrides_do_not_leak_between_calendars(calendar):
    WorkingCalendar(added_holidays=[date(2026, 11, 30)])
    assert calendar.is_working_day(date(2026, 11, 30))


@pytest.mark.parametrize("event, plan", [
    (make_event("opened", "received", None), ((), "verification")),
    (make_event("disposed", "disposed", "received"), (("verification", "response"), "response")),
    (make_event("disposed", "disposed", "verified"), (("verification", "response"), "response")),
    (make_event("disposed", "disposed", "disposed"), (("verification", "response"), "response")),
    (make_event("escalated", "in_progress", "in_progress"), (("verification", "response"), "response")),
    (make_event("reopened", "in_progress", "completed"), (("verification", "response"), "response")),
    (make_event("declined", "received", "disposed"), (("response",), "verification")),
    (make_event("declined", "disposed", "disposed"), (("response",), "response")),
    (make_event("followup", "in_progress", "disposed"), (("response",), None)),
    (make_event("followup", "in_progress", "in_progress"), ((), None)),
    (make_event("completed", "completed", "in_progress"), (STAGES, None)),
    (make_event("rejected", "rejected", "received"), (STAGES, None)),
    (make_event("archived", "archived", "completed"), (STAGES, None)),
    (make_event("verified", "verified", "received"), ((), None)),
    (make_event("rated", "completed", "completed"), ((), None)),
    (make_event("something_new", "disposed", "disposed"), ((), None)),
])
def test_clock_plan(event, plan):
    to_stop, to_open = clock_plan(event)
    assert (tuple(to_stop), to_open) == plan


def test_final_kinds_stop_every_stage():
    assert set(clock_plan(make_event("completed", "completed"))[0]) == {
        "verification", "response", "completion", "auto_close"}


@pytest.mark.parametrize("stage, case_class, days", [
    ("verification", None, 3),
    ("response", None, 5),
    ("auto_close", None, 10),
    ("completion", "dispute", 14),
    ("completion", "field_inspection", 60),
    ("completion", None, None),
    ("completion", "unknown", None),
])
def test_working_days_per_stage(stage, case_class, days):
    assert working_days_for(stage, case_class) == days


def test_clock_id_names_report_stage_and_version():
    assert clock_id("10000004", "response", 3) == "10000004:response:3"
    assert clock_id("10000004", "response", 3) != clock_id("10000004", "response", 4)


def test_working_days_left_counts_the_days_after_today_up_to_the_due_day():
    calendar = WorkingCalendar()
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=JAKARTA)
    due = calendar.due_at(monday, 5)
    assert calendar.working_days_left(monday, due) == 5
    assert calendar.working_days_left(due, due) == 0
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=JAKARTA)
    assert calendar.working_days_left(friday, due) == 1  # the weekend does not count


@pytest.mark.parametrize("kind, action", [("info_requested", "pause"), ("reply", "resume"), ("followup", None),
                                          ("disposed", None)])
def test_only_a_request_for_information_and_the_reply_pause_and_resume(kind, action):
    assert pause_action({"kind": kind}) == action
