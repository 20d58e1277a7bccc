"""SMS from the SMSC without a network: deliver_sm PDUs (smpplib's own encoding) read into text, parts joined, a
stable message id, receipts told apart, and what the receiver answers the SMSC in each case."""
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import smpplib.smpp
import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

from services.common.errors import IdempotencyConflict, Unavailable, ValidationFailed
from services.intake.smpp import REFUSE, RETRY, ROK, SmppReceiver, ack_status
from services.intake.smpp_pdu import (
    Concat, MoPart, SenderCap, alphabet, decode_gsm7, decode_text, delivery, group_key, group_text, is_receipt,
    message_id, mo_part, split_udh,
)

PHONE = "6281234567890"


def deliver_sm(short_message=b"KOTA METRO jalan rusak", sequence=7, **fields):
    """A deliver_sm as the SMSC sends it: encoded by smpplib, then parsed back as our receiver reads it."""
    fields = dict(dict(source_addr=PHONE, source_addr_ton=1, source_addr_npi=1, destination_addr="1708",
                       esm_class=0, data_coding=0), **fields)
    pdu = smpplib.smpp.make_pdu("deliver_sm", sequence=sequence, short_message=short_message, **fields)
    pdu.sequence = sequence
    return smpplib.smpp.parse_pdu(pdu.generate(), sequence=0, allow_unknown_opt_params=True)


def udh(ref, total, seq):
    return bytes([5, 0, 3, ref, total, seq])


# --- decoding ---------------------------------------------------------------------------------------------------

def test_gsm7_reads_the_characters_that_differ_from_ascii_and_the_escaped_ones():
    assert decode_gsm7(b"\x00\x02\x11\x5f\x60") == "@$_§¿"
    assert decode_gsm7(b"Rp 5\x1b\x65 \x1b\x28ok\x1b\x29") == "Rp 5€ {ok}"
    assert decode_gsm7(b"\x1bA") == "A"  # an unknown escape reads as the basic character
    assert decode_gsm7(b"\xc1") == "A"  # the eighth bit is not a septet's


@pytest.mark.parametrize("data_coding, kind", [
    (0x00, "gsm"), (0x01, "ascii"), (0x03, "latin1"), (0x08, "ucs2"), (0x02, None), (0x04, None),
    (0x10, "gsm"), (0x18, "ucs2"), (0x14, None), (0x30, None), (0xF0, "gsm"), (0xF4, None), (0xC8, "gsm"),
    (0xE0, "ucs2"), (0x90, None),
])
def test_the_alphabet_follows_smpp_data_coding_and_the_gsm_coding_groups(data_coding, kind):
    assert alphabet(data_coding) == kind


def test_text_decodes_by_data_coding_and_binary_is_not_text():
    assert decode_text("Jalan rusak 🚧".encode("utf-16-be"), 0x08) == "Jalan rusak 🚧"
    assert decode_text("Jalan Pasar Bawah né".encode("latin-1"), 0x03) == "Jalan Pasar Bawah né"
    assert decode_text(b"KOTA METRO", 0x01) == "KOTA METRO"
    with pytest.raises(ValueError):
        decode_text(b"\x01\x02", 0x04)


# --- one PDU ----------------------------------------------------------------------------------------------------

def test_a_single_sms_is_one_part_with_its_sender():
    part = mo_part(deliver_sm(b"KOTA METRO jalan rusak"))
    assert part == MoPart(PHONE, 0, b"KOTA METRO jalan rusak", None)


@pytest.mark.parametrize("header, expected", [
    (bytes([5, 0, 3, 42, 3, 2]), Concat(42, 3, 2)),
    (bytes([6, 8, 4, 0x12, 0x34, 2, 1]), Concat(0x1234, 2, 1)),
    (bytes([10, 0x24, 1, 0x01, 0, 3, 9, 2, 2, 0x70, 0x00]), Concat(9, 2, 2)),  # other elements are skipped
])
def test_the_user_data_header_names_the_part(header, expected):
    part = mo_part(deliver_sm(header + b"jalan", esm_class=0x40))
    assert (part.concat, part.payload) == (expected, b"jalan")


def test_sar_parameters_name_the_part_too_and_message_payload_carries_the_text():
    part = mo_part(deliver_sm(b"bagian dua", sar_msg_ref_num=300, sar_total_segments=2, sar_segment_seqnum=2))
    assert part.concat == Concat(300, 2, 2)
    payload = deliver_sm(b"", message_payload=b"KOTA METRO teks panjang di message_payload")
    assert mo_part(payload).payload == b"KOTA METRO teks panjang di message_payload"


