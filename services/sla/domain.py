"""SLA's pure logic: the Indonesian working-day calendar, what each timeline entry does to a report's clocks,
the report's current deadline, and the per-agency compliance figures."""
import math
from collections import Counter, defaultdict, namedtuple
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

JAKARTA = ZoneInfo("Asia/Jakarta")
END_OF_DAY = time(23, 59, 59)
HOLIDAY_CATEGORIES = ("public", "government")  # government = cuti bersama (joint leave days)

STAGE_WORKING_DAYS = {"verification": 3, "response": 5, "auto_close": 10}
COMPLETION_WORKING_DAYS = {"dispute": 14, "field_inspection": 60}
STAGES = ("verification", "response", "completion", "auto_close")
FINAL_KINDS = frozenset({"completed", "rejected", "archived"})
# Entries that give the report to a (new) holder: its response clock, and completion clock, start again.
HANDOVER_KINDS = frozenset({"disposed", "escalated", "reopened"})
# Waiting for the reporter stops the agency's clocks; the reply starts them again (DESIGN §1).
PAUSABLE_STAGES = ("response", "completion")
HOLDER_ROLES = frozenset({"agency_admin", "agency_officer"})

# A clock is `running`, `paused` (waiting for the reporter), `breached` (missed, still with its holder)
# or `stopped`. Running and breached clocks are the live ones: a view shows the earliest of them.
LIVE_STATES = ("running", "breached")
OPEN_STATES = ("running", "paused", "breached")
OVERRIDE_KINDS = ("holiday", "working_day")

# The national calendar, shared by every WorkingCalendar: the package computes each year once and caches it.
NATIONAL_HOLIDAYS = holidays.country_holidays("ID", categories=HOLIDAY_CATEGORIES, language="id")


class WorkingCalendar:
    """Weekdays that are neither national holidays nor cuti bersama (holidays: ID, public + government).

    `added_holidays` and `added_working_days` are the overrides national admins set for a new decree.
    """

    def __init__(self, added_holidays=(), added_working_days=()):
        self._added_holidays = set(added_holidays)
        self._added_working_days = set(added_working_days)

    @classmethod
    def with_overrides(cls, overrides):
        """From stored overrides: [{"day": "2026-11-30", "kind": "holiday" | "working_day"}]."""
        days = {kind: [date.fromisoformat(o["day"]) for o in overrides if o["kind"] == kind] for kind in OVERRIDE_KINDS}
        return cls(added_holidays=days["holiday"], added_working_days=days["working_day"])

    def is_working_day(self, day):
        if day in self._added_working_days:
            return True
        if day in self._added_holidays:
            return False
        return day.weekday() < 5 and day not in NATIONAL_HOLIDAYS

    def nth_working_day_after(self, start_day, count):
        day = start_day
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def nth_working_day_before(self, end_day, count):
        day = end_day
        remaining = count
        while remaining > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_left(self, at, due_at):
        """Working days after the day `at` falls on, up to and including the due day (Jakarta)."""
        day, due_day = jakarta_day(at), jakarta_day(due_at)
        left = 0
        while day < due_day:
            day += timedelta(days=1)
            left += self.is_working_day(day)
        return left

    def due_at(self, start, working_days):
        """End of the `working_days`-th working day after the day `start` falls on in Jakarta."""
        return end_of(self.nth_working_day_after(jakarta_day(start), working_days))

    def warn_at(self, start, due_at, working_days_before):
        """End of the working day `working_days_before` working days before the due day; never before
        `start` (a short clock warns at once); None when warnings are off (0)."""
        if working_days_before <= 0:
            return None
        return max(start, end_of(self.nth_working_day_before(jakarta_day(due_at), working_days_before)))


def jakarta_day(at):
    return at.astimezone(JAKARTA).date()


def end_of(day):
    return datetime.combine(day, END_OF_DAY, tzinfo=JAKARTA)


