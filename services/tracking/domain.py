"""Tracking's pure logic: the transition table (DESIGN §1), the actions on it, who sees what, and the views."""
import hashlib
import hmac
from collections import namedtuple
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

from services.common.events import submitted_by_api_key
from services.common.addresses import counted_address
from services.common.keys import keyed_hash

STATUSES = ("received", "verified", "disposed", "in_progress", "completed", "rejected", "archived")
FINAL_STATUSES = frozenset({"completed", "rejected", "archived"})
OPEN_STATUSES = tuple(status for status in STATUSES if status not in FINAL_STATUSES)


def _same(*statuses):
    return {status: {status} for status in statuses}


# kind of timeline entry → {status before: statuses allowed after}. The whole list; nothing else moves.
TRANSITIONS = {
    "verified": {"received": {"verified"}},
    "rejected": {"received": {"rejected"}},
    "disposed": {"received": {"disposed"}, "verified": {"disposed"}, "disposed": {"disposed"}},
    "declined": {"disposed": {"disposed", "received"}},
    "escalated": _same("disposed", "in_progress"),
    "followup": {"disposed": {"in_progress"}, "in_progress": {"in_progress"}},
    "info_requested": _same("disposed", "in_progress"),
    "reply": _same("disposed", "in_progress"),
    "completed": {"disposed": {"completed"}, "in_progress": {"completed"}},
    "reopened": {"completed": {"in_progress"}},
    "archived": {status: {"archived"} for status in STATUSES if status != "archived"},
    "rated": _same("completed"),
    "duplicate_linked": _same(*OPEN_STATUSES),
    "access_code_reissued": _same(*STATUSES),
}

# Entries the public never sees (they concern the reporter and the holder only).
PRIVATE_KINDS = frozenset({"info_requested", "reply", "access_code_reissued", "rated"})
# Wrong access codes within the window: per report and client, and per client across reports. Never per report
# alone: a stranger's guesses would lock the reporter out (issue 13 item 8).
ACCESS_FAILURE_LIMIT = 10
ACCESS_CLIENT_FAILURE_LIMIT = 30
ACCESS_FAILURE_WINDOW = timedelta(minutes=15)
REISSUES_PER_DAY = 3
DEFAULT_REOPEN_WINDOW_DAYS = 14
JAKARTA = ZoneInfo("Asia/Jakarta")
STATS_WEEKS = 12
# The public figures are recounted in the background at most this often (LAPOR_STATS_MAX_AGE_SECONDS).
DEFAULT_STATS_MAX_AGE_SECONDS = 120


# Views: the three officer audiences, the reporter (with the access code) and the public.
OFFICER_AUDIENCES = frozenset({"national_admin", "supervisor", "agency"})
AGENCY_ROLES = frozenset({"agency_admin", "agency_officer"})

STATUS_LABELS = {
    "received": "diterima", "verified": "terverifikasi", "disposed": "didisposisikan",
    "in_progress": "ditindaklanjuti", "completed": "selesai", "rejected": "ditolak (bukan ranah LAPOR)",
    "archived": "diarsipkan",
}

# An action on a report: the timeline kind it writes, the body field that becomes the entry's note,
# the roles that may take it (officer actions), and how the action reads in an Indonesian sentence.
Action = namedtuple("Action", "name kind text_field roles label")


def _actions(*actions):
    return {action.name: action for action in actions}


OFFICER_ACTIONS = _actions(
    Action("followup", "followup", "message", AGENCY_ROLES, "ditindaklanjuti"),
    Action("request_info", "info_requested", "message", AGENCY_ROLES, "dimintai informasi tambahan"),
    Action("complete", "completed", "note", AGENCY_ROLES, "diselesaikan"),
    Action("reopen", "reopened", "reason", frozenset({"national_admin"}), "dibuka kembali"),
    Action("archive", "archived", "note", frozenset({"national_admin"}), "diarsipkan"),
)
REPORTER_ACTIONS = _actions(
    Action("reply", "reply", "message", frozenset({"reporter"}), "dibalas"),
    Action("rate", "rated", "comment", frozenset({"reporter"}), "dinilai"),
    Action("reopen", "reopened", "reason", frozenset({"reporter"}), "dibuka kembali"),
)


