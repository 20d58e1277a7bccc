"""Small factories for test data: override only what a test is about."""
import uuid
from datetime import datetime, timezone


# A report routing's triage cannot route on its own (it names no matter): it waits for a national admin.
# The defaults below are confident complaints about Kota Metro, which triage disposes to its government (issue 5).
UNROUTABLE = {"title": "Mohon tindak lanjut", "body": "Mohon ditindaklanjuti, sudah lama menunggu kabar dari petugas."}


def make_report(**overrides):
    """A valid POST /api/v1/reports body."""
    body = {
        "type": "complaint",
        "title": "Pohon tumbang di Jalan Pala",
        "body": "Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan",
        "anonymous": False,
        "confidential": False,
        "location": {"region_code": "18.72", "address": "Jalan Pala, Iringmulyo"},
        "reporter": {"name": "Siti Aminah", "phone": "081234567890", "email": "siti@example.id"},
    }
    body.update(overrides)
    return body


def make_submitted_event(**overrides):
    """A `report_submitted` payload as intake publishes it."""
    tracking_id = overrides.pop("tracking_id", "10000004")
    at = datetime.now(timezone.utc).isoformat()
    event = {
        "event_id": str(uuid.uuid4()),
        "tracking_id": tracking_id,
        "emitted_at": at,
        "schema": 1,
        "type": "complaint",
        "title": "Jalan berlubang",
        "body": "Jalan berlubang besar di depan pasar",
        "occurred_at": None,
        "location": {"region_code": "18.72", "region_name": "Kota Metro", "address": None, "lat": None, "lon": None},
        "category": None,
        "agency_code": None,
        "channel": "web",
        "region_hint": None,
        "anonymous": False,
        "confidential": False,
        "reporter_ref": f"rep_{uuid.uuid4().hex}",
        "access_code_hash": "0" * 64,
        "submitted_at": at,
    }
    event.update(overrides)
    return event


def make_updated_event(**overrides):
    """A `report_updated` payload as tracking publishes it."""
    at = datetime.now(timezone.utc).isoformat()
    event = {
        "event_id": str(uuid.uuid4()),
        "tracking_id": "10000004",
        "emitted_at": at,
        "schema": 1,
        "version": 1,
        "status": "received",
        "previous_status": None,
        "kind": "opened",
        "actor": {"role": "system", "agency_code": None},
        "automatic": False,
        "agency_code": None,
        "agency_name": None,
        "reason": None,
        "note": None,
        "case_class": None,
        "channel": "web",
        "reporter_ref": None,
        "anonymous": False,
        "confidential": False,
        "at": at,
        "content": None,
        "region_hint": None,
    }
    event.update(overrides)
    return event
