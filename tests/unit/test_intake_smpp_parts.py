"""The intake worker's side of a long SMS from the SMSC (nameko's worker_factory, the store faked in memory): each
part kept, the whole text submitted once by the part that claims the complete group, the others answered quietly."""
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from services.intake.service import IntakeService
from services.intake.smpp_pdu import group_key, message_id

PHONE = "6281234567890"
RECEIVED_AT = "2026-11-25T09:30:00+07:00"


class FakeSmsParts:
    """The repository's SMS-part verbs, as the contract test pins them down."""

    def __init__(self):
        self.parts = {}
        self.claims = {}

    def keep_sms_part(self, group_key, seq, total, data_coding, payload):
        if (group_key, seq) in self.parts:
            return False
        self.parts[group_key, seq] = (data_coding, payload)
        return True

    def sms_parts(self, group_key):
        return [part for (key, _), part in sorted(self.parts.items()) if key == group_key]

    def claim_sms_group(self, group_key, seq):
        return self.claims.setdefault(group_key, seq)


@pytest.fixture
def service():
    secrets = MagicMock(secret_key="unit-secret")
    worker = worker_factory(IntakeService, storage=FakeSmsParts(), secrets=secrets)
    worker._accept_sms = MagicMock(return_value={"tracking_id": "10000004", "reply": "LAPOR! No: 10000004"})
    return worker


def part(seq, payload, total=2, ref=5, source=PHONE):
    return {"from": source, "received_at": RECEIVED_AT,
            "part": {"ref": ref, "total": total, "seq": seq, "data_coding": 0, "payload": payload}}


def test_parts_are_kept_and_the_one_that_completes_the_sms_submits_it_whole(service):
    assert service.on_deliver_sm(part(2, b" dua")) is None
    assert service._accept_sms.call_count == 0 and len(service.storage.parts) == 1

    assert service.on_deliver_sm(part(1, b"KOTA METRO satu", source="081234567890"))["tracking_id"] == "10000004"
    service._accept_sms.assert_called_once_with({
        "from": "081234567890", "text": "KOTA METRO satu dua", "received_at": RECEIVED_AT,
        "message_id": message_id(PHONE, "KOTA METRO satu dua")})


def test_only_the_claiming_part_answers_so_the_sender_hears_once(service):
    key = group_key("unit-secret", PHONE, 5, 2)
    service.storage.keep_sms_part(key, 1, 2, 0, b"KOTA METRO satu")  # two workers side by side: both parts
    service.storage.keep_sms_part(key, 2, 2, 0, b" dua")  # kept before either reads the group
    assert service.on_deliver_sm(part(2, b" dua"))["reply"]
    assert service.on_deliver_sm(part(1, b"KOTA METRO satu")) is None
    assert service.on_deliver_sm(part(1, b"KOTA METRO satu")) is None  # delivered again after its lost ack
    assert service.on_deliver_sm(part(2, b" dua"))["reply"]  # the claiming part again: the same report and reply
    assert service._accept_sms.call_count == 2
    assert len(service.storage.parts) == 2  # each kept once


def test_other_messages_from_the_sender_or_reference_stay_apart(service):
    service.on_deliver_sm(part(1, b"KOTA METRO satu"))
    assert service.on_deliver_sm(part(2, b" dua", ref=6)) is None
    assert service.on_deliver_sm(part(2, b" dua", source="6281299999999")) is None
    assert service.on_deliver_sm(part(2, b" dua", total=3)) is None
    assert service._accept_sms.call_count == 0


def test_a_whole_sms_goes_straight_to_submission(service):
    message = {"from": PHONE, "text": "KOTA METRO jalan rusak", "message_id": "smpp:x", "received_at": RECEIVED_AT}
    service.on_deliver_sm(message)
    service._accept_sms.assert_called_once_with(message)
    assert service.storage.parts == {}
