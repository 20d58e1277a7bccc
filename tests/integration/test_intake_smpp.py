"""SMS 1708 over SMPP end to end: a phone bound to a local SMSC (smpp34's server, tests/support/smsc.py) sends to
1708, the SMSC delivers it to intake's transceiver bind, the report is stored on the real store and broker, and the
reply reaches the phone; redeliveries make one report, and what is not stored is left for the SMSC to retry. The
parts of a long SMS are stored before they are acknowledged, so they outlive the intake process that took them."""
import re
from datetime import timedelta

import eventlet
import pytest

from services.common.events import now
from services.common.metrics import Metrics
from services.intake.service import IntakeService
from services.intake.smpp import REFUSE, RETRY, SmppReceiver
from services.intake.smpp_pdu import PARTS_TIMEOUT_SECONDS
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.bus import hook, service_proxy
from tests.support.peers import ProcessPeer
from tests.support.phone import Phone
from tests.support.waiting import wait_for

TEXT = "KOTA METRO Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan"
LONG_TEXT = TEXT + " sejak kemarin sore dan warga sudah melapor ke kelurahan tetapi belum ada petugas datang"
TRACKING_ID = re.compile(r"No: (\S+)")


@pytest.fixture
def smsc(tmp_path):
    peer = ProcessPeer("tests.support.smsc", tmp_path).start()
    yield peer
    peer.stop()


@pytest.fixture
def phone(smsc):
    handset = Phone(smsc.port).start()
    yield handset
    handset.stop()


@pytest.fixture
def start_intake(smsc, start_service):
    def start(**overrides):
        return start_service(IntakeService, SMPP_RECEIVER_HOST="127.0.0.1", SMPP_RECEIVER_PORT=smsc.port,
                             SMPP_RECEIVER_SYSTEM_ID="lapor-in", SMPP_RECEIVER_PASSWORD="secret", **overrides)

    return start


@pytest.fixture
def intake(start_intake, start_service):
    start_service(TrackingService)
    return start_intake()


@pytest.fixture
def intake_repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def deliveries(smsc, system_id="lapor-in"):
    return [line for line in smsc.received() if line["pdu"] == "deliver_sm" and line["system_id"] == system_id]


def answered(smsc, count, status=0):
    return wait_for(lambda: len([line for line in deliveries(smsc) if line["command_status"] == status]) >= count
                    and deliveries(smsc), message=f"{count} deliver_sm answered {status}")


def test_an_sms_to_1708_becomes_a_report_and_the_reply_reaches_the_phone(
        intake, phone, smsc, intake_repo, service_config):
    phone.send(TEXT.encode("ascii"))

    [reply] = wait_for(lambda: phone.inbox, message="the reply on the phone")
    tracking_id = TRACKING_ID.search(reply).group(1)
    stored = intake_repo.get_submission(tracking_id)
    assert stored["channel"] == "sms" and stored["received_at"] is not None
    assert stored["event"]["location"] == {"region_code": "18.72", "region_name": "Kota Metro"}
    assert stored["event"]["body"] == TEXT.removeprefix("KOTA METRO ")
    with service_proxy("intake", service_config) as proxy:
        assert proxy.contact(stored["reporter_ref"]) == {"phone": "+6281234567890"}
    [delivered] = deliveries(smsc)
    assert delivered["command_status"] == 0 and delivered["source_addr"] == phone.number
    [sent] = [line for line in smsc.received() if line["pdu"] == "submit_sm" and line["system_id"] == "lapor-in"]
    assert sent["source_addr"] == "1708" and sent["destination_addr"] == phone.number
    assert "lapor.test/lacak" in reply and len(reply) <= 160


