"""Tracking's pure logic: the transition table against DESIGN §1, timeline entries and the views."""
from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from services.tracking.domain import (
    FINAL_STATUSES, OFFICER_ACTIONS, PRIVATE_KINDS, REPORTER_ACTIONS, STATUSES, TRANSITIONS, NotVisible,
    TransitionNotAllowed, action_change, audience_after, audience_of, changes_for, check_transition, inbox_selection,
    created_key, is_fresh, jakarta_day, median_of_counts, new_case, new_entry, refusal, report_updated_event, report_view, shows_reporter,
    stats_view, stats_weeks, supporter_key, target_status, timeline_view, weekly_counts, within_reopen_window,
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


# --- every allowed move, straight from the table, and the actions built on it ---------------------------

ALL_ALLOWED = sorted(
    (kind, from_status, to_status)
    for kind, moves in TRANSITIONS.items() for from_status, targets in moves.items() for to_status in targets
)


@pytest.mark.parametrize("kind, from_status, to_status", ALL_ALLOWED)
def test_every_move_in_the_table_is_allowed_and_in_the_design(kind, from_status, to_status):
    check_transition(kind, from_status, to_status)
    assert (kind, from_status, to_status) in DESIGN_ALLOWED


# (action, status before, status after, or None when the action is refused in that status)
ACTION_CASES = [
    (OFFICER_ACTIONS["followup"], "disposed", "in_progress"),
    (OFFICER_ACTIONS["followup"], "in_progress", "in_progress"),
    (OFFICER_ACTIONS["followup"], "received", None),
    (OFFICER_ACTIONS["followup"], "completed", None),
    (OFFICER_ACTIONS["request_info"], "disposed", "disposed"),
    (OFFICER_ACTIONS["request_info"], "in_progress", "in_progress"),
    (OFFICER_ACTIONS["request_info"], "verified", None),
    (OFFICER_ACTIONS["complete"], "disposed", "completed"),
    (OFFICER_ACTIONS["complete"], "in_progress", "completed"),
    (OFFICER_ACTIONS["complete"], "received", None),
    (OFFICER_ACTIONS["complete"], "completed", None),
    (OFFICER_ACTIONS["reopen"], "completed", "in_progress"),
    (OFFICER_ACTIONS["reopen"], "rejected", None),
    (OFFICER_ACTIONS["reopen"], "archived", None),
    (OFFICER_ACTIONS["archive"], "received", "archived"),
    (OFFICER_ACTIONS["archive"], "rejected", "archived"),
    (OFFICER_ACTIONS["archive"], "archived", None),
    (REPORTER_ACTIONS["reply"], "disposed", "disposed"),
    (REPORTER_ACTIONS["reply"], "in_progress", "in_progress"),
    (REPORTER_ACTIONS["reply"], "received", None),
    (REPORTER_ACTIONS["reply"], "completed", None),
    (REPORTER_ACTIONS["rate"], "completed", "completed"),
    (REPORTER_ACTIONS["rate"], "in_progress", None),
    (REPORTER_ACTIONS["reopen"], "completed", "in_progress"),
    (REPORTER_ACTIONS["reopen"], "in_progress", None),
]


@pytest.mark.parametrize("action, before, after", ACTION_CASES, ids=lambda v: getattr(v, "name", v))
def test_an_action_leads_to_one_status_or_is_refused(action, before, after):
    report = make_report(status=before)
    if after is None:
        with pytest.raises(TransitionNotAllowed):
            action_change(action, report, make_actor(), {})
        return
    change = action_change(action, report, make_actor(), {action.text_field: "Isi", "version": 3})
    assert (change["kind"], change["to_status"], change["expected_version"]) == (action.kind, after, 3)
    assert change["note"] == "Isi" and change["reason"] is None


def test_actions_change_only_through_kinds_the_table_knows():
    for action in (*OFFICER_ACTIONS.values(), *REPORTER_ACTIONS.values()):
        assert action.kind in TRANSITIONS


def test_target_status_refuses_a_kind_that_is_not_tracking_s_to_choose():
    with pytest.raises(TransitionNotAllowed):
        target_status("declined", "disposed")  # two ways on: routing decides


def test_refusal_reads_as_plain_indonesian():
    assert refusal(OFFICER_ACTIONS["complete"], "received") == "Laporan berstatus diterima tidak dapat diselesaikan."


def test_officer_actions_belong_to_the_roles_of_the_design():
    agency = {"agency_admin", "agency_officer"}
    assert {name: set(action.roles) for name, action in OFFICER_ACTIONS.items()} == {
        "followup": agency, "request_info": agency, "complete": agency,
        "reopen": {"national_admin"}, "archive": {"national_admin"},
    }


# --- what an entry changes on the report --------------------------------------------------------------------

def entry_on(report, kind, status, **details):
    return new_entry(report, kind, status, make_actor(), NOW, **details)


def test_a_decline_counts_a_hop_and_back_in_the_national_queue_flags_the_report():
    report = make_report(hops=1, flagged=False)
    onward = changes_for(report, entry_on(report, "declined", "disposed", agency_code="PROV-18"))
    assert onward["hops"] == 2 and "flagged" not in onward
    back = changes_for(report, entry_on(report, "declined", "received", agency_code=None, agency_name=None))
    assert (back["hops"], back["flagged"], back["agency_code"]) == (2, True, None)


def test_a_disposition_clears_the_flag_and_counts_no_hop():
    report = make_report(status="received", hops=2, flagged=True)
    changes = changes_for(report, entry_on(report, "disposed", "disposed"))
    assert changes["flagged"] is False and "hops" not in changes


def test_only_the_first_followup_records_the_first_response():
    report = make_report(created_at=NOW - timedelta(hours=30), first_response_at=None)
    first = changes_for(report, entry_on(report, "followup", "in_progress"))
    assert (first["first_response_at"], first["first_response_seconds"]) == (NOW, 30 * 3600)
    assert first["due_at"] is None  # the response clock stopped
    later = changes_for(dict(report, status="in_progress", first_response_at=NOW),
                        entry_on(dict(report, status="in_progress"), "followup", "in_progress"))
    assert "first_response_at" not in later and "due_at" not in later


def test_completion_records_when():
    report = make_report(status="in_progress")
    assert changes_for(report, entry_on(report, "completed", "completed"))["completed_at"] == NOW


@pytest.mark.parametrize("completed_at, allowed", [
    (NOW - timedelta(days=13, hours=23), True), (NOW - timedelta(days=14, seconds=1), False), (None, False),
])
def test_the_reporter_may_reopen_only_within_the_window(completed_at, allowed):
    assert within_reopen_window(make_report(status="completed", completed_at=completed_at), NOW, 14) is allowed


# --- who sees what ------------------------------------------------------------------------------------------

def viewer(role, scope=None, agency_code=None):
    return {"role": role, "scope": scope, "agency_code": agency_code, "name": "Petugas"}


IN_SCOPE = ["KOTA-18.72", "KOTA-18.72-DPUPR"]
OUT_OF_SCOPE = ["PROV-18"]
REPORT_KINDS = {
    "plain": {},
    "anonymous": {"anonymous": True},
    "confidential": {"confidential": True},
}

# (role, scope, report kind) → audience, or None for 404; every role × in/out of scope × report kind.
AUDIENCE_CASES = [
    (role, scope_name, kind, expected)
    for role, scope_name, kind, expected in [
        *(("national_admin", s, k, "national_admin") for s in ("in", "out") for k in REPORT_KINDS),
        *(("supervisor", s, k, "supervisor") for s in ("in", "out") for k in REPORT_KINDS),
        *((r, "in", k, "agency") for r in ("agency_admin", "agency_officer") for k in REPORT_KINDS),
        *((r, "out", k, None) for r in ("agency_admin", "agency_officer") for k in REPORT_KINDS),
        *(("api_client", s, k, None if k == "confidential" else "public") for s in ("in", "out") for k in REPORT_KINDS),
        *(("reporter", s, k, None if k == "confidential" else "public") for s in ("in", "out") for k in REPORT_KINDS),
    ]
]


@pytest.mark.parametrize("role, scope_name, kind, expected", AUDIENCE_CASES)
def test_audience_of_each_role_scope_and_kind_of_report(role, scope_name, kind, expected):
    scope = IN_SCOPE if scope_name == "in" else OUT_OF_SCOPE
    who = viewer(role, scope=scope if role.startswith("agency") else None)
    report = make_report(**REPORT_KINDS[kind])
    if expected is None:
        with pytest.raises(NotVisible):
            audience_of(report, who)
    else:
        assert audience_of(report, who) == expected


@pytest.mark.parametrize("channel, expected", [("api", "reporter"), ("open311", "reporter"), ("rpc", None),
                                               ("web", None)])
def test_an_api_key_reads_back_as_reporter_only_what_it_sent_through_the_api(channel, expected):
    """`submitted_by` names an API key on the API channels only; on "rpc" the same name is a bus caller's."""
    report = make_report(confidential=True, channel=channel, submitted_by="sipp")
    if expected is None:
        with pytest.raises(NotVisible):
            audience_of(report, {"role": "api_client", "username": "sipp"})
    else:
        assert audience_of(report, {"role": "api_client", "username": "sipp"}) == expected
    with pytest.raises(NotVisible):
        audience_of(report, {"role": "api_client", "username": "other"})


def test_an_agency_role_without_a_scope_sees_only_its_own_agency():
    assert audience_of(make_report(), viewer("agency_officer", agency_code="KOTA-18.72")) == "agency"
    with pytest.raises(NotVisible):
        audience_of(make_report(agency_code=None), viewer("agency_officer", agency_code=None))


def test_the_officer_who_moved_a_report_out_of_scope_still_sees_it_without_the_contact():
    before, after = make_report(), make_report(agency_code="PROV-18", status="disposed")
    assert audience_after(before, after, viewer("agency_admin", scope=IN_SCOPE)) == ("agency", False)
    assert audience_after(before, before, viewer("agency_admin", scope=IN_SCOPE)) == ("agency", True)


@pytest.mark.parametrize("audience, kind, shown", [
    ("national_admin", "plain", True), ("national_admin", "anonymous", True), ("national_admin", "confidential", True),
    ("supervisor", "plain", False), ("supervisor", "anonymous", False), ("supervisor", "confidential", False),
    ("agency", "plain", True), ("agency", "anonymous", False), ("agency", "confidential", True),
    ("reporter", "anonymous", True), ("public", "plain", False),
])
def test_the_reporter_is_shown_only_to_those_the_design_names(audience, kind, shown):
    assert shows_reporter(make_report(**REPORT_KINDS[kind]), audience) is shown


@pytest.mark.parametrize("audience, officer", [
    ("national_admin", True), ("supervisor", True), ("agency", True), ("reporter", False), ("public", False),
])
def test_officer_views_add_hops_and_the_flag(audience, officer):
    view = report_view(make_report(hops=2, flagged=1), NOW, audience=audience)
    assert ("hops" in view, "flagged" in view) == (officer, officer)
    if officer:
        assert (view["hops"], view["flagged"]) == (2, True)
    assert "reporter" not in view and "rating" not in view and "access_code_hash" not in view


@pytest.mark.parametrize("audience, named", [
    ("national_admin", True), ("supervisor", True), ("agency", True), ("reporter", False), ("public", False),
])
def test_officer_names_appear_only_in_officer_timelines(audience, named):
    [item] = timeline_view([make_entry("followup")], audience)
    assert ("name" in item["actor"]) is named
    if named:
        assert item["actor"]["name"] == "Budi Santoso"
    assert "username" not in item["actor"]


def test_officer_timelines_show_private_kinds():
    assert [item["kind"] for item in timeline_view(make_timeline(), "agency")] == [
        "disposed", "info_requested", "reply", "followup", "rated", "access_code_reissued", "completed"]


def test_an_entry_keeps_the_officer_username_but_the_event_does_not():
    report = make_report()
    entry = new_entry(report, "followup", "in_progress", make_actor(username="budi"), NOW)
    assert entry["actor"]["username"] == "budi"
    assert "username" not in report_updated_event(report, entry, "e")["actor"]


# --- inbox, support, stats --------------------------------------------------------------------------------

def test_the_national_inbox_lists_the_queue_flagged_first():
    assert inbox_selection(viewer("national_admin")) == (
        "national_admin", ("received", "verified"), None, [("flagged", -1), ("created_key", 1)])


def test_an_agency_inbox_is_its_scope_s_open_work_by_deadline():
    audience, statuses, codes, sort = inbox_selection(viewer("agency_officer", scope=IN_SCOPE))
    assert (audience, statuses, codes, sort[0]) == ("agency", ("disposed", "in_progress"), IN_SCOPE, ("due_at", 1))
    assert inbox_selection(viewer("agency_admin", scope=IN_SCOPE), "received")[1] == ()


def test_a_supervisor_inbox_is_every_open_report_and_a_client_has_none():
    assert inbox_selection(viewer("supervisor"), "disposed")[1:3] == (("disposed",), None)
    with pytest.raises(NotVisible):
        inbox_selection(viewer("api_client"))


def test_a_supporter_key_is_per_report_and_never_the_address():
    key = supporter_key("secret", TRACKING_ID, "203.0.113.7")
    assert key.startswith(f"{TRACKING_ID}:") and "203.0.113.7" not in key
    assert key == supporter_key("secret", TRACKING_ID, "203.0.113.7")
    assert key != supporter_key("other-secret", TRACKING_ID, "203.0.113.7")
    assert key != supporter_key("secret", "10000011", "203.0.113.7")


def test_stats_view_ranks_agencies_and_regions_and_takes_the_median():
    counts = {
        "status": {"received": 2, "disposed": 3}, "channel": {"web": 4, "sms": 1}, "type": {"complaint": 5},
        "agency_code": {None: 2, "KOTA-18.72": 2, "PROV-18": 1}, "region_code": {"18.72": 4, None: 1},
    }
    stats = stats_view(counts, {"KOTA-18.72": "Pemerintah Kota Metro", "PROV-18": "Pemprov Lampung"},
                       {10: 1, 20: 1, 100: 1}, confidential_total=7, weekly=[], computed_at=NOW)
    assert stats["total"] == 5 and stats["by_status"] == {"received": 2, "disposed": 3}
    assert stats["by_agency"] == [{"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "count": 2},
                                  {"code": "PROV-18", "name": "Pemprov Lampung", "count": 1}]
    assert stats["by_region"] == [{"code": "18.72", "count": 4}]
    assert (stats["median_first_response_hours"], stats["confidential_total"]) == (2.0, 7)
    assert stats["computed_at"] == "2026-11-25T09:00:00+00:00"
    assert stats_view({f: {} for f in counts}, {}, {}, 0, [], NOW)["median_first_response_hours"] is None


@pytest.mark.parametrize("values", [[5], [1, 2], [3, 1, 2], [4, 4, 1, 9], [2, 2, 2, 7, 7, 7, 7], [0, 10, 10, 3, 3]])
def test_the_median_of_counted_values_is_the_median_of_the_values(values):
    import statistics
    counts = {value: values.count(value) for value in values}
    assert median_of_counts(counts) == statistics.median(values)
    assert median_of_counts({}) is None and median_of_counts({3: 0, None: 4}) is None


def test_the_weeks_end_with_this_one_and_count_each_day_in_its_week():
    mondays = stats_weeks(NOW.date(), 3)  # 25 Nov 2026 is a Wednesday
    assert mondays == ["2026-11-09", "2026-11-16", "2026-11-23"]
    daily = {"2026-11-08": 5, "2026-11-09": 1, "2026-11-15": 2, "2026-11-22": 4, "2026-11-25": 3, None: 9}
    assert weekly_counts(daily, mondays) == [
        {"week": "2026-11-09", "count": 3}, {"week": "2026-11-16", "count": 4}, {"week": "2026-11-23", "count": 3}]


def test_the_created_key_sorts_as_newest_first_does_whatever_the_offset():
    from zoneinfo import ZoneInfo
    earlier = created_key(datetime(2026, 11, 25, 15, 0, tzinfo=ZoneInfo("Asia/Jakarta")), "10000004")  # 08:00 UTC
    later = created_key(datetime(2026, 11, 25, 8, 0, 0, 1, tzinfo=timezone.utc), "10000004")
    same_time = created_key(datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc), "10000011")
    assert earlier == "2026-11-25T08:00:00.000000Z|10000004"
    assert sorted([later, same_time, earlier]) == [earlier, same_time, later]


def test_a_report_s_day_is_its_day_in_jakarta():
    assert jakarta_day(datetime(2026, 11, 22, 17, 30, tzinfo=timezone.utc)) == "2026-11-23"  # 00:30 WIB
    assert jakarta_day(datetime(2026, 11, 22, 16, 59, tzinfo=timezone.utc)) == "2026-11-22"


def test_a_snapshot_is_served_until_it_is_too_old_and_never_with_no_age_allowed():
    assert is_fresh(NOW - timedelta(seconds=119), NOW, 120)
    assert not is_fresh(NOW - timedelta(seconds=121), NOW, 120)
    assert not is_fresh(NOW, NOW, 0)
    assert not is_fresh(NOW + timedelta(seconds=5), NOW, 120)  # counted "in the future": a clock moved back


def test_a_drill_down_narrows_a_supervisor_to_one_agency_and_an_officer_only_within_scope():
    assert inbox_selection(viewer("supervisor"), agency="KOTA-18.72")[2] == ["KOTA-18.72"]
    assert inbox_selection(viewer("national_admin"), agency="KOTA-18.72")[1:3] == (
        inbox_selection(viewer("supervisor"))[1], ["KOTA-18.72"])
    assert inbox_selection(viewer("agency_officer", scope=IN_SCOPE), agency=IN_SCOPE[0])[2] == [IN_SCOPE[0]]
    assert inbox_selection(viewer("agency_officer", scope=IN_SCOPE), agency="PROV-99")[2] == []


@pytest.mark.parametrize("status", STATUSES)
def test_a_code_can_be_reissued_in_every_status_and_the_status_stays(status):
    from services.tracking.domain import reissue_change

    change = reissue_change(make_report(status=status))
    check_transition(change["kind"], status, change["to_status"])
    assert change["to_status"] == status and change["actor"] == {"role": "reporter"}