@pytest.mark.parametrize("short_message", [
    b"\x09\x00\x03\x01",  # longer than the message
    b"\x05\x00\x05\x01\x02\x03",  # a truncated element
    b"\x05\x00\x03\x01\x02\x03",  # part 3 of 2
])
def test_a_malformed_header_or_part_number_is_refused(short_message):
    with pytest.raises(ValueError):
        mo_part(deliver_sm(short_message, esm_class=0x40))


def test_a_header_saying_one_part_is_a_single_sms():
    assert mo_part(deliver_sm(udh(1, 1, 1) + b"x", esm_class=0x40)).concat is None
    with pytest.raises(ValueError):
        split_udh(b"")


@pytest.mark.parametrize("esm_class, receipted, receipt", [
    (0x00, None, False), (0x40, None, False), (0x04, None, True), (0x08, None, True), (0x20, None, True),
    (0x00, "abc123", True),
])
def test_receipts_and_acknowledgements_are_not_sms_from_a_person(esm_class, receipted, receipt):
    assert is_receipt(esm_class, receipted) is receipt


# --- one message ------------------------------------------------------------------------------------------------

def test_the_message_id_is_the_same_for_every_delivery_and_hides_the_number():
    first = message_id("6281234567890", "KOTA METRO jalan rusak")
    assert first == message_id("081234567890", "KOTA METRO jalan rusak") == message_id(
        "+6281234567890", "KOTA METRO jalan rusak")
    assert first != message_id("6281234567890", "KOTA METRO jalan rusak parah")
    assert first != message_id("6281299999999", "KOTA METRO jalan rusak")
    assert first.startswith("smpp:") and len(first) <= 128
    assert "81234567890" not in first


def part(seq, payload, total=3, ref=7, source=PHONE, data_coding=0):
    return MoPart(source, data_coding, payload, Concat(ref, total, seq))


def test_a_single_sms_is_delivered_whole_with_its_id():
    message = delivery(MoPart(PHONE, 0, b"KOTA METRO jalan rusak", None), "2026-11-25T09:30:00+07:00")
    assert message == {"from": PHONE, "text": "KOTA METRO jalan rusak", "received_at": "2026-11-25T09:30:00+07:00",
                       "message_id": message_id(PHONE, "KOTA METRO jalan rusak")}


def test_a_part_is_delivered_as_its_octets_for_the_worker_to_keep():
    message = delivery(part(2, b" dua", data_coding=8), "2026-11-25T09:30:00+07:00")
    assert message == {"from": PHONE, "received_at": "2026-11-25T09:30:00+07:00",
                       "part": {"ref": 7, "total": 3, "seq": 2, "data_coding": 8, "payload": b" dua"}}


def test_binary_content_is_not_delivered_whole_or_in_parts():
    for binary in (MoPart(PHONE, 0x04, b"\x01", None), part(1, b"\x01", data_coding=0x04)):
        with pytest.raises(ValueError):
            delivery(binary, "2026-11-25T09:30:00+07:00")


def test_parts_are_joined_in_order_and_read_by_the_first_parts_coding():
    assert group_text([(0, b"KOTA METRO satu"), (0, b" dua"), (0, b" tiga")]) == "KOTA METRO satu dua tiga"


def test_a_character_split_across_two_parts_survives():
    encoded = "Jalan 🚧 rusak".encode("utf-16-be")
    assert group_text([(8, encoded[:13]), (8, encoded[13:])]) == "Jalan 🚧 rusak"  # the emoji's pair cut in two


def test_the_group_key_is_one_per_sender_reference_and_count_and_hides_the_number():
    key = group_key("s3cret", PHONE, 7, 2)
    assert key == group_key("s3cret", "081234567890", 7, 2) == group_key("s3cret", "+6281234567890", 7, 2)
    others = {group_key("s3cret", "6281299999999", 7, 2), group_key("s3cret", PHONE, 8, 2),
              group_key("s3cret", PHONE, 7, 3), group_key("other", PHONE, 7, 2)}
    assert key not in others and len(others) == 4
    assert key.startswith("smpp-parts:") and "81234567890" not in key


def test_the_sender_cap_counts_different_sms_in_the_window_not_redeliveries():
    clock = SimpleNamespace(now=0.0)
    cap = SenderCap(2, window=3600, clock=lambda: clock.now)
    assert cap.allow(PHONE, "a") and cap.allow(PHONE, "a") and cap.allow("081234567890", "b")
    assert not cap.allow(PHONE, "c")
    assert cap.allow(PHONE, "a")  # the SMSC redelivering one already let through
    assert cap.allow("6281299999999", "c")
    clock.now = 3601
    assert cap.allow(PHONE, "c")
    assert SenderCap(0).allow(PHONE, "anything")