class TransitionNotAllowed(ValueError):
    pass


class NotVisible(LookupError):
    """The viewer may not know the report exists (the service answers 404)."""


def answers_deadline(entry):
    """The first follow-up answers the agency's response deadline (sla stops that clock too)."""
    return entry["kind"] == "followup" and entry["previous_status"] == "disposed"


def check_transition(kind, from_status, to_status):
    allowed = TRANSITIONS.get(kind, {}).get(from_status, set())
    if to_status not in allowed:
        raise TransitionNotAllowed(f"{kind}: {from_status} → {to_status} is not allowed")


def target_status(kind, from_status):
    """The one status an entry of `kind` leads to from `from_status` (every tracking-owned kind has one)."""
    allowed = TRANSITIONS.get(kind, {}).get(from_status, set())
    if len(allowed) != 1:
        raise TransitionNotAllowed(f"{kind}: nothing leads on from {from_status}")
    [status] = allowed
    return status


def label(status):
    return STATUS_LABELS.get(status, status)


def refusal(action, status):
    """The plain Indonesian sentence for an action the report's status does not allow."""
    return f"Laporan berstatus {label(status)} tidak dapat {action.label}."


def action_change(action, report, actor, body):
    """The transition request an action makes: its kind, target status, note and expected version."""
    return {
        "kind": action.kind,
        "to_status": target_status(action.kind, report["status"]),
        "expected_status": report["status"],
        "expected_version": body.get("version"),
        "actor": actor,
        "automatic": False,
        "reason": None,
        "note": body.get(action.text_field),
    }


def reissue_change(report):
    """A new access code is a timeline entry like any other change; the status stays, the reporter asked."""
    return {"kind": "access_code_reissued", "to_status": report["status"], "expected_status": None,
            "expected_version": None, "actor": {"role": "reporter"}, "automatic": False, "reason": None,
            "note": None}


def within_reopen_window(report, now, window_days):
    completed_at = report.get("completed_at")
    return completed_at is not None and now <= completed_at + timedelta(days=window_days)


def changes_for(report, entry):
    """What an entry changes on the report beside its status and version (the read model's counters)."""
    changes = {"status": entry["status"], "version": entry["version"], "updated_at": entry["at"]}
    changes.update({key: entry[key] for key in ("agency_code", "agency_name", "case_class")})
    if answers_deadline(entry):
        # The clock that set `due_at` has stopped; older deadline events must not bring it back.
        changes.update({"due_at": None, "due_version": entry["version"]})
    if entry["kind"] == "declined":
        changes["hops"] = report.get("hops", 0) + 1
        if entry["status"] == "received":
            changes["flagged"] = True  # back in the national queue after a decline: needs a person
    if entry["kind"] == "disposed":
        changes["flagged"] = False
    if entry["kind"] == "followup" and report.get("first_response_at") is None:
        changes["first_response_at"] = entry["at"]
        changes["first_response_seconds"] = (entry["at"] - report["created_at"]).total_seconds()
        changes["first_response_tenths"] = round(changes["first_response_seconds"] / 360)
    if entry["kind"] == "completed":
        changes["completed_at"] = entry["at"]
    return changes


def audience_of(report, viewer):
    """Which officer view `viewer` (an actor) gets of `report`; NotVisible when it may not see it at all."""
    role = viewer.get("role")
    if role in ("national_admin", "supervisor"):
        return role
    if role == "system":
        return "supervisor"  # a service acting for itself reads everything and needs no contact
    if role in AGENCY_ROLES:
        scope = viewer.get("scope")
        if scope is None:
            scope = [viewer.get("agency_code")]
        if report.get("agency_code") and report["agency_code"] in scope:
            return "agency"
        raise NotVisible(report["tracking_id"])
    if role == "api_client" and submitted_by_api_key(report, viewer.get("username")):
        return "reporter"  # a government system reads back its own submission as its reporter would
    if report["confidential"]:
        raise NotVisible(report["tracking_id"])
    return "public"


