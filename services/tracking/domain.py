"""Tracking's pure logic: the transition table (DESIGN §1), timeline entries and the views of a report."""
from datetime import timedelta

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
ACCESS_FAILURE_LIMIT = 10
ACCESS_FAILURE_WINDOW = timedelta(minutes=15)


class TransitionNotAllowed(ValueError):
    pass


def answers_deadline(entry):
    """The first follow-up answers the agency's response deadline (sla stops that clock too)."""
    return entry["kind"] == "followup" and entry["previous_status"] == "disposed"


def check_transition(kind, from_status, to_status):
    allowed = TRANSITIONS.get(kind, {}).get(from_status, set())
    if to_status not in allowed:
        raise TransitionNotAllowed(f"{kind}: {from_status} → {to_status} is not allowed")


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
        "access_code_hash": event["access_code_hash"],
        "status": "received",
        "version": 1,
        "agency_code": None,
        "agency_name": None,
        "case_class": None,
        "due_at": None,
        "due_version": 0,
        "support_count": 0,
        "search_text": f"{event['title']} {event['body']}".lower(),
        "created_at": event["submitted_at"],
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


def report_view(report, now, reporter=None):
    """The DESIGN §4 representation. `reporter` is included only when the caller may see it."""
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
    if reporter is not None:
        view["reporter"] = {key: reporter.get(key) for key in ("name", "phone", "email", "handle")}
    return view


def timeline_view(entries, audience):
    visible = [entry for entry in entries if audience != "public" or entry["kind"] not in PRIVATE_KINDS]
    return [
        {
            "kind": entry["kind"],
            "at": _iso(entry["at"]),
            "status": entry["status"],
            "previous_status": entry["previous_status"],
            "automatic": entry.get("automatic", False),
            "actor": {
                "role": entry["actor"]["role"],
                "agency": {"code": entry["actor"]["agency_code"], "name": entry["actor"]["agency_name"]}
                if entry["actor"].get("agency_code")
                else None,
            },
            "note": entry.get("note"),
        }
        for entry in visible
    ]
