"""Notifications on the real bus with the real intake (for the contact): one message per entry, whatever the order."""
import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.notifications.service import NotificationsService
from services.notifications.storage import NotificationsRepository
from services.tracking.service import TrackingService
from tests.support.factories import make_report, make_updated_event


@pytest.fixture
def reporter_ref(start_service, open_repo):
    """A real submission in intake (tracking gives it its ID block); its reporter reference."""
    start_service(TrackingService)
    intake = start_service(IntakeService)
    with entrypoint_hook(intake, "submit") as submit:
        receipt = submit(make_report(reporter={"phone": "081234567890"}), channel="sms")
    return open_repo(IntakeRepository, "lapor_intake").get_submission(receipt["tracking_id"])["reporter_ref"]


@pytest.fixture
def notifications(start_service, reporter_ref):
    return start_service(NotificationsService)


@pytest.fixture
def repo(open_repo):
    return open_repo(NotificationsRepository, "lapor_notifications")


def event(reporter_ref, **overrides):
    return make_updated_event(tracking_id="10000004", reporter_ref=reporter_ref, channel="sms", **overrides)


def deliver(container, service_config, *events):
    dispatch = event_dispatcher(service_config)
    for payload in events:
        with entrypoint_waiter(container, "on_report_updated"):
            dispatch("tracking", "report_updated", payload)


def test_the_reporter_gets_a_receipt_by_sms_with_the_tracking_id(notifications, service_config, reporter_ref, repo):
    deliver(notifications, service_config, event(reporter_ref))
    [message] = repo.find_messages(tracking_id="10000004")[0]
    assert message["channel"] == "sms" and message["status"] == "sent"
    assert message["recipient_masked"] == "0812****7890"
    assert "10000004" in message["text"] and "diterima" in message["text"]
    assert "081234567890" not in str(message) and "+6281234567890" not in str(message)


def test_a_redelivered_event_sends_nothing_twice(notifications, service_config, reporter_ref, repo):
    opened = event(reporter_ref)
    deliver(notifications, service_config, opened, opened, dict(opened, event_id="another-id-same-entry"))
    messages, total = repo.find_messages(tracking_id="10000004")
    assert total == 1 and messages[0]["attempts"] == 1


def test_an_older_entry_arriving_late_is_still_told(notifications, service_config, reporter_ref, repo):
    disposed = event(reporter_ref, version=2, kind="disposed", status="disposed", previous_status="received",
                     agency_code="KOTA-18.72", agency_name="Pemerintah Kota Metro")
    deliver(notifications, service_config, disposed, event(reporter_ref))
    messages, _ = repo.find_messages(tracking_id="10000004")
    assert sorted(m["template"] for m in messages) == ["report_disposed", "report_received"]
    assert any("Pemerintah Kota Metro" in m["text"] for m in messages)


def test_an_entry_without_a_template_sends_nothing(notifications, service_config, reporter_ref, repo):
    deliver(notifications, service_config, event(reporter_ref, version=2, kind="verified", status="verified"))
    eventlet.sleep(0.2)
    assert repo.find_messages(tracking_id="10000004")[1] == 0
