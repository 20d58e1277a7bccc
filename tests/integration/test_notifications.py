"""Notifications on the real bus with the real intake (contacts) and routing (agencies): one message per event,
recipient and channel whatever the redelivery, dispositions told with their deadline, agencies told without the
reporter's identity, deadline warnings and breaches, retries with backoff, dead letters and the resend."""
import uuid
from datetime import datetime, timezone

import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.errors import IllegalTransition, NotFound, ValidationFailed
from services.common.events import now
from services.common.tracking_ids import make_tracking_id
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.notifications import templates
from services.notifications.service import NotificationsService
from services.notifications.storage import NotificationsRepository
from services.routing.service import RoutingService
from services.routing.storage import RoutingRepository
from services.tracking.service import TrackingService
from tests.support.bus import hook
from tests.support.factories import make_report, make_updated_event
from tests.support.peers import ProcessPeer
from tests.support.proxy import free_port
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

# Never one the running tracking hands out (its blocks start at 1,000,000), so the real submissions that give
# the tests their reporter references never add messages to this report.
TRACKING_ID = make_tracking_id(1_234_567)
DUE = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)  # 16.00 WIB
AGENCIES = [
    {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "kind": "city", "parent_code": "PROV-18",
     "region_code": "18.72"},
    {"code": "PROV-18", "name": "Pemerintah Provinsi Lampung", "kind": "province", "parent_code": None,
     "region_code": "18"},
]
SITI = {"name": "Siti Aminah", "phone": "081234567890", "email": "siti@example.id"}
SITI_TRACES = ("Siti", "Aminah", "081234567890", "+6281234567890", "1234567890", "siti@example.id")


@pytest.fixture
def intake(start_service):
    start_service(TrackingService)
    return start_service(IntakeService)


@pytest.fixture
def reporter(intake, open_repo):
    """reporter(channel, **contact) → the reporter_ref of a real submission in intake."""
    submissions = open_repo(IntakeRepository, "lapor_intake")

    def make(channel="web", anonymous=False, **contact):
        with hook(intake, "submit") as submit:
            receipt = submit(make_report(reporter=contact, anonymous=anonymous), channel=channel)
        return submissions.get_submission(receipt["tracking_id"])["reporter_ref"]

    return make


@pytest.fixture
def routing(start_service, open_repo):
    repository = open_repo(RoutingRepository, "lapor_routing")
    repository.upsert_agencies([dict(agency) for agency in AGENCIES])
    start_service(RoutingService)
    return repository


@pytest.fixture
def repo(open_repo):
    return open_repo(NotificationsRepository, "lapor_notifications")


@pytest.fixture
def notifications(start_service):
    def start(**config):
        return start_service(NotificationsService, **config)

    return start


def updated(reporter_ref, **overrides):
    fields = dict(tracking_id=TRACKING_ID, reporter_ref=reporter_ref, channel="web")
    fields.update(overrides)
    return make_updated_event(**fields)


def disposed(reporter_ref, version=2, **overrides):
    return updated(reporter_ref, version=version, kind="disposed", status="disposed", previous_status="received",
                   agency_code="KOTA-18.72", agency_name="Pemerintah Kota Metro", **overrides)


def deadline(event_type="deadline_set", stage="response", version=2, due_at=DUE, **overrides):
    event = {"event_id": str(uuid.uuid4()), "tracking_id": TRACKING_ID, "emitted_at": now().isoformat(),
             "schema": 1, "stage": stage, "clock_id": f"{TRACKING_ID}:{stage}:{version}",
             "due_at": due_at.isoformat(), "agency_code": "KOTA-18.72", "version": version}
    event.update(overrides)
    return event_type, event


HANDLERS = {"report_updated": "on_report_updated", "deadline_set": "on_deadline_set",
            "deadline_approaching": "on_deadline_approaching", "deadline_breached": "on_deadline_breached"}