# --- what the SMSC is answered ----------------------------------------------------------------------------------

@pytest.mark.parametrize("exc, status", [
    (None, ROK), (ValidationFailed("x"), REFUSE), (IdempotencyConflict("x"), REFUSE), (Unavailable("x"), RETRY),
    (RuntimeError("bug"), RETRY),
])
def test_the_deliver_sm_is_acked_only_for_a_stored_report(exc, status):
    assert ack_status(exc) == status


class FakeLink:
    def __init__(self, broken=False):
        self.sent = []
        self.broken = broken

    def send(self, command, sequence=None, **fields):
        if self.broken:
            raise OSError("link gone")
        self.sent.append(dict(fields, command=command, sequence=sequence))


class FakeEntrypoint:
    def __init__(self):
        self.calls = []

    def handle_message(self, message, answer):
        self.calls.append((message, answer))


@pytest.fixture
def receiver():
    receiver = SmppReceiver()
    receiver.container = SimpleNamespace(config={"SMPP_RECEIVER_SENDER_LIMIT": 2}, extensions=[])
    receiver.setup()
    receiver.entrypoint = FakeEntrypoint()
    receiver.register_provider(receiver.entrypoint)
    return receiver


def acks(link):
    return [(sent["sequence"], sent["status"]) for sent in link.sent if sent["command"] == "deliver_sm_resp"]


def test_an_sms_runs_the_worker_and_is_answered_with_the_reply_then_acked(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(b"KOTA METRO jalan rusak", sequence=11))

    [(message, answer)] = receiver.entrypoint.calls
    assert message["from"] == PHONE and message["text"] == "KOTA METRO jalan rusak"
    assert message["message_id"] == message_id(PHONE, "KOTA METRO jalan rusak") and message["received_at"]
    assert link.sent == []  # nothing is acked before the report is stored

    answer({"tracking_id": "10000004", "reply": "LAPOR! Laporan diterima. No: 10000004"}, ROK)
    reply, ack = link.sent
    assert reply["command"] == "submit_sm" and reply["destination_addr"] == PHONE and reply["source_addr"] == "1708"
    assert reply["short_message"] == b"LAPOR! Laporan diterima. No: 10000004" and reply["dest_addr_ton"] == 1
    assert (ack["command"], ack["sequence"], ack["status"]) == ("deliver_sm_resp", 11, ROK)


def test_a_failed_store_is_a_temporary_error_and_sends_no_reply(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(sequence=12))
    [(_, answer)] = receiver.entrypoint.calls
    answer(None, RETRY)
    assert acks(link) == [(12, RETRY)] and len(link.sent) == 1


def test_an_answer_on_a_lost_link_is_dropped_for_the_smsc_to_redeliver(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(sequence=1))
    [(_, answer)] = receiver.entrypoint.calls
    link.broken = True
    answer({"reply": "x"}, ROK)  # does not raise into the worker
    assert link.sent == []


def test_receipts_are_acked_and_run_nothing(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(b"id:abc sub:001 dlvrd:001 stat:DELIVRD", esm_class=0x04, sequence=3))
    assert acks(link) == [(3, ROK)] and receiver.entrypoint.calls == []


def test_each_part_runs_a_worker_and_is_acked_only_once_the_worker_has_kept_it(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(udh(5, 2, 2) + b" dua", esm_class=0x40, sequence=1))
    [(message, answer)] = receiver.entrypoint.calls
    assert message["part"] == {"ref": 5, "total": 2, "seq": 2, "data_coding": 0, "payload": b" dua"}
    assert link.sent == []
    answer(None, ROK)  # kept; its SMS is not complete yet
    assert link.sent == [{"command": "deliver_sm_resp", "sequence": 1, "status": ROK}]


def test_a_part_that_could_not_be_kept_is_left_for_the_smsc_to_retry(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(udh(5, 2, 1) + b"KOTA METRO satu", esm_class=0x40, sequence=2))
    [(_, answer)] = receiver.entrypoint.calls
    answer(None, RETRY)
    assert acks(link) == [(2, RETRY)]


def test_the_part_that_completes_an_sms_is_answered_with_the_reply_then_acked(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(udh(5, 2, 1) + b"KOTA METRO satu", esm_class=0x40, sequence=3))
    [(_, answer)] = receiver.entrypoint.calls
    answer({"tracking_id": "10000004", "reply": "LAPOR! No: 10000004"}, ROK)
    assert [sent["command"] for sent in link.sent] == ["submit_sm", "deliver_sm_resp"]