def test_the_same_sms_delivered_twice_is_one_report_with_one_answer(intake, phone, smsc, intake_repo):
    phone.send(TEXT.encode("ascii"), service_type="DUP")  # the SMSC delivers it again, as after a lost ack

    first, again = wait_for(lambda: len(phone.inbox) >= 2 and phone.inbox, message="two replies")
    assert first == again
    assert [line["command_status"] for line in answered(smsc, 2)] == [0, 0]
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_a_long_sms_in_parts_is_one_report_in_order(intake, phone, smsc, intake_repo):
    text = TEXT + " sejak kemarin sore dan warga sudah melapor ke kelurahan 🙏"
    encoded = text.encode("utf-16-be")
    halves = [encoded[:80], encoded[80:]]
    for seq in (2, 1):  # the second part first
        phone.send(bytes([5, 0, 3, 77, 2, seq]) + halves[seq - 1], esm_class=0x40, data_coding=8)

    [reply] = wait_for(lambda: phone.inbox, message="the reply")
    event = intake_repo.get_submission(TRACKING_ID.search(reply).group(1))["event"]
    assert event["body"] == text.removeprefix("KOTA METRO ") and event["region_hint"] == "18.72"
    assert_answered_once(phone, smsc, intake_repo)  # though both parts may complete it at the same moment


def test_a_delivery_receipt_is_acknowledged_and_is_not_a_report(intake, phone, smsc, intake_repo):
    phone.send(b"id:m1 sub:001 dlvrd:001 submit date:2611250930 done date:2611250931 stat:DELIVRD err:000",
               esm_class=0x04)

    answered(smsc, 1)
    assert intake_repo.db.submissions.count_documents({}) == 0 and phone.inbox == []


def test_a_sender_that_is_not_an_indonesian_mobile_is_refused_for_good(intake, smsc, intake_repo):
    abroad = Phone(smsc.port, number="4915112345678").start()
    try:
        abroad.send(TEXT.encode("ascii"))
        [refused] = answered(smsc, 1, status=REFUSE)
        eventlet.sleep(1)  # the SMSC would have tried again by now after a temporary error
    finally:
        abroad.stop()
    assert refused["attempt"] == 1 and len(deliveries(smsc)) == 1
    assert intake_repo.db.submissions.count_documents({}) == 0


def test_while_tracking_is_away_the_sms_waits_at_the_smsc_until_it_can_be_stored(
        start_intake, start_service, phone, smsc, intake_repo):
    start_intake(RPC_TIMEOUT=1)  # no tracking yet: no tracking ID can be issued
    phone.send(TEXT.encode("ascii"))

    answered(smsc, 1, status=RETRY)
    assert phone.inbox == [] and intake_repo.db.submissions.count_documents({}) == 0
    start_service(TrackingService)

    answered(smsc, 1, status=0)
    [reply] = wait_for(lambda: phone.inbox, message="the reply once stored")
    assert intake_repo.get_submission(TRACKING_ID.search(reply).group(1))
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_the_receiver_binds_again_after_the_smsc_restarts(intake, smsc, tmp_path, intake_repo):
    wait_for(lambda: _bound(intake), message="bound")
    smsc.stop()
    (tmp_path / "restarted").mkdir()
    restarted = ProcessPeer("tests.support.smsc", tmp_path / "restarted", port=smsc.port).start()
    handset = None
    try:
        handset = Phone(restarted.port).start()
        handset.send(TEXT.encode("ascii"))
        wait_for(lambda: handset.inbox, timeout=30, message="the reply through the new bind")
    finally:
        if handset is not None:
            handset.stop()
        restarted.stop()
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_an_idle_link_is_kept_with_enquire_link(start_intake, start_service, phone, smsc, intake_repo):
    start_service(TrackingService)
    container = start_intake(SMPP_RECEIVER_ENQUIRE_LINK_SECONDS=0.3)
    link = wait_for(lambda: _bound(container), message="bound")
    eventlet.sleep(1.5)

    assert _bound(container) is link  # each probe answered: still the first bind
    phone.send(TEXT.encode("ascii"))
    wait_for(lambda: phone.inbox, message="the reply")