def audience_after(before, after, viewer):
    """(audience, may see the contact) of the officer who just changed a report, even if it left their scope."""
    for report, contact in ((after, True), (before, False)):
        try:
            return audience_of(report, viewer), contact
        except NotVisible:
            continue
    return "public", False


def shows_reporter(report, audience):
    """DESIGN §4: the reporter's own view and a national admin's; an agency's only if not anonymous."""
    if audience in ("reporter", "national_admin"):
        return True
    return audience == "agency" and not report["anonymous"]


def supporter_key(secret_key, tracking_id, client_address):
    """One support per report and address, without keeping the address: a keyed hash of it."""
    return f"{tracking_id}:{keyed_hash(secret_key, 'supporters', counted_address(client_address))}"


def legacy_supporter_key(secret_key, tracking_id, client_address):
    """The key supports got before the keys were separated (HMAC under the server secret itself): looked up too,
    so an address that supported a report then does not count again now."""
    digest = hmac.new(secret_key.encode(), client_address.encode(), hashlib.sha256).hexdigest()
    return f"{tracking_id}:{digest}"


def access_failure_counters(secret_key, tracking_id, client_address):
    """[(counter id, limit)] a wrong code counts against: this report from this client, and this client on any
    report; the address kept only as a keyed hash."""
    client = counted_address(client_address) or "unknown"
    digest = keyed_hash(secret_key, "access failures", f"access-failure:{client}")
    return [(f"{tracking_id}:{digest}", ACCESS_FAILURE_LIMIT), (f"client:{digest}", ACCESS_CLIENT_FAILURE_LIMIT)]


# Inbox per audience: the statuses it lists and its order (the national queue puts flagged reports first).
_INBOXES = {
    "national_admin": (("received", "verified"), [("flagged", -1), ("created_key", 1)]),
    "agency": (("disposed", "in_progress"), [("due_at", 1), ("created_key", 1)]),
    "supervisor": (OPEN_STATUSES, [("due_at", 1), ("created_key", 1)]),
}


def inbox_selection(viewer, status=None, agency=None):
    """(audience, statuses, agency codes or None, sort) of the viewer's inbox; NotVisible for roles without one.
    `agency` narrows it to one agency's open reports (the oversight drill-down, a national admin's too); an agency
    officer stays within their scope."""
    role = viewer.get("role")
    audience = "agency" if role in AGENCY_ROLES else role
    if audience not in _INBOXES:
        raise NotVisible(role)
    statuses, sort = _INBOXES["supervisor" if audience == "national_admin" and agency else audience]
    if status is not None:
        statuses = tuple(s for s in statuses if s == status)  # a status outside the inbox lists nothing
    agency_codes = None
    if audience == "agency":
        agency_codes = viewer.get("scope") if viewer.get("scope") is not None else [viewer.get("agency_code")]
    if agency is not None:
        agency_codes = [agency] if agency_codes is None else [code for code in agency_codes if code == agency]
    return audience, statuses, agency_codes, sort


def stats_view(counts, agency_names, first_response_tenths, confidential_total, weekly, computed_at):
    """`stats()`'s answer from per-field counts of non-confidential reports (`counts[field] = {value: n}`) and
    their first responses ({tenths of an hour: n})."""

    def ranked(field):
        return sorted(((value, n) for value, n in counts[field].items() if value is not None),
                      key=lambda pair: (-pair[1], pair[0]))

    median = median_of_counts(first_response_tenths)
    median = median / 10 if median is not None else None
    return {
        "total": sum(counts["status"].values()),
        "by_status": dict(counts["status"]),
        "by_channel": dict(counts["channel"]),
        "by_type": dict(counts["type"]),
        "by_agency": [{"code": code, "name": agency_names.get(code), "count": n} for code, n in ranked("agency_code")],
        "by_region": [{"code": code, "count": n} for code, n in ranked("region_code")],
        "median_first_response_hours": round(median, 2) if median is not None else None,
        "confidential_total": confidential_total,
        "weekly": weekly,
        "computed_at": computed_at.isoformat(),
    }