def deliver(container, service_config, *events):
    """Each (event_type, payload) or report_updated payload, one after the other, each handled before the next.

    The wait is for this very event: the real submissions behind the reporter references make events too."""
    dispatch = event_dispatcher(service_config)
    for item in events:
        event_type, payload = item if isinstance(item, tuple) else ("report_updated", item)
        source = "tracking" if event_type == "report_updated" else "sla"

        def handled(worker_ctx, result, exc_info, event_id=payload["event_id"]):
            return exc_info is None and worker_ctx.args[0].get("event_id") == event_id

        with entrypoint_waiter(container, HANDLERS[event_type], callback=handled):
            dispatch(source, event_type, payload)


def messages(repo, **filters):
    return repo.find_messages(tracking_id=TRACKING_ID, per_page=100, **filters)[0]


def by_channel(repo):
    return {m["channel"]: m for m in messages(repo)}


def call(container, method, *args, **kwargs):
    with hook(container, method) as entrypoint:
        return entrypoint(*args, **kwargs)


# --- the reporter ------------------------------------------------------------------------------------------------

def test_a_web_reporter_gets_the_receipt_by_email_and_on_every_other_contact(
        notifications, reporter, service_config, repo):
    ref = reporter("web", **SITI)
    container = notifications()
    deliver(container, service_config, updated(ref))

    sent = by_channel(repo)
    assert set(sent) == {"email", "sms"} and {m["status"] for m in sent.values()} == {"sent"}
    assert sent["email"]["recipient_masked"] == "s***@example.id"
    assert sent["sms"]["recipient_masked"] == "********890"
    assert sent["email"]["template"] == "report_received" and TRACKING_ID in sent["email"]["text"]
    assert f"http://lapor.test/lacak?id={TRACKING_ID}" in sent["email"]["text"]
    assert not any(trace in str(messages(repo)) for trace in SITI_TRACES[2:])