def test_binary_or_malformed_sms_is_refused_for_good(receiver):
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(b"\x00\x01", data_coding=0x04, sequence=4))
    receiver._on_deliver_sm(link, deliver_sm(b"\x09\x00", esm_class=0x40, sequence=5))
    receiver._on_deliver_sm(link, deliver_sm(udh(5, 2, 1) + b"\x00\x01", esm_class=0x40, data_coding=0x04, sequence=6))
    assert acks(link) == [(4, REFUSE), (5, REFUSE), (6, REFUSE)] and receiver.entrypoint.calls == []


def test_a_sender_over_the_cap_is_refused_but_a_redelivery_is_not(receiver):
    link = FakeLink()
    for sequence, text in enumerate([b"KOTA METRO satu", b"KOTA METRO dua", b"KOTA METRO tiga", b"KOTA METRO satu"]):
        receiver._on_deliver_sm(link, deliver_sm(text, sequence=sequence))
    assert [message["text"] for message, _ in receiver.entrypoint.calls] == [
        "KOTA METRO satu", "KOTA METRO dua", "KOTA METRO satu"]
    assert acks(link) == [(2, REFUSE)]


def test_the_parts_of_a_long_sms_count_once_against_the_sender_cap(receiver):
    link = FakeLink()
    sms = [(udh(5, 2, 1) + b"KOTA METRO satu", 0x40), (udh(5, 2, 2) + b" dua", 0x40), (b"KOTA METRO tiga", 0),
           (udh(6, 2, 1) + b"KOTA METRO empat", 0x40), (udh(5, 2, 2) + b" dua", 0x40)]
    for sequence, (short_message, esm_class) in enumerate(sms):
        receiver._on_deliver_sm(link, deliver_sm(short_message, esm_class=esm_class, sequence=sequence))
    assert len(receiver.entrypoint.calls) == 4  # both parts of ref 5, the single SMS, and ref 5's part again
    assert acks(link) == [(3, REFUSE)]  # a third SMS in the hour


def test_while_the_service_stops_what_arrives_is_left_for_the_smsc_to_retry(receiver):
    receiver.unregister_provider(receiver.entrypoint)
    link = FakeLink()
    receiver._on_deliver_sm(link, deliver_sm(sequence=9))
    assert acks(link) == [(9, RETRY)]


def test_the_smsc_is_answered_enquire_link_and_an_unbind_ends_the_link(receiver):
    link = FakeLink()
    ping = smpplib.smpp.parse_pdu(bytes.fromhex("0000001000000015000000000000002a"), sequence=0)
    receiver._dispatch(link, ping)
    assert link.sent == [{"command": "enquire_link_resp", "sequence": 42}]
    unbind = smpplib.smpp.parse_pdu(bytes.fromhex("0000001000000006000000000000002b"), sequence=0)
    with pytest.raises(Exception, match="unbound"):
        receiver._dispatch(link, unbind)
    assert link.sent[-1] == {"command": "unbind_resp", "sequence": 43}


def test_off_without_a_host(receiver):
    receiver.container.spawn_managed_thread = lambda *args, **kwargs: pytest.fail("no thread without a host")
    receiver.start()
    assert receiver.thread is None


class ConfigLoader(yaml.SafeLoader):
    pass


ConfigLoader.add_constructor("!env_var", env_var_constructor)
ConfigLoader.add_constructor("!raw_env_var", partial(env_var_constructor, raw=True))
ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def receiver_settings(config):
    receiver = SmppReceiver()
    receiver.container = SimpleNamespace(config=config, extensions=[])
    receiver.setup()
    return (receiver.host, receiver.port, receiver.system_id, receiver.password, receiver.system_type,
            receiver.source_addr, receiver.idle_seconds, receiver.sender_cap.limit)


def test_config_yaml_leaves_the_receiver_off_with_the_code_defaults(monkeypatch):
    for key in ("HOST", "PORT", "SYSTEM_ID", "PASSWORD", "SYSTEM_TYPE", "SOURCE_ADDR", "ENQUIRE_LINK_SECONDS",
                "SENDER_LIMIT"):
        monkeypatch.delenv(f"LAPOR_SMPP_RECEIVER_{key}", raising=False)
    path = Path(__file__).resolve().parents[2] / "services" / "intake" / "config.yaml"
    config = yaml.load(path.read_text(), Loader=ConfigLoader)
    assert receiver_settings(config) == receiver_settings({}) == ("", 2775, "", "", "", "1708", 30.0, 20)


@pytest.mark.parametrize("value", ["-1", "ten", True, "1.5"])
def test_a_sender_limit_must_be_a_whole_number(value):
    with pytest.raises(ValueError):
        receiver_settings({"SMPP_RECEIVER_SENDER_LIMIT": value})
