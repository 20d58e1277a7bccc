"""SMS 1708 through intake on the real broker and store: stored with its region, idempotent, the number kept private."""
import json

import pytest

from services.common.access_codes import normalize_access_code
from services.common.errors import IdempotencyConflict, ValidationFailed
from services.common.tracking_ids import is_valid_tracking_id
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

PHONE_FORMS = ("081234567890", "6281234567890", "+6281234567890", "81234567890")


def make_sms(**overrides):
    message = {
        "from": "0812-3456-7890",
        "text": "KOTA METRO Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan",
        "message_id": "smsc-0001",
        "received_at": "2026-11-25T09:30:00+07:00",
    }
    message.update(overrides)
    return message


@pytest.fixture
def recorder(start_service):
    recorder = make_recorder(("intake", "report_submitted"))
    start_service(recorder)
    return recorder


@pytest.fixture
def intake(start_service, recorder, service_config):
    start_service(TrackingService)  # issues the tracking-ID blocks and opens the case
    start_service(IntakeService)
    with service_proxy("intake", service_config) as proxy:
        yield proxy


@pytest.fixture
def intake_repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def test_an_sms_is_stored_with_its_region_and_answered_with_a_reply(intake, intake_repo, tracking_repo, recorder):
    answer = intake.submit_sms(make_sms())

    assert set(answer) == {"tracking_id", "access_code", "reply"}
    assert is_valid_tracking_id(answer["tracking_id"]) and normalize_access_code(answer["access_code"])
    assert answer["tracking_id"] in answer["reply"] and answer["access_code"] in answer["reply"]
    assert "lapor.test/lacak" in answer["reply"] and len(answer["reply"]) <= 160

    stored = intake_repo.get_submission(answer["tracking_id"])
    assert stored["channel"] == "sms" and stored["received_at"] is not None
    event = stored["event"]
    assert event["location"] == {"region_code": "18.72", "region_name": "Kota Metro"}
    assert event["region_hint"] == "18.72" and event["type"] == "complaint"
    assert event["body"] == "Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan"
    assert not event["anonymous"] and not event["confidential"]
    assert intake.contact(stored["reporter_ref"]) == {"phone": "+6281234567890"}

    report = wait_for(lambda: tracking_repo.get_report(answer["tracking_id"]), message="case opened")
    assert report["region_hint"] == "18.72" and report["channel"] == "sms"


def test_the_event_carries_the_region_hint_and_never_the_phone_number(intake, intake_repo, recorder):
    answer = intake.submit_sms(make_sms())

    [(_, event)] = wait_for(lambda: recorder.heard, message="report_submitted")
    assert event["tracking_id"] == answer["tracking_id"] and event["region_hint"] == "18.72"
    assert event["channel"] == "sms" and event["reporter_ref"].startswith("rep_")
    wire = json.dumps(event)
    stored = json.dumps(intake_repo.get_submission(answer["tracking_id"]), default=str)
    for form in PHONE_FORMS + ("0812-3456-7890",):
        assert form not in wire and form not in stored
    assert answer["access_code"] not in wire and answer["access_code"] not in stored


def test_an_unknown_region_is_accepted_whole_for_national_verification(intake, intake_repo):
    text = "Desa Sukamaju jalan rusak parah sudah tiga bulan"
    answer = intake.submit_sms(make_sms(text=text, message_id="smsc-0002"))

    event = intake_repo.get_submission(answer["tracking_id"])["event"]
    assert event["region_hint"] is None and event["location"] is None
    assert event["body"] == text and event["title"] == "Desa Sukamaju jalan rusak parah sudah tiga bulan"


def test_the_same_message_id_twice_gives_the_same_answer_and_one_report(intake, intake_repo):
    first = intake.submit_sms(make_sms())
    again = intake.submit_sms(make_sms(**{"from": "+62 812 3456 7890"}))  # the same sender, written otherwise

    assert again == first
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_the_same_message_id_with_another_text_is_a_conflict(intake, intake_repo):
    intake.submit_sms(make_sms())
    with pytest.raises(IdempotencyConflict):
        intake.submit_sms(make_sms(text="KOTA METRO lampu jalan mati"))
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_a_bad_phone_number_is_a_validation_error_on_from_and_writes_nothing(intake, intake_repo):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit_sms(make_sms(**{"from": "021-555-1234"}, extra="x"))

    assert set(caught.value.fields) == {"from", "extra"}
    assert caught.value.fields["from"][0]["id"].startswith("Nomor telepon Indonesia tidak valid")
    assert caught.value.fields["from"][0]["en"] == "Not a valid Indonesian phone number."
    assert intake_repo.db.submissions.count_documents({}) == 0
    assert intake_repo.db.idempotency.count_documents({}) == 0