def start_of(day):
    return datetime.combine(day, time.min, tzinfo=JAKARTA)


def calendar_view(year, overrides):
    """A year's days that are not plain Monday–Friday working days, or that an override touches.

    Each: {"day", "working" (the effective answer), "name" (the national holiday, Indonesian), "override"}."""
    national = holidays.country_holidays("ID", categories=HOLIDAY_CATEGORIES, language="id", years=year)
    by_day = {date.fromisoformat(o["day"]): o for o in overrides if o["day"].startswith(f"{year:04d}-")}
    calendar = WorkingCalendar.with_overrides(by_day.values())
    return [
        {"day": day.isoformat(), "working": calendar.is_working_day(day), "name": national.get(day),
         "override": _override_view(by_day.get(day))}
        for day in sorted(set(national) | set(by_day))
    ]


def _override_view(override):
    if override is None:
        return None
    return {"kind": override["kind"], "note": override.get("note"), "by": override.get("by"),
            "at": override["at"].isoformat() if override.get("at") else None}


# What one timeline entry does to a report's clocks.
Plan = namedtuple("Plan", "stop open pause resume")
NOTHING = Plan((), (), False, False)


def clock_plan(event):
    """The stages a `report_updated` entry stops and opens, and whether it pauses or resumes the agency's clocks."""
    kind, status = event["kind"], event["status"]
    if kind == "opened":
        return Plan((), ("verification",), False, False)
    if kind in FINAL_KINDS:
        return Plan(STAGES, (), False, False)
    if kind == "declined" and status == "received":
        return Plan(STAGES, ("verification",), False, False)  # back in the national queue
    if kind in HANDOVER_KINDS or kind == "declined":
        return Plan(STAGES, holder_stages(event.get("case_class")), False, False)
    if kind == "followup":
        # Any follow-up answers the response clock; each one gives the reporter ten days to reply.
        return Plan(("response", "auto_close"), ("auto_close",), False, False)
    if kind == "info_requested":
        return Plan((), (), True, False)
    if kind == "reply":
        return Plan(("auto_close",), (), False, True)
    return NOTHING


def touches_clocks(plan):
    return plan != NOTHING


def holder_stages(case_class):
    return ("response", "completion") if case_class in COMPLETION_WORKING_DAYS else ("response",)


def working_days_for(stage, case_class=None):
    if stage == "completion":
        return COMPLETION_WORKING_DAYS.get(case_class or "", None)
    return STAGE_WORKING_DAYS[stage]


def clock_id(tracking_id, stage, version):
    return f"{tracking_id}:{stage}:{version}"


def new_clock(event, stage, working_days, due_at, warn_at):
    at = event["at"]
    return {
        "_id": clock_id(event["tracking_id"], stage, event["version"]),
        "clock_id": clock_id(event["tracking_id"], stage, event["version"]),
        "tracking_id": event["tracking_id"],
        "stage": stage,
        "version": event["version"],
        "agency_code": event.get("agency_code"),
        "agency_name": event.get("agency_name"),
        "case_class": event.get("case_class"),
        # Public figures leave a confidential report out (issue 13 item 9); the officers' oversight keeps it.
        "confidential": bool(event.get("confidential")),
        "state": "running",
        "opened_at": at,
        "working_days": working_days,
        # The deadline is `counted_days` working days after `counted_from_at` (moved on by a resume).
        "counted_from_at": at,
        "counted_days": working_days,
        "due_at": due_at,
        "warn_at": warn_at,
        "warned": False,
        "missed": False,
        "answered_at": None,
    }


def clocks_to_stop(clocks, stages, version):
    """Open clocks of these stages opened by older entries (a redelivery must not stop its own entry's clock)."""
    return [c for c in clocks if c["stage"] in stages and c["state"] in OPEN_STATES and c["version"] < version]


def clocks_to_pause(clocks, version):
    return [c for c in clocks if c["stage"] in PAUSABLE_STAGES and c["state"] == "running" and c["version"] < version]


