"""Tracking's actions on the real broker and store: officer and reporter actions through the one change path,
officer views within scope, support, reissued access codes (sent by notifications, kept masked), inbox, stats."""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.access_codes import hash_access_code
from services.common.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from services.common.tracking_ids import make_tracking_id
from services.intake.service import IntakeService
from services.notifications.service import NotificationsService
from services.notifications.storage import NotificationsRepository
from services.tracking import service as tracking_service
from services.tracking.service import TrackingService
from services.tracking.storage import TrackingRepository
from tests.conftest import TEST_SECRET_KEY
from tests.support.bus import hook
from tests.support.factories import make_report, make_submitted_event
from tests.support.waiting import wait_for

CODE = "7K2M-9QXD"
TRACKING_ID = "10000004"
METRO = {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional", "scope": None}
SUPERVISOR = {"role": "supervisor", "username": "ombudsman", "name": "Pengawas", "scope": None}


def officer(role="agency_officer", scope=("KOTA-18.72", "KOTA-18.72-DPUPR"), name="Budi Santoso"):
    return {"role": role, "username": "budi", "name": name, "agency_code": scope[0], "agency_name": scope[0],
            "scope": list(scope)}


@pytest.fixture
def tracking(start_service):
    return start_service(TrackingService)


@pytest.fixture
def repo(open_repo):
    return open_repo(TrackingRepository, "lapor_tracking")


def open_case(tracking, service_config, tracking_id=TRACKING_ID, **overrides):
    """A case opened from `report_submitted`, its access code CODE; no contact unless a reporter_ref is given."""
    event = make_submitted_event(tracking_id=tracking_id, reporter_ref=None,
                                 access_code_hash=hash_access_code(TEST_SECRET_KEY, CODE), **overrides)
    with entrypoint_waiter(tracking, "on_report_submitted"):
        event_dispatcher(service_config)("intake", "report_submitted", event)
    return tracking_id


def call(tracking, method, *args, **kwargs):
    with hook(tracking, method) as entrypoint:
        return entrypoint(*args, **kwargs)


def dispose(tracking, tracking_id=TRACKING_ID, agency=METRO):
    change = {"kind": "disposed", "to_status": "disposed", "actor": {"role": "national_admin", "name": "Admin"},
              "agency_code": agency["code"], "agency_name": agency["name"]}
    return call(tracking, "transition", tracking_id, change)


def kinds_and_notes(repo, tracking_id=TRACKING_ID):
    return [(entry["kind"], entry["status"], entry["note"]) for entry in repo.entries(tracking_id, 100)]


def test_officer_actions_walk_a_report_through_its_life(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)
    agency = officer()

    first = call(tracking, "act", TRACKING_ID, "followup", agency, {"message": "Tim sudah ke lokasi.", "version": 2})
    assert (first["status"], first["version"], first["hops"], first["flagged"]) == ("in_progress", 3, 0, False)
    call(tracking, "act", TRACKING_ID, "request_info", agency, {"message": "Mohon kirim foto lokasi."})
    call(tracking, "act", TRACKING_ID, "followup", agency, {"message": "Perbaikan dijadwalkan."})
    completed = call(tracking, "act", TRACKING_ID, "complete", agency, {"note": "Jalan sudah ditambal."})
    reopened = call(tracking, "act", TRACKING_ID, "reopen", NATIONAL_ADMIN, {"reason": "Belum tuntas"})
    assert (completed["status"], reopened["status"]) == ("completed", "in_progress")
    archived = call(tracking, "act", TRACKING_ID, "archive", NATIONAL_ADMIN, {"note": "Ganda dengan laporan lain."})

    assert (archived["status"], archived["version"]) == ("archived", 8)
    assert kinds_and_notes(repo)[1:] == [
        ("disposed", "disposed", None),
        ("followup", "in_progress", "Tim sudah ke lokasi."),
        ("info_requested", "in_progress", "Mohon kirim foto lokasi."),
        ("followup", "in_progress", "Perbaikan dijadwalkan."),
        ("completed", "completed", "Jalan sudah ditambal."),
        ("reopened", "in_progress", "Belum tuntas"),
        ("archived", "archived", "Ganda dengan laporan lain."),
    ]
    report = repo.get_report(TRACKING_ID)
    assert report["first_response_seconds"] > 0 and report["completed_at"] is not None
    entry = repo.get_entry(TRACKING_ID, 3)
    assert entry["actor"]["username"] == "budi" and "scope" not in entry["actor"]


def test_a_stale_version_or_a_status_that_does_not_allow_it_changes_nothing(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)
    before = repo.get_report(TRACKING_ID)

    with pytest.raises(IllegalTransition, match="versi 2, bukan 1"):
        call(tracking, "act", TRACKING_ID, "followup", officer(), {"message": "Tindak lanjut", "version": 1})
    with pytest.raises(IllegalTransition) as refused:
        call(tracking, "act", TRACKING_ID, "reopen", NATIONAL_ADMIN, {"reason": "Belum selesai"})
    assert refused.value.message == "Laporan berstatus didisposisikan tidak dapat dibuka kembali."

    after = repo.get_report(TRACKING_ID)
    assert (after["version"], after["status"], after["updated_at"]) == (2, "disposed", before["updated_at"])
    assert len(repo.entries(TRACKING_ID, 100)) == 2


def test_outside_their_scope_an_officer_finds_nothing(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)
    province = officer("agency_admin", scope=("PROV-18",))

    for attempt in (
        lambda: call(tracking, "act", TRACKING_ID, "followup", province, {"message": "Tindak lanjut"}),
        lambda: call(tracking, "report", TRACKING_ID, viewer=province),
        lambda: call(tracking, "timeline", TRACKING_ID, viewer=province),
        lambda: call(tracking, "transition", TRACKING_ID, {
            "kind": "followup", "to_status": "in_progress", "actor": province, "expected_agency_scope": ["PROV-18"]}),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert repo.get_report(TRACKING_ID)["version"] == 2


def test_roles_and_bodies_are_checked_before_anything_changes(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)

    with pytest.raises(Forbidden):
        call(tracking, "act", TRACKING_ID, "followup", SUPERVISOR, {"message": "Saya pengawas"})
    with pytest.raises(Forbidden):
        call(tracking, "act", TRACKING_ID, "archive", officer("agency_admin"), {"note": "Arsipkan"})
    with pytest.raises(ValidationFailed) as invalid:
        call(tracking, "act", TRACKING_ID, "followup", officer(), {"message": "", "version": "2", "extra": 1})
    assert set(invalid.value.fields) == {"message", "version", "extra"}
    assert invalid.value.fields["extra"] == [{"id": "Kolom ini tidak dikenal.", "en": "Unknown field."}]
    with pytest.raises(ValidationFailed):
        call(tracking, "act", TRACKING_ID, "verify", NATIONAL_ADMIN, {})  # routing's, not tracking's
    assert repo.get_report(TRACKING_ID)["version"] == 2


def test_declines_count_hops_and_back_in_the_queue_the_report_is_flagged(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)
    decline = {"kind": "declined", "to_status": "received", "actor": officer("agency_admin"), "agency_code": None,
               "agency_name": None, "reason": "not_our_authority", "expected_agency_scope": officer()["scope"]}

    view = call(tracking, "transition", TRACKING_ID, decline)

    # The decliner still sees what they did, though the report has left their scope: without any contact.
    assert (view["status"], view["agency"], view["hops"], view["flagged"]) == ("received", None, 1, True)
    assert "reporter" not in view
    assert repo.get_entry(TRACKING_ID, 3)["reason"] == "not_our_authority"
    disposed = dispose(tracking)
    assert (disposed["hops"], disposed["flagged"]) == (1, False)


def test_the_reporter_replies_rates_once_and_reopens(tracking, service_config, repo):
    open_case(tracking, service_config)
    dispose(tracking)
    reply = call(tracking, "reporter_act", TRACKING_ID, CODE.lower(), "reply", {"message": "Fotonya saya kirim."})
    assert reply["status"] == "disposed" and "hops" not in reply
    with pytest.raises(IllegalTransition, match="tidak dapat dinilai"):
        call(tracking, "reporter_act", TRACKING_ID, CODE, "rate", {"score": 5})
    call(tracking, "act", TRACKING_ID, "complete", officer(), {"note": "Selesai diperbaiki."})

    rated = call(tracking, "reporter_act", TRACKING_ID, CODE, "rate", {"score": 4, "comment": "Cukup cepat"})
    assert rated["status"] == "completed"
    with pytest.raises(IllegalTransition, match="sudah dinilai"):
        call(tracking, "reporter_act", TRACKING_ID, CODE, "rate", {"score": 1})
    reopened = call(tracking, "reporter_act", TRACKING_ID, CODE, "reopen", {"reason": "Jalan berlubang lagi."})

    assert reopened["status"] == "in_progress"
    assert repo.get_report(TRACKING_ID)["rating"]["score"] == 4
    assert [(kind, note) for kind, _, note in kinds_and_notes(repo)[2:]] == [
        ("reply", "Fotonya saya kirim."), ("completed", "Selesai diperbaiki."), ("rated", "Cukup cepat"),
        ("reopened", "Jalan berlubang lagi.")]
    assert repo.get_entry(TRACKING_ID, 6)["actor"]["role"] == "reporter"
    public = [item["kind"] for item in call(tracking, "timeline", TRACKING_ID)]
    assert "reply" not in public and "rated" not in public and "reopened" in public


@pytest.mark.parametrize("confidential, code, error", [
    (False, None, Forbidden), (False, "AAAA-AAAA", Forbidden), (True, None, NotFound), (True, "AAAA-AAAA", NotFound),
])
def test_a_reporter_action_without_the_right_code_is_refused(tracking, service_config, repo, confidential, code,
                                                             error):
    open_case(tracking, service_config, confidential=confidential)
    dispose(tracking)
    with pytest.raises(error):
        call(tracking, "reporter_act", TRACKING_ID, code, "reply", {"message": "Halo"})
    assert repo.get_report(TRACKING_ID)["version"] == 2


def test_outside_the_reopen_window_the_reporter_cannot_reopen(start_service, service_config, repo):
    tracking = start_service(TrackingService, REOPEN_WINDOW_DAYS=0)
    open_case(tracking, service_config)
    dispose(tracking)
    call(tracking, "act", TRACKING_ID, "complete", officer(), {"note": "Selesai."})

    with pytest.raises(IllegalTransition, match="dalam 0 hari setelah dinyatakan selesai"):
        call(tracking, "reporter_act", TRACKING_ID, CODE, "reopen", {"reason": "Belum beres."})
    assert repo.get_report(TRACKING_ID)["status"] == "completed"
    # A national admin may still reopen it.
    assert call(tracking, "act", TRACKING_ID, "reopen", NATIONAL_ADMIN, {"reason": "Aduan ulang"})["status"] == \
        "in_progress"


def test_support_counts_once_per_address_and_never_for_a_confidential_report(tracking, service_config, repo):
    open_case(tracking, service_config)
    secret = open_case(tracking, service_config, tracking_id="10000011", confidential=True)

    answers = [call(tracking, "support", TRACKING_ID, address) for address in ("203.0.113.7", "203.0.113.7", "::1")]

    assert [(a["supported"], a["support_count"]) for a in answers] == [(True, 1), (False, 1), (True, 2)]
    assert call(tracking, "report", TRACKING_ID)["support_count"] == 2
    assert "203.0.113.7" not in str(list(repo.db.supports.find()))
    with pytest.raises(NotFound):
        call(tracking, "support", secret, "203.0.113.7")
    assert repo.get_report(secret)["support_count"] == 0


@pytest.fixture
def stack(start_service, open_repo):
    """Tracking with intake (the reporter's contact) and notifications (the new code's messenger)."""
    services = {cls.name: start_service(cls) for cls in (TrackingService, IntakeService, NotificationsService)}
    return services, open_repo(TrackingRepository, "lapor_tracking")


def submit(intake, repo, **overrides):
    with hook(intake, "submit") as submit_:
        receipt = submit_(make_report(**overrides), channel="sms")
    wait_for(lambda: repo.get_report(receipt["tracking_id"]), message="case opened")
    return receipt


def test_a_reissued_code_reaches_the_reporter_masked_in_the_store_and_replaces_the_old_one_on_use(
        stack, open_repo, monkeypatch):
    services, repo = stack
    tracking, messages = services["tracking"], open_repo(NotificationsRepository, "lapor_notifications")
    receipt = submit(services["intake"], repo, reporter={"phone": "081234567890"})
    tracking_id, old_code = receipt["tracking_id"], receipt["access_code"]
    monkeypatch.setattr(tracking_service, "generate_access_code", lambda: "ABCD-EFGH")

    assert call(tracking, "reissue_access_code", tracking_id) is None

    sent = messages.find_messages(tracking_id=tracking_id)[0]
    [message] = [m for m in sent if m["template"] == "access_code_reissued"]
    assert message["status"] == "sent" and message["channel"] == "sms"
    assert "****-****" in message["text"] and tracking_id in message["text"] and "ABCD" not in str(message)
    assert message["text"].startswith("LAPOR!: Kode akses baru")
    assert call(tracking, "report", tracking_id, access_code=old_code)["tracking_id"] == tracking_id  # still works
    assert "reporter" in call(tracking, "report", tracking_id, access_code="abcd efgh")  # first use of the new one
    with pytest.raises(Forbidden):
        call(tracking, "report", tracking_id, access_code=old_code)
    kinds = [item["kind"] for item in call(tracking, "timeline", tracking_id, access_code="ABCD-EFGH")]
    assert kinds[-1] == "access_code_reissued"
    assert "access_code_reissued" not in [item["kind"] for item in call(tracking, "timeline", tracking_id)]


def test_at_most_three_codes_a_day_and_an_unknown_report_is_answered_the_same(stack):
    services, repo = stack
    tracking_id = submit(services["intake"], repo)["tracking_id"]

    answers = [call(services["tracking"], "reissue_access_code", tracking_id) for _ in range(5)]
    answers.append(call(services["tracking"], "reissue_access_code", make_tracking_id(1_234_567)))

    assert answers == [None] * 6
    kinds = [entry["kind"] for entry in repo.entries(tracking_id, 100)]
    assert kinds.count("access_code_reissued") == 3


def test_send_access_code_without_a_contact_keeps_nothing(stack, open_repo):
    services, _ = stack
    with hook(services["notifications"], "send_access_code") as send:
        assert send(TRACKING_ID, "rep_unknown", "sms", "ABCD-EFGH") is False
    assert open_repo(NotificationsRepository, "lapor_notifications").find_messages(tracking_id=TRACKING_ID)[1] == 0


def test_officer_views_show_the_reporter_only_to_whom_the_design_names(stack):
    services, repo = stack
    tracking = services["tracking"]
    plain = submit(services["intake"], repo)["tracking_id"]
    anonymous = submit(services["intake"], repo, anonymous=True)["tracking_id"]
    for tracking_id in (plain, anonymous):
        dispose(tracking, tracking_id)
        call(tracking, "act", tracking_id, "followup", officer(), {"message": "Ditangani."})

    def reporter_phone(tracking_id, viewer):
        return call(tracking, "report", tracking_id, viewer=viewer).get("reporter", {}).get("phone")

    assert reporter_phone(plain, NATIONAL_ADMIN) == reporter_phone(anonymous, NATIONAL_ADMIN) == "+6281234567890"
    assert reporter_phone(plain, officer()) == "+6281234567890"
    assert reporter_phone(anonymous, officer()) is None
    assert reporter_phone(plain, SUPERVISOR) is None
    assert "reporter" not in call(tracking, "report", plain, viewer={"role": "api_client"})
    named = call(tracking, "timeline", plain, viewer=SUPERVISOR)[-1]["actor"]
    assert named["name"] == "Budi Santoso"
    assert "name" not in call(tracking, "timeline", plain)[-1]["actor"]


def test_each_role_has_its_own_inbox(tracking, service_config, repo):
    ids = [make_tracking_id(1_000_000 + n) for n in range(6)]
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    for n, tracking_id in enumerate(ids):
        open_case(tracking, service_config, tracking_id=tracking_id, confidential=(n == 3),
                  submitted_at=(start + timedelta(minutes=n)).isoformat())
    dispose(tracking, ids[1])
    dispose(tracking, ids[2], {"code": "KOTA-18.72-DPUPR", "name": "Dinas PUPR Kota Metro"})
    dispose(tracking, ids[3])
    dispose(tracking, ids[4], {"code": "PROV-18", "name": "Pemerintah Provinsi Lampung"})
    call(tracking, "act", ids[3], "followup", officer(), {"message": "Ditangani."})
    dispose(tracking, ids[5])
    call(tracking, "transition", ids[5], {"kind": "declined", "to_status": "received", "agency_code": None,
                                          "agency_name": None, "actor": officer("agency_admin")})

    def inbox(viewer, **query):
        page = call(tracking, "inbox", viewer, query)
        assert all("reporter" not in item and "hops" in item for item in page["items"])
        return [item["tracking_id"] for item in page["items"]], page["total"]

    assert inbox(NATIONAL_ADMIN) == ([ids[5], ids[0]], 2)  # flagged after a decline: first
    assert inbox(officer()) == ([ids[1], ids[2], ids[3]], 3)  # the unit's too, and the confidential one
    assert inbox(officer(), status="in_progress") == ([ids[3]], 1)
    assert inbox(officer(scope=("KOTA-18.72-DPUPR",))) == ([ids[2]], 1)
    assert inbox(SUPERVISOR)[1] == 6
    assert inbox(SUPERVISOR, per_page="2", page="3") == ([ids[4], ids[5]], 6)  # no deadlines here: oldest first
    assert inbox(SUPERVISOR, agency="KOTA-18.72") == ([ids[1], ids[3]], 2)  # drill-down, the confidential one too
    assert inbox(officer(), agency="KOTA-18.72-DPUPR") == ([ids[2]], 1)
    assert inbox(officer(scope=("KOTA-18.72-DPUPR",)), agency="PROV-18") == ([], 0)  # never outside the scope
    assert inbox(NATIONAL_ADMIN, region="18") == inbox(NATIONAL_ADMIN, region="18.72") == ([ids[5], ids[0]], 2)
    assert inbox(NATIONAL_ADMIN, region="31") == inbox(NATIONAL_ADMIN, region="18.71") == ([], 0)
    with pytest.raises(ValidationFailed):
        call(tracking, "inbox", NATIONAL_ADMIN, {"region": "1872"})
    with pytest.raises(Forbidden):
        call(tracking, "inbox", {"role": "api_client"}, {})
    with pytest.raises(ValidationFailed):
        call(tracking, "inbox", NATIONAL_ADMIN, {"per_page": "500"})


def test_stats_leave_confidential_reports_out_of_every_breakdown(start_service, service_config):
    tracking = start_service(TrackingService, STATS_MAX_AGE_SECONDS=0)
    ids = [make_tracking_id(1_000_000 + n) for n in range(4)]
    submitted = {0: timedelta(hours=2), 3: timedelta(hours=10)}  # the confidential one's 10 hours must not count
    for n, tracking_id in enumerate(ids):
        open_case(tracking, service_config, tracking_id=tracking_id, confidential=(n == 3),
                  channel="sms" if n == 0 else "web", location={"region_code": "18.72" if n < 2 else "18.71"},
                  submitted_at=(datetime.now(timezone.utc) - submitted.get(n, timedelta(0))).isoformat())
    for tracking_id in (ids[0], ids[3]):
        dispose(tracking, tracking_id)
        call(tracking, "act", tracking_id, "followup", officer(), {"message": "Ditangani."})

    stats = call(tracking, "stats")

    assert (stats["total"], stats["confidential_total"]) == (3, 1)
    assert stats["by_status"] == {"received": 2, "in_progress": 1}
    assert stats["by_channel"] == {"sms": 1, "web": 2} and stats["by_type"] == {"complaint": 3}
    assert stats["by_agency"] == [{"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "count": 1}]
    assert stats["by_region"] == [{"code": "18.72", "count": 2}, {"code": "18.71", "count": 1}]
    assert stats["median_first_response_hours"] == 2.0
    assert len(stats["weekly"]) == 12 and sum(week["count"] for week in stats["weekly"]) == 3


def test_stats_are_served_from_the_last_count_until_it_is_too_old(start_service, service_config, repo):
    tracking = start_service(TrackingService, STATS_MAX_AGE_SECONDS=600)
    open_case(tracking, service_config, tracking_id=make_tracking_id(1_000_100))
    repo.db.figures.delete_many({})  # the count the service made as it started, before this report
    first = call(tracking, "stats")
    open_case(tracking, service_config, tracking_id=make_tracking_id(1_000_101))

    assert call(tracking, "stats") == first and first["total"] == 1
    call(tracking, "refresh_stats")  # the count is young: the timer leaves it
    assert call(tracking, "stats")["total"] == 1

    repo.db.figures.update_one({"_id": "public_stats"}, {"$set": {
        "computed_iso": (datetime.now(timezone.utc) - timedelta(seconds=400)).isoformat()}})
    call(tracking, "refresh_stats")  # older than half the allowed age: recounted in the background
    recounted = call(tracking, "stats")
    assert recounted["total"] == 2 and recounted["computed_at"] > first["computed_at"]
