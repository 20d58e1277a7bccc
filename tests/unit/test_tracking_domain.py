"""Tracking's pure logic: the transition table against DESIGN §1, timeline entries and the views."""
from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from services.tracking.domain import (
    FINAL_STATUSES, PRIVATE_KINDS, STATUSES, TRANSITIONS, TransitionNotAllowed, check_transition, new_case,
    new_entry, report_updated_event, report_view, timeline_view,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
TRACKING_ID = "10000004"
OPEN = ("received", "verified", "disposed", "in_progress")

# DESIGN §1, row by row, as (kind, from, to). Entries that keep the status (rated, duplicate_linked,
# access_code_reissued) are not rows there; they are listed after the table.
DESIGN_ALLOWED = {
    ("verified", "received", "verified"),
    ("rejected", "received", "rejected"),
    ("disposed", "received", "disposed"),
    ("disposed", "verified", "disposed"),
    ("disposed", "disposed", "disposed"),
    ("declined", "disposed", "disposed"),
    ("declined", "disposed", "received"),
    ("escalated", "disposed", "disposed"),
    ("escalated", "in_progress", "in_progress"),
    ("followup", "disposed", "in_progress"),
    ("followup", "in_progress", "in_progress"),
    ("info_requested", "disposed", "disposed"),
    ("info_requested", "in_progress", "in_progress"),
    ("reply", "disposed", "disposed"),
    ("reply", "in_progress", "in_progress"),
    ("completed", "disposed", "completed"),
    ("completed", "in_progress", "completed"),
    ("reopened", "completed", "in_progress"),
    *(("archived", status, "archived") for status in STATUSES if status != "archived"),
    ("rated", "completed", "completed"),
    *(("duplicate_linked", status, status) for status in OPEN),
    *(("access_code_reissued", status, status) for status in STATUSES),
}
KINDS = sorted({kind for kind, _, _ in DESIGN_ALLOWED} | {"opened", "unknown_kind"})

TRANSITION_CASES = [
    # (kind, from, to, allowed)
    ("verified", "received", "verified", True),
    ("verified", "verified", "verified", False),
    ("verified", "disposed", "verified", False),
    ("rejected", "received", "rejected", True),
    ("rejected", "verified", "rejected", False),
    ("rejected", "disposed", "rejected", False),
    ("disposed", "received", "disposed", True),
    ("disposed", "verified", "disposed", True),
    ("disposed", "disposed", "disposed", True),
    ("disposed", "in_progress", "disposed", False),
    ("disposed", "completed", "disposed", False),
    ("declined", "disposed", "disposed", True),
    ("declined", "disposed", "received", True),
    ("declined", "received", "received", False),
    ("declined", "received", "disposed", False),
    ("declined", "in_progress", "received", False),
    ("escalated", "disposed", "disposed", True),
    ("escalated", "in_progress", "in_progress", True),
    ("escalated", "disposed", "in_progress", False),
    ("escalated", "received", "received", False),
    ("escalated", "completed", "completed", False),
    ("followup", "disposed", "in_progress", True),
    ("followup", "in_progress", "in_progress", True),
    ("followup", "disposed", "disposed", False),
    ("followup", "received", "in_progress", False),
    ("followup", "completed", "completed", False),
    ("followup", "completed", "in_progress", False),
    ("info_requested", "disposed", "disposed", True),
    ("info_requested", "in_progress", "in_progress", True),
    ("info_requested", "received", "received", False),
    ("reply", "in_progress", "in_progress", True),
    ("reply", "completed", "completed", False),
    ("completed", "disposed", "completed", True),
    ("completed", "in_progress", "completed", True),
    ("completed", "received", "completed", False),
    ("completed", "verified", "completed", False),
    ("completed", "completed", "completed", False),
    ("reopened", "completed", "in_progress", True),
    ("reopened", "completed", "disposed", False),
    ("reopened", "rejected", "in_progress", False),
    ("reopened", "archived", "in_progress", False),
    ("archived", "received", "archived", True),
    ("archived", "completed", "archived", True),
    ("archived", "rejected", "archived", True),
    ("archived", "archived", "archived", False),
    ("reopened", "archived", "received", False),
    ("disposed", "archived", "disposed", False),
    ("verified", "archived", "verified", False),
    ("rated", "completed", "completed", True),
    ("rated", "in_progress", "in_progress", False),
    ("duplicate_linked", "received", "received", True),
    ("duplicate_linked", "completed", "completed", False),
    ("opened", "received", "received", False),
    ("unknown_kind", "received", "verified", False),
]


def make_report(**overrides):
    report = {
        "tracking_id": TRACKING_ID,
        "type": "complaint",
        "title": "Jalan rusak",
        "body": "Jalan di depan pasar berlubang besar.",
        "status": "disposed",
        "category": "infrastruktur",
        "channel": "web",
        "created_at": NOW - timedelta(days=3),
        "updated_at": NOW - timedelta(days=1),
        "occurred_at": None,
        "location": {"region_code": "18.72", "region_name": "Kota Metro", "address": None, "lat": None, "lon": None},
        "agency_code": "KOTA-18.72",
        "agency_name": "Pemerintah Kota Metro",
        "case_class": None,
        "due_at": NOW + timedelta(days=2),
        "support_count": 4,
        "anonymous": False,
        "confidential": False,
        "version": 3,
        "reporter_ref": "ref-1",
        "access_code_hash": "f" * 64,
        "requested_agency_code": None,
    }
    report.update(overrides)
    return report


def make_actor(**overrides):
    actor = {"role": "agency_admin", "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro",
             "name": "Budi Santoso"}
    actor.update(overrides)
    return actor


def make_entry(kind, report=None, **details):
    report = report or make_report()
    return new_entry(report, kind, report["status"], make_actor(), NOW, **details)


def make_submitted_event(**overrides):
    event = {
        "tracking_id": TRACKING_ID,
        "type": "complaint",
        "title": "Jalan rusak",
        "body": "Jalan di depan pasar berlubang besar.",
        "channel": "sms",
        "location": {"region_code": "18.72", "region_name": "Kota Metro"},
        "anonymous": True,
        "confidential": False,
        "reporter_ref": "ref-1",
        "access_code_hash": "a" * 64,
        "submitted_at": NOW,
    }
    event.update(overrides)
    return event


@pytest.mark.parametrize("kind, from_status, to_status, allowed", TRANSITION_CASES)
def test_transition_table_follows_design(kind, from_status, to_status, allowed):
    if allowed:
        check_transition(kind, from_status, to_status)
    else:
        with pytest.raises(TransitionNotAllowed):
            check_transition(kind, from_status, to_status)


def test_transition_cases_agree_with_the_design_list():
    for kind, from_status, to_status, allowed in TRANSITION_CASES:
        assert ((kind, from_status, to_status) in DESIGN_ALLOWED) == allowed


def test_nothing_outside_the_design_list_is_allowed():
    allowed_by_code = {
        (kind, from_status, to_status)
        for kind, from_status, to_status in product(KINDS, STATUSES, STATUSES)
        if to_status in TRANSITIONS.get(kind, {}).get(from_status, set())
    }
    assert allowed_by_code == DESIGN_ALLOWED


def test_nothing_leaves_archived_except_a_status_keeping_code_reissue():
    for kind, to_status in product(KINDS, STATUSES):
        if (kind, to_status) != ("access_code_reissued", "archived"):
            with pytest.raises(TransitionNotAllowed):
                check_transition(kind, "archived", to_status)


def test_transition_error_names_the_move():
    with pytest.raises(TransitionNotAllowed, match="completed: received → completed"):
        check_transition("completed", "received", "completed")


def test_new_case_opens_received_at_version_one_without_an_agency():
    case = new_case(make_submitted_event())
    assert (case["_id"], case["status"], case["version"], case["agency_code"]) == (TRACKING_ID, "received", 1, None)
    assert case["location"] == {"region_code": "18.72", "region_name": "Kota Metro", "address": None, "lat": None,
                                "lon": None}
    assert case["created_at"] == case["updated_at"] == NOW


def test_new_entry_increments_the_version_and_keeps_the_previous_status():
    report = make_report(status="disposed", version=3)
    entry = new_entry(report, "followup", "in_progress", make_actor(), NOW, note="Sedang diperbaiki")
    assert entry["version"] == 4
    assert entry["_id"] == f"{TRACKING_ID}:0000004"
    assert (entry["previous_status"], entry["status"]) == ("disposed", "in_progress")
    assert entry["note"] == "Sedang diperbaiki"
    assert entry["automatic"] is False


def test_opened_entry_is_version_one_with_no_previous_status():
    entry = new_entry(new_case(make_submitted_event()), "opened", "received", {}, NOW)
    assert (entry["version"], entry["previous_status"]) == (1, None)
    assert entry["actor"]["role"] == "system"


def test_new_entry_takes_the_agency_from_details_or_else_the_report():
    report = make_report()
    assert make_entry("followup", report)["agency_code"] == "KOTA-18.72"
    moved = make_entry("escalated", report, agency_code="PROV-18", agency_name="Pemerintah Provinsi Lampung",
                       automatic=True)
    assert (moved["agency_code"], moved["agency_name"], moved["automatic"]) == (
        "PROV-18", "Pemerintah Provinsi Lampung", True)


def test_report_updated_event_carries_the_entry_and_no_contact_details():
    report = make_report()
    entry = make_entry("followup", report)
    event = report_updated_event(report, entry, "evt-1")
    assert (event["version"], event["kind"], event["previous_status"]) == (4, "followup", "disposed")
    assert event["reporter_ref"] == "ref-1"
    assert not {"reporter", "phone", "email", "name"} & set(event)
    assert "name" not in event["actor"]


def test_report_view_has_the_design_fields_and_no_internal_ones():
    view = report_view(make_report(), NOW)
    assert {"tracking_id", "type", "title", "body", "status", "category", "channel", "created_at", "updated_at",
            "location", "agency", "due_at", "overdue", "support_count", "anonymous", "confidential",
            "version"} <= set(view)
    assert not {"reporter", "reporter_ref", "access_code_hash", "requested_agency_code", "_id"} & set(view)
    assert view["agency"] == {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
    assert view["created_at"] == (NOW - timedelta(days=3)).isoformat()


def test_report_view_without_an_agency():
    assert report_view(make_report(status="received", agency_code=None, agency_name=None), NOW)["agency"] is None


@pytest.mark.parametrize("status, due_at, expected_due, overdue", [
    ("disposed", NOW + timedelta(hours=1), (NOW + timedelta(hours=1)).isoformat(), False),
    ("in_progress", NOW - timedelta(seconds=1), (NOW - timedelta(seconds=1)).isoformat(), True),
    ("received", None, None, False),
    *((final, NOW - timedelta(days=5), None, False) for final in sorted(FINAL_STATUSES)),
])
def test_report_view_due_at_and_overdue(status, due_at, expected_due, overdue):
    view = report_view(make_report(status=status, due_at=due_at), NOW)
    assert (view["due_at"], view["overdue"]) == (expected_due, overdue)


def test_report_view_includes_the_reporter_only_when_given():
    reporter = {"name": "Siti", "phone": "+6281234567890", "email": "siti@example.id", "ref": "ref-1"}
    assert "reporter" not in report_view(make_report(), NOW)
    view = report_view(make_report(), NOW, reporter=reporter)
    assert view["reporter"] == {"name": "Siti", "phone": "+6281234567890", "email": "siti@example.id",
                                "handle": None}


def make_timeline():
    report = make_report()
    return [make_entry(kind, report) for kind in ("disposed", "info_requested", "reply", "followup", "rated",
                                                   "access_code_reissued", "completed")]


def test_public_timeline_hides_private_kinds():
    kinds = [item["kind"] for item in timeline_view(make_timeline(), "public")]
    assert kinds == ["disposed", "followup", "completed"]
    assert not PRIVATE_KINDS & set(kinds)


def test_reporter_timeline_shows_private_kinds_in_order():
    kinds = [item["kind"] for item in timeline_view(make_timeline(), "reporter")]
    assert kinds == ["disposed", "info_requested", "reply", "followup", "rated", "access_code_reissued", "completed"]


def test_timeline_items_carry_the_agency_but_not_the_officer_name():
    item = timeline_view([make_entry("followup")], "public")[0]
    assert item["actor"] == {"role": "agency_admin", "agency": {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}}
    assert item["at"] == NOW.isoformat()
    assert (item["status"], item["previous_status"]) == ("disposed", "disposed")


def test_timeline_actor_without_an_agency_has_null_agency():
    report = make_report()
    entry = new_entry(report, "verified", "verified", {"role": "national_admin"}, NOW)
    assert timeline_view([entry], "public")[0]["actor"]["agency"] is None


def test_only_the_first_followup_answers_the_response_deadline():
    from services.tracking.domain import answers_deadline

    assert answers_deadline({"kind": "followup", "previous_status": "disposed"})
    assert not answers_deadline({"kind": "followup", "previous_status": "in_progress"})
    assert not answers_deadline({"kind": "disposed", "previous_status": "received"})