def test_an_sms_reporter_gets_no_second_receipt_but_is_told_what_follows_by_sms(
        notifications, reporter, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications()
    deliver(container, service_config, updated(ref, channel="sms"),
            updated(ref, channel="sms", version=2, kind="verified", status="verified"))

    [message] = messages(repo)
    assert (message["channel"], message["template"], message["status"]) == ("sms", "report_verified", "sent")
    assert len(message["text"]) <= 160


def test_a_redelivered_event_or_the_same_entry_under_a_new_event_id_sends_nothing_twice(
        notifications, reporter, service_config, repo):
    ref = reporter("web", **SITI)
    container = notifications()
    verified = updated(ref, version=2, kind="verified", status="verified")
    deliver(container, service_config, verified, verified, dict(verified, event_id=str(uuid.uuid4())))

    sent = messages(repo)
    assert sorted(m["channel"] for m in sent) == ["email", "sms"]
    assert all(m["attempts"] == 1 for m in sent)


def test_an_older_entry_arriving_late_is_still_told(notifications, reporter, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications()
    deliver(container, service_config,
            updated(ref, channel="sms", version=3, kind="rejected", status="rejected", reason="criminal"),
            updated(ref, channel="sms", version=2, kind="verified", status="verified"))

    assert sorted(m["template"] for m in messages(repo)) == ["report_rejected", "report_verified"]
    [rejected] = [m for m in messages(repo, status="sent", channel="sms") if m["template"] == "report_rejected"]
    assert "tindak pidana" in rejected["text"]


# --- dispositions and their deadline ----------------------------------------------------------------------------

def test_a_disposition_waits_for_its_deadline_then_tells_it_once_to_reporter_and_agency(
        notifications, reporter, routing, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_DEADLINE_WAIT_SECONDS=300)
    deliver(container, service_config, disposed(ref, channel="sms"))
    held = by_channel(repo)
    assert set(held) == {"sms", "console"} and {m["status"] for m in held.values()} == {"held"}

    deliver(container, service_config, deadline(), deadline())  # redelivered under a new event id

    sent = by_channel(repo)
    assert {m["status"] for m in sent.values()} == {"sent"} and all(m["attempts"] == 1 for m in sent.values())
    assert "Pemerintah Kota Metro" in sent["sms"]["text"] and "27/11/2026 16.00 WIB" in sent["sms"]["text"]
    assert sent["console"]["audience"] == "agency" and sent["console"]["recipient_masked"] == "KOTA-18.72"
    assert "27/11/2026 16.00 WIB" in sent["console"]["text"] and sent["console"]["template"] == "agency_disposed"


def test_a_deadline_known_before_the_disposition_is_told_at_once(
        notifications, reporter, routing, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_DEADLINE_WAIT_SECONDS=300)
    deliver(container, service_config, deadline(), disposed(ref, channel="sms"))

    sent = by_channel(repo)
    assert {m["status"] for m in sent.values()} == {"sent"}
    assert "27/11/2026 16.00 WIB" in sent["sms"]["text"]


def test_a_disposition_whose_deadline_never_comes_goes_out_after_the_wait_with_the_promised_span(
        notifications, reporter, routing, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_DEADLINE_WAIT_SECONDS=0)
    deliver(container, service_config, disposed(ref, channel="sms"))

    def all_sent():
        call(container, "retry_failed")
        return {m["status"] for m in messages(repo)} == {"sent"}

    wait_for(all_sent, message="held messages sent after the wait")
    assert "5 hari kerja" in by_channel(repo)["sms"]["text"]


# --- agencies ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("anonymous", [True, False])
def test_an_agency_message_never_carries_the_reporters_identity(
        notifications, reporter, routing, service_config, repo, anonymous):
    ref = reporter("web", anonymous=anonymous, **SITI)
    container = notifications()
    reply = updated(ref, version=4, kind="reply", status="in_progress", agency_code="KOTA-18.72",
                    agency_name="Pemerintah Kota Metro", note="Lubangnya masih ada di depan pasar.",
                    anonymous=anonymous, actor={"role": "reporter", "agency_code": None})
    deliver(container, service_config, reply)

    [message] = messages(repo)
    assert (message["audience"], message["channel"], message["template"]) == ("agency", "console",
                                                                              "agency_reporter_reply")
    assert "Lubangnya masih ada" in message["text"]
    assert not any(trace in str(message) for trace in SITI_TRACES)
    assert "reporter_ref" not in message


def test_deadline_warnings_and_breaches_reach_the_agency_on_its_contacts_once(
        notifications, reporter, routing, service_config, repo, start_service):
    with hook(start_service(RoutingService), "set_agency_contacts") as set_contacts:
        set_contacts("KOTA-18.72", {"email": "dpupr@metrokota.go.id"})
    container = notifications()
    breach = deadline("deadline_breached")
    deliver(container, service_config, deadline("deadline_approaching"), breach,
            (breach[0], dict(breach[1], event_id=str(uuid.uuid4()))),
            deadline("deadline_breached", stage="verification", agency_code=None, version=1))

    sent = messages(repo)
    assert sorted(m["template"] for m in sent) == ["agency_deadline_approaching", "agency_deadline_breached"]
    assert {(m["channel"], m["recipient_masked"], m["status"]) for m in sent} == {
        ("email", "d***@metrokota.go.id", "sent")}
    [breached] = [m for m in sent if m["template"] == "agency_deadline_breached"]
    assert "tanggapan" in breached["text"] and "Pemerintah Kota Metro" in breached["text"]


# --- retries, dead letters, the resend ---------------------------------------------------------------------------

def test_a_failed_send_is_retried_after_an_exponential_backoff(notifications, reporter, service_config, repo):
    ref = reporter("web", email="siti@example.id")
    container = notifications(NOTIFY_ADAPTERS="email=smtp", SMTP_PORT=free_port(), NOTIFY_RETRY_BASE_SECONDS=30)
    deliver(container, service_config, updated(ref, version=2, kind="verified", status="verified"))

    [message] = messages(repo)
    assert (message["status"], message["attempts"]) == ("failed", 1)
    assert message["last_error"] in ("ConnectionRefusedError", "OSError")
    wait = (message["next_attempt_at"] - now()).total_seconds()
    assert 13 <= wait <= 30  # 30 s with equal jitter: between half and all of it
    call(container, "retry_failed")
    assert messages(repo)[0]["attempts"] == 1  # not due yet


def test_after_the_last_try_a_message_is_dead_announced_and_a_national_admin_can_resend_it(
        notifications, reporter, service_config, repo, start_service, tmp_path):
    recorder = make_recorder(("notifications", "notification_failed"))
    start_service(recorder)
    ref = reporter("web", email="siti@example.id")
    smtp_port = free_port()
    container = notifications(NOTIFY_ADAPTERS="email=smtp", SMTP_PORT=smtp_port, NOTIFY_RETRY_BASE_SECONDS=0,
                              NOTIFY_MAX_ATTEMPTS=3)
    deliver(container, service_config, updated(ref, version=2, kind="verified", status="verified"))

    def dead():
        call(container, "retry_failed")
        return messages(repo)[0]["status"] == "dead"

    wait_for(dead, message="dead after the last try")
    [message] = messages(repo)
    assert message["attempts"] == 3
    [(_, failed)] = wait_for(lambda: recorder.heard, message="notification_failed heard")
    assert failed["outbox_id"] == message["_id"] and failed["channel"] == "email"
    assert "siti" not in str(failed)
    exposition = requests.get(f"http://{container.config['WEB_SERVER_ADDRESS']}/metrics", timeout=10).text
    assert 'lapor_notifications_failed_total{channel="email"} 3.0' in exposition
    assert 'lapor_notifications_dead_total{channel="email"} 1.0' in exposition

    sink = ProcessPeer("tests.support.smtp_sink", tmp_path, port=smtp_port).start()
    try:
        resent = call(container, "resend", message["_id"], {"username": "budi.s", "role": "national_admin"})
        assert (resent["status"], resent["attempts"]) == ("sent", 1)
        [mail] = sink.wait_for(1)
        assert mail["to"] == ["siti@example.id"]
    finally:
        sink.stop()
    with pytest.raises(IllegalTransition):
        call(container, "resend", message["_id"], {"username": "budi.s"})  # sent: nothing to resend
    with pytest.raises(NotFound):
        call(container, "resend", f"{TRACKING_ID}:99:reporter:email", {"username": "budi.s"})
    assert repo.get_message(message["_id"])["resent_by"] == "budi.s"


def test_sent_messages_are_counted_and_timed_per_channel(notifications, reporter, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications()
    deliver(container, service_config, updated(ref, channel="sms", version=2, kind="verified", status="verified"))

    exposition = requests.get(f"http://{container.config['WEB_SERVER_ADDRESS']}/metrics", timeout=10).text
    assert 'lapor_notifications_sent_total{channel="sms"} 1.0' in exposition
    assert 'lapor_notification_latency_seconds_count{channel="sms"} 1.0' in exposition


# --- templates ---------------------------------------------------------------------------------------------------

def test_a_national_admin_edits_a_template_the_next_message_uses_it_and_a_reset_restores_it(
        notifications, reporter, service_config, repo):
    ref = reporter("sms", phone="081234567890")
    container = notifications()
    admin = {"username": "budi.s", "role": "national_admin"}
    with pytest.raises(ValidationFailed) as refused:
        call(container, "update_template", "report_verified", "id", "Laporan {tracking_id} oleh {nama}", admin)
    assert "{nama}" in refused.value.fields["text"][0]["id"]
    with pytest.raises(NotFound):
        call(container, "update_template", "no_such_template", "id", "{tracking_id}", admin)

    edited = call(container, "update_template", "report_verified", "id",
                  "LAPOR!: {tracking_id} sudah kami periksa. Pantau di {report_url}", admin)
    assert edited["customized"] and edited["updated_by"] == "budi.s"
    deliver(container, service_config, updated(ref, channel="sms", version=2, kind="verified", status="verified"))
    expected = f"LAPOR!: {TRACKING_ID} sudah kami periksa. Pantau di http://lapor.test/lacak?id={TRACKING_ID}"
    assert messages(repo)[0]["text"] == expected

    reset = call(container, "reset_template", "report_verified", "id")
    assert not reset["customized"] and reset["text"] == reset["default_text"]
    listed = call(container, "templates")
    assert len(listed) == 2 * len(templates.names()) and not any(t["customized"] for t in listed)
    assert {t["language"] for t in listed} == {"id", "en"}
