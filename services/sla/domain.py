"""SLA's pure logic: the Indonesian working-day calendar and which clocks a timeline entry opens or stops."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

JAKARTA = ZoneInfo("Asia/Jakarta")
END_OF_DAY = time(23, 59, 59)

STAGE_WORKING_DAYS = {"verification": 3, "response": 5, "auto_close": 10}
COMPLETION_WORKING_DAYS = {"dispute": 14, "field_inspection": 60}
STAGES = ("verification", "response", "completion", "auto_close")
FINAL_KINDS = frozenset({"completed", "rejected", "archived"})


class WorkingCalendar:
    """Weekdays that are neither national holidays nor cuti bersama (holidays: ID, public + government).

    `added_holidays` and `added_working_days` are the overrides national admins set for a new decree.
    """

    def __init__(self, added_holidays=(), added_working_days=()):
        self._holidays = holidays.country_holidays("ID", categories=("public", "government"))
        self._added_holidays = set(added_holidays)
        self._added_working_days = set(added_working_days)

    def is_working_day(self, day):
        if day in self._added_working_days:
            return True
        if day in self._added_holidays:
            return False
        return day.weekday() < 5 and day not in self._holidays

    def nth_working_day_after(self, start_day, count):
        day = start_day
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_left(self, at, due_at):
        """Working days after the day `at` falls on, up to and including the due day (Jakarta)."""
        day, due_day = at.astimezone(JAKARTA).date(), due_at.astimezone(JAKARTA).date()
        left = 0
        while day < due_day:
            day += timedelta(days=1)
            left += self.is_working_day(day)
        return left

    def due_at(self, start, working_days):
        """End of the `working_days`-th working day after the day `start` falls on in Jakarta."""
        start_day = start.astimezone(JAKARTA).date()
        return datetime.combine(self.nth_working_day_after(start_day, working_days), END_OF_DAY, tzinfo=JAKARTA)


def clock_plan(event):
    """(stages to stop, stage to open or None) for one `report_updated` entry."""
    kind, status = event["kind"], event["status"]
    if kind == "opened":
        return (), "verification"
    if kind in FINAL_KINDS:
        return STAGES, None
    if kind in ("disposed", "escalated", "reopened"):
        return ("verification", "response"), "response"
    if kind == "declined":
        return ("response",), ("verification" if status == "received" else "response")
    if kind == "followup" and event.get("previous_status") == "disposed":
        return ("response",), None
    return (), None


# The response clock waits while the agency waits for the reporter (DESIGN §1).
PAUSES = {"info_requested": "pause", "reply": "resume"}
PAUSABLE_STAGE = "response"


def pause_action(event):
    """'pause', 'resume' or None: what a timeline entry does to the response clock."""
    return PAUSES.get(event["kind"])


def working_days_for(stage, case_class=None):
    if stage == "completion":
        return COMPLETION_WORKING_DAYS.get(case_class or "", None)
    return STAGE_WORKING_DAYS[stage]


def clock_id(tracking_id, stage, version):
    return f"{tracking_id}:{stage}:{version}"