def median_of_counts(counts):
    """The median of the values counted in {value: n} (None when empty), as statistics.median would give it;
    the count of None (reports without the value) is left out."""
    counts = {value: n for value, n in counts.items() if value is not None and n > 0}
    total = sum(counts.values())
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in sorted(counts):
        seen += counts[value]
        while middle and middle[0] < seen:
            found.append(value)
            middle.pop(0)
    return (found[0] + found[1]) / 2


def created_key(at, tracking_id):
    """The report's place in "newest first" as one string (UTC time, then the ID): nx-27017 sorts through an
    index only on plain values, and a datetime is not one there (0.2 s to sort 100k reports; this 2 ms)."""
    return f"{at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%f}Z|{tracking_id}"


def jakarta_day(at):
    """The report's day in Jakarta as an ISO date: the bucket the weekly figures count by."""
    return at.astimezone(JAKARTA).date().isoformat()


def stats_weeks(today, weeks=STATS_WEEKS):
    """The Mondays (ISO dates) of the last `weeks` weeks up to `today`'s, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [(monday - timedelta(weeks=back)).isoformat() for back in range(weeks - 1, -1, -1)]


def weekly_counts(daily, mondays):
    """[{week: Monday, count}] from {ISO day: n}; days before the first Monday are not counted."""
    totals = dict.fromkeys(mondays, 0)
    for day, count in daily.items():
        if not day:
            continue
        parsed = date.fromisoformat(day)
        monday = (parsed - timedelta(days=parsed.weekday())).isoformat()
        if monday in totals:
            totals[monday] += count
    return [{"week": monday, "count": totals[monday]} for monday in mondays]


def is_fresh(computed_at, current, max_age_seconds):
    """A stats snapshot may be served until it is `max_age_seconds` old (0: never, always recount)."""
    return max_age_seconds > 0 and timedelta(0) <= current - computed_at <= timedelta(seconds=max_age_seconds)


STATS_FIELDS = ("status", "channel", "type", "agency_code", "region_code")
STATS_BUCKETS = ("created_day", "first_response_tenths")


def entry_id(tracking_id, version):
    return f"{tracking_id}:{version:07d}"


def new_case(event):
    """The read model of a report as tracking opens it from `report_submitted`."""
    location = event.get("location") or {}
    return {
        "_id": event["tracking_id"],
        "tracking_id": event["tracking_id"],
        "type": event["type"],
        "title": event["title"],
        "body": event["body"],
        "occurred_at": event.get("occurred_at"),
        "category": event.get("category"),
        "channel": event["channel"],
        "location": {key: location.get(key) for key in ("region_code", "region_name", "address", "lat", "lon")},
        "region_code": location.get("region_code"),
        "requested_agency_code": event.get("agency_code"),
        "region_hint": event.get("region_hint"),
        "anonymous": event["anonymous"],
        "confidential": event["confidential"],
        "reporter_ref": event.get("reporter_ref"),
        "submitted_by": event.get("submitted_by"),
        "access_code_hash": event["access_code_hash"],
        "pending_access_code_hash": None,
        "status": "received",
        "version": 1,
        "agency_code": None,
        "agency_name": None,
        "case_class": None,
        "due_at": None,
        "due_version": 0,
        "support_count": 0,
        "hops": 0,
        "flagged": False,
        "completed_at": None,
        "rating": None,
        "first_response_at": None,
        "first_response_seconds": None,
        # The same in tenths of an hour: few distinct values, so the median comes from one cheap $group.
        "first_response_tenths": None,
        "search_text": f"{event['title']} {event['body']}".lower(),
        "created_day": jakarta_day(event["submitted_at"]),
        "created_at": event["submitted_at"],
        "created_key": created_key(event["submitted_at"], event["tracking_id"]),
        "updated_at": event["submitted_at"],
    }


def new_entry(report, kind, status, actor, at, **details):
    """A timeline entry: the report's next version, and the `report_updated` event it announces."""
    version = report["version"] + 1 if kind != "opened" else 1
    return {
        "_id": entry_id(report["tracking_id"], version),
        "tracking_id": report["tracking_id"],
        "version": version,
        "kind": kind,
        "status": status,
        "previous_status": None if kind == "opened" else report["status"],
        "actor": {
            "role": actor.get("role", "system"),
            "agency_code": actor.get("agency_code"),
            "agency_name": actor.get("agency_name"),
            "username": actor.get("username"),
            "name": actor.get("name"),
        },
        "automatic": bool(details.get("automatic", False)),
        "agency_code": details.get("agency_code", report.get("agency_code")),
        "agency_name": details.get("agency_name", report.get("agency_name")),
        "reason": details.get("reason"),
        "note": details.get("note"),
        "case_class": details.get("case_class", report.get("case_class")),
        "at": at,
    }