def clocks_to_resume(clocks):
    return [c for c in clocks if c["stage"] in PAUSABLE_STAGES and c["state"] == "paused"]


def answer_time(clock, event):
    """When the holder answered: a response clock stopped by the holder's own action (follow-up, completion,
    decline, disposition on to a unit). A clock taken away by someone else was not answered."""
    if clock["stage"] == "response" and event["actor"]["role"] in HOLDER_ROLES:
        return event["at"]
    return None


def current_clock(clocks):
    """The report's current deadline: the earliest live clock (running, or missed and still held)."""
    live = [c for c in clocks if c["state"] in LIVE_STATES]
    return min(live, key=lambda c: (c["due_at"], STAGES.index(c["stage"])), default=None)


def deadline_event(clock, event_id, emitted_at, version, due_at):
    """A `deadline_set`, `deadline_approaching` or `deadline_breached` payload (DESIGN §3)."""
    return {
        "event_id": event_id,
        "tracking_id": clock["tracking_id"],
        "emitted_at": emitted_at,
        "schema": 1,
        "stage": clock["stage"],
        "clock_id": clock["clock_id"],
        "due_at": due_at,
        "agency_code": clock.get("agency_code"),
        "version": version,
    }


# Figures: what became of each response clock (one per disposition to an agency).
OUTCOMES = ("answered_in_time", "late", "open", "overdue")


def response_outcome(clock, now):
    """'answered_in_time', 'late' (answered after the deadline, or taken away after missing it), 'open',
    'overdue' (missed and still unanswered), or 'withdrawn' (handed on by someone else in time)."""
    answered = clock.get("answered_at")
    if answered is not None:
        return "answered_in_time" if answered <= clock["due_at"] else "late"
    if clock["state"] == "stopped":
        return "late" if clock.get("missed") else "withdrawn"
    if clock["state"] == "paused":
        return "open"
    return "overdue" if clock["state"] == "breached" or clock["due_at"] < now else "open"


def percentile(values, p):
    """Linear-interpolated percentile of `values` (0–100); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rounded(value, digits=2):
    return round(value, digits) if value is not None else None


def agency_figures(code, clocks, now):
    outcomes = Counter(response_outcome(clock, now) for clock in clocks)
    hours = [(c["answered_at"] - c["opened_at"]).total_seconds() / 3600 for c in clocks if c.get("answered_at")]
    decided = outcomes["answered_in_time"] + outcomes["late"] + outcomes["overdue"]
    names = [c.get("agency_name") for c in clocks if c.get("agency_name")]
    return {
        "agency": {"code": code, "name": names[-1] if names else None},
        "disposed": len(clocks),
        **{outcome: outcomes[outcome] for outcome in OUTCOMES},
        "median_first_response_hours": _rounded(percentile(hours, 50)),
        "p90_first_response_hours": _rounded(percentile(hours, 90)),
        "compliance_ratio": _rounded(outcomes["answered_in_time"] / decided, 4) if decided else None,
    }


def sla_figures(clocks, now):
    """Per agency, from its response clocks opened in the period (clocks sorted by `opened_at`)."""
    by_agency = defaultdict(list)
    for clock in clocks:
        if clock.get("agency_code"):
            by_agency[clock["agency_code"]].append(clock)
    return [agency_figures(code, by_agency[code], now) for code in sorted(by_agency)]


def period_bounds(first_day, last_day):
    """[start of the first day, start of the day after the last) in Jakarta."""
    return start_of(first_day), start_of(last_day + timedelta(days=1))


CLOCK_EVENT_AT = {"breach": "breached_at", "warning": "warned_at"}


def clock_event(kind, clock):
    """The breach or warning a claim recorded on a clock, rebuilt the same each time (one event id)."""
    return deadline_event(clock, clock[f"{kind}_event_id"], clock[CLOCK_EVENT_AT[kind]], clock["version"],
                          clock["due_at"])