def test_a_stopped_intake_unbinds_and_the_sms_waits_at_the_smsc_for_the_next_one(
        start_intake, start_service, phone, smsc, intake_repo):
    start_service(TrackingService)
    first = start_intake()
    wait_for(lambda: _bound(first), message="bound")
    with eventlet.Timeout(10):
        first.stop()  # unbinds, then closes
    assert _bound(first) is None

    phone.send(TEXT.encode("ascii"))
    eventlet.sleep(1)
    assert deliveries(smsc) == [] and phone.inbox == []
    start_intake()
    wait_for(lambda: phone.inbox, message="the reply from the next intake")
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_a_part_acknowledged_before_intake_stops_completes_the_sms_on_the_next_intake(
        start_intake, start_service, phone, smsc, intake_repo):
    start_service(TrackingService)
    first = start_intake()
    wait_for(lambda: _bound(first), message="bound")
    part_1, part_2 = parts_of(LONG_TEXT, ref=91)
    phone.send(part_1, esm_class=0x40)
    answered(smsc, 1)  # acknowledged: the SMSC will not deliver it again
    with eventlet.Timeout(10):
        first.kill()  # as a crash: whatever that process held in memory is gone

    start_intake()
    phone.send(part_2, esm_class=0x40)
    [reply] = wait_for(lambda: phone.inbox, message="the reply from the next intake")
    event = intake_repo.get_submission(TRACKING_ID.search(reply).group(1))["event"]
    assert event["body"] == LONG_TEXT.removeprefix("KOTA METRO ") and event["region_hint"] == "18.72"
    assert_answered_once(phone, smsc, intake_repo)


def test_a_part_delivered_twice_is_kept_once_and_the_sms_answered_once(intake, phone, smsc, intake_repo):
    part_1, part_2 = parts_of(LONG_TEXT, ref=92)
    phone.send(part_1, esm_class=0x40, service_type="DUP")  # delivered again, as after a lost ack

    assert [line["command_status"] for line in answered(smsc, 2)] == [0, 0]
    assert intake_repo.db.sms_parts.count_documents({}) == 1
    phone.send(part_2, esm_class=0x40)
    wait_for(lambda: phone.inbox, message="the reply")
    assert_answered_once(phone, smsc, intake_repo)


def test_the_last_part_delivered_again_gets_the_same_report_and_reply(intake, phone, smsc, intake_repo):
    part_1, part_2 = parts_of(LONG_TEXT, ref=93)
    phone.send(part_1, esm_class=0x40)
    answered(smsc, 1)
    phone.send(part_2, esm_class=0x40, service_type="DUP")  # its ack lost: stored, but the SMSC cannot know

    first, again = wait_for(lambda: len(phone.inbox) >= 2 and phone.inbox, message="two replies")
    assert first == again
    assert intake_repo.db.submissions.count_documents({}) == 1


def test_the_parts_of_an_sms_never_completed_are_swept_after_the_timeout(intake, phone, smsc, intake_repo):
    phone.send(parts_of(LONG_TEXT, ref=94)[0], esm_class=0x40)
    answered(smsc, 1)
    [abandoned] = intake_repo.db.sms_parts.find({})
    long_ago = now() - timedelta(seconds=PARTS_TIMEOUT_SECONDS + 1)
    intake_repo.db.sms_parts.update_one({"_id": abandoned["_id"]}, {"$set": {"received_at": long_ago}})
    phone.send(parts_of(TEXT, ref=95)[0], esm_class=0x40)
    answered(smsc, 2)

    with hook(intake, "sweep_sms_parts") as sweep:
        sweep()
    [kept] = intake_repo.db.sms_parts.find({})  # the other one still has time
    assert kept["group_key"] != abandoned["group_key"]
    [metrics] = [dependency for dependency in intake.dependencies if isinstance(dependency, Metrics)]
    assert metrics.registry.get_sample_value("lapor_smpp_messages_total", {"outcome": "parts_expired"}) == 1
    assert intake_repo.db.submissions.count_documents({}) == 0 and phone.inbox == []


def parts_of(text, ref):
    """The two parts of a long GSM SMS, each with its concatenation header."""
    octets = text.encode("ascii")
    half = len(octets) // 2
    return [bytes([5, 0, 3, ref, 2, seq]) + chunk for seq, chunk in ((1, octets[:half]), (2, octets[half:]))]


def assert_answered_once(phone, smsc, intake_repo):
    eventlet.sleep(1)  # time for a second reply, were one on its way
    replies = [line for line in smsc.received() if line["pdu"] == "submit_sm" and line["system_id"] == "lapor-in"]
    assert len(phone.inbox) == 1 and len(replies) == 1
    assert intake_repo.db.submissions.count_documents({}) == 1


def _bound(container):
    [receiver] = [ext for ext in container.subextensions if isinstance(ext, SmppReceiver)]
    return receiver.link