def report_updated_event(report, entry, event_id, content=None):
    return {
        "event_id": event_id,
        "tracking_id": report["tracking_id"],
        "emitted_at": entry["at"],
        "schema": 1,
        "version": entry["version"],
        "status": entry["status"],
        "previous_status": entry["previous_status"],
        "kind": entry["kind"],
        "actor": {"role": entry["actor"]["role"], "agency_code": entry["actor"]["agency_code"]},
        "automatic": entry["automatic"],
        "agency_code": entry["agency_code"],
        "agency_name": entry["agency_name"],
        "reason": entry["reason"],
        "note": entry["note"],
        "case_class": entry["case_class"],
        "channel": report["channel"],
        "reporter_ref": report.get("reporter_ref"),
        "anonymous": report["anonymous"],
        "confidential": report["confidential"],
        "at": entry["at"],
        "content": content,
        "region_hint": report.get("region_hint"),
    }


def case_content(report):
    content = {key: report.get(key) for key in ("type", "title", "body", "occurred_at", "location", "category")}
    content["agency_code"] = report.get("requested_agency_code")
    return content


def _iso(value):
    return value.isoformat() if value is not None else None


def report_view(report, now, reporter=None, audience="public"):
    """The DESIGN §4 representation. `reporter` is included only when the caller may see it (`shows_reporter`)."""
    agency = {"code": report["agency_code"], "name": report["agency_name"]} if report.get("agency_code") else None
    due_at = report.get("due_at") if report["status"] not in FINAL_STATUSES else None
    view = {
        "tracking_id": report["tracking_id"],
        "type": report["type"],
        "title": report["title"],
        "body": report["body"],
        "status": report["status"],
        "category": report.get("category"),
        "channel": report["channel"],
        "created_at": _iso(report["created_at"]),
        "updated_at": _iso(report["updated_at"]),
        "occurred_at": _iso(report.get("occurred_at")),
        "location": dict(report.get("location") or {}),
        "agency": agency,
        "due_at": _iso(due_at),
        "overdue": bool(due_at is not None and due_at < now),
        "support_count": report.get("support_count", 0),
        "anonymous": report["anonymous"],
        "confidential": report["confidential"],
        "version": report["version"],
    }
    if audience in OFFICER_AUDIENCES:
        view["hops"] = int(report.get("hops") or 0)
        view["flagged"] = bool(report.get("flagged"))
    if reporter is not None:
        view["reporter"] = {key: reporter.get(key) for key in ("name", "phone", "email", "handle")}
    return view


def views_page(reports, now, audience, page, per_page, total):
    """The DESIGN §4 list envelope of report views (never with the reporter's contact)."""
    items = [report_view(report, now, audience=audience) for report in reports]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def timeline_view(entries, audience):
    """Entries the audience may see; officer names only in officer views (never the public's or reporter's)."""
    visible = [entry for entry in entries if audience != "public" or entry["kind"] not in PRIVATE_KINDS]
    return [_timeline_item(entry, named=audience in OFFICER_AUDIENCES) for entry in visible]


def _timeline_item(entry, named):
    actor = entry["actor"]
    item_actor = {
        "role": actor["role"],
        "agency": {"code": actor["agency_code"], "name": actor["agency_name"]} if actor.get("agency_code") else None,
    }
    if named:
        item_actor["name"] = actor.get("name")
    return {
        "kind": entry["kind"],
        "at": _iso(entry["at"]),
        "status": entry["status"],
        "previous_status": entry["previous_status"],
        "automatic": entry.get("automatic", False),
        "actor": item_actor,
        "note": entry.get("note"),
    }
