"""Intake against the real broker and store: the write comes first, the event follows, nothing is lost."""
import json

import pytest

from services.common.access_codes import normalize_access_code
from services.common.errors import IdempotencyConflict, Unavailable, ValidationFailed
from services.common.tracking_ids import is_valid_tracking_id, make_tracking_id
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import hook
from tests.support.factories import make_report
from tests.support.proxy import TcpProxy
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for


@pytest.fixture
def tracking(start_service):
    return start_service(TrackingService)


@pytest.fixture
def intake(start_service, tracking):
    return start_service(IntakeService)


@pytest.fixture
def intake_repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def submit(container, report=None, **kwargs):
    with hook(container, "submit") as call:
        return call(report or make_report(), **kwargs)


def test_a_submission_is_stored_with_its_contact_encrypted_then_published(
    intake, intake_repo, start_service
):
    recorder = make_recorder(("intake", "report_submitted"))
    start_service(recorder)

    receipt = submit(intake)

    assert is_valid_tracking_id(receipt["tracking_id"]) and receipt["status"] == "received"
    assert normalize_access_code(receipt["access_code"]) is not None
    stored = intake_repo.get_submission(receipt["tracking_id"])
    raw = json.dumps(stored, default=str)
    assert "081234567890" not in raw and "6281234567890" not in raw and "siti@example.id" not in raw
    assert receipt["access_code"] not in raw
    [(_, event)] = wait_for(lambda: recorder.heard, message="report_submitted")
    assert event["tracking_id"] == receipt["tracking_id"] and event["reporter_ref"] == stored["reporter_ref"]
    assert "reporter" not in event and "phone" not in raw
    wait_for(lambda: intake_repo.get_submission(receipt["tracking_id"])["published"], message="published flag")


def test_contact_is_given_back_decrypted_to_services(intake, intake_repo):
    receipt = submit(intake)
    reporter_ref = intake_repo.get_submission(receipt["tracking_id"])["reporter_ref"]
    with hook(intake, "contact") as contact:
        assert contact(reporter_ref) == {"name": "Siti Aminah", "phone": "+6281234567890", "email": "siti@example.id"}
        assert contact("rep_unknown") is None


def test_invalid_input_names_each_field_and_writes_nothing(intake, intake_repo):
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, make_report(type="ticket", title="", anonymous="yes", extra=1))
    assert set(caught.value.fields) == {"type", "title", "anonymous", "extra"}
    assert caught.value.fields["extra"][0]["id"] == "Kolom ini tidak dikenal."
    assert intake_repo.db.submissions.count_documents({}) == 0


def test_idempotency_key_replays_the_same_receipt_and_refuses_another_body(intake, intake_repo):
    first = submit(intake, idempotency_key="key-1")
    replay = submit(intake, idempotency_key="key-1")
    assert replay == first
    with pytest.raises(IdempotencyConflict):
        submit(intake, make_report(title="Laporan yang berbeda isinya"), idempotency_key="key-1")
    assert intake_repo.db.submissions.count_documents({}) == 1
    assert intake_repo.db.idempotency.find_one({})["access_code_encrypted"] != first["access_code"]


def test_no_receipt_unless_this_submission_is_the_one_stored(intake, intake_repo):
    """Issue 12 item 7: an ID already holding another report (never expected; a reissued block, say) gives no 201."""
    first = submit(intake)
    taken = make_tracking_id(int(first["tracking_id"][:-1]) + 1)  # the allocator's next number
    foreign = dict(intake_repo.get_submission(first["tracking_id"]), _id=taken, tracking_id=taken, reporter_ref="rep_x")
    foreign["event"] = dict(foreign["event"], tracking_id=taken, access_code_hash="f" * 64)
    intake_repo.db.submissions.insert_one(foreign)

    with pytest.raises(Unavailable):
        submit(intake)
    assert intake_repo.get_submission(taken)["event"]["access_code_hash"] == "f" * 64  # left as it was
    assert submit(intake, idempotency_key="after")["tracking_id"] not in (first["tracking_id"], taken)


@pytest.fixture
def proxy():
    proxy = TcpProxy().start()
    yield proxy
    proxy.close()


def test_when_the_broker_drops_after_the_write_the_event_goes_out_once_it_is_back(
    rabbit_config, start_service, tracking, intake_repo, tracking_repo, proxy
):
    intake = start_service(IntakeService, AMQP_URI=proxy.uri(rabbit_config["vhost"]))
    submit(intake)  # reserves the first tracking-ID block while the broker is reachable

    proxy.cut()
    receipt = submit(intake)

    # Accepted and stored: the reporter has a tracking ID; the event is still owed.
    submission = intake_repo.get_submission(receipt["tracking_id"])
    assert submission is not None and not submission["published"]
    assert tracking_repo.get_report(receipt["tracking_id"]) is None

    proxy.restore()
    wait_for(lambda: tracking_repo.get_report(receipt["tracking_id"]), timeout=30, message="case opened after relay")
    wait_for(lambda: intake_repo.get_submission(receipt["tracking_id"])["published"], message="published flag")


def test_categories_are_served_and_a_report_may_name_only_one_of_them(intake):
    with hook(intake, "categories") as categories:
        served = {category["code"]: category for category in categories()}
    assert served["jalan-rusak"]["group"] == "infrastruktur" and served["jalan-rusak"]["attributes"]
    assert is_valid_tracking_id(submit(intake, make_report(category="jalan-rusak"))["tracking_id"])
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, make_report(category="jalan"))
    assert caught.value.fields["category"] == [{"id": "Kategori tidak dikenal (lihat daftar kategori LAPOR, "
                                                      "mis. jalan-rusak).", "en": "Unknown category."}]


def test_open311_is_a_channel_of_its_own(intake, intake_repo):
    receipt = submit(intake, channel="open311", client="pemkot-metro")
    assert intake_repo.get_submission(receipt["tracking_id"])["channel"] == "open311"
