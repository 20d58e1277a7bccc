"""SMS in an SMSC's deliver_sm PDUs as pure functions: receipts told apart, text decoded, parts joined, a stable id."""
import hashlib
import time
from collections import namedtuple

from services.common.keys import keyed_hash
from services.intake.sms import normalize_phone

# GSM 03.38 default alphabet, one character per septet; SMPP carries it unpacked, one septet per octet.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_ESCAPE = 0x1B
GSM7_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
                  0x40: "|", 0x65: "€"}

UDHI = 0x40  # esm_class: short_message starts with a user data header
MESSAGE_TYPE_BITS = 0x3C  # esm_class bits 2–5: 0 for a handset's SMS; receipts and acknowledgements set them
IE_CONCAT_8BIT, IE_CONCAT_16BIT = 0x00, 0x08

PARTS_TIMEOUT_SECONDS = 3600  # a long SMS whose parts have not all come by then is dropped
SENDER_WINDOW_SECONDS = 3600

Concat = namedtuple("Concat", "ref total seq")
MoPart = namedtuple("MoPart", "source data_coding payload concat")


def is_receipt(esm_class, receipted_message_id=None):
    """A delivery receipt, an SME acknowledgement or an intermediate notification: not a handset's message."""
    return bool(esm_class & MESSAGE_TYPE_BITS) or bool(receipted_message_id)


def alphabet(data_coding):
    """How a data_coding's octets read: "gsm", "ascii", "latin1", "ucs2", or None (binary, compressed, other)."""
    if data_coding in (0x00, 0x01, 0x03, 0x08):
        return {0x00: "gsm", 0x01: "ascii", 0x03: "latin1", 0x08: "ucs2"}[data_coding]
    group = data_coding >> 4
    if group in (0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7) and not data_coding & 0x20:  # general coding, uncompressed
        return {0: "gsm", 1: None, 2: "ucs2", 3: None}[(data_coding >> 2) & 0x3]
    if group in (0xC, 0xD):  # message waiting indication, default alphabet
        return "gsm"
    if group == 0xE:
        return "ucs2"
    if group == 0xF:
        return None if data_coding & 0x04 else "gsm"
    return None


def decode_gsm7(octets):
    """Unpacked GSM 03.38 septets as text; an escape before an unknown code reads as the basic character."""
    chars, escaped = [], False
    for octet in octets:
        septet = octet & 0x7F
        if escaped:
            chars.append(GSM7_EXTENSION.get(septet, GSM7_BASIC[septet]))
            escaped = False
        elif septet == GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(GSM7_BASIC[septet])
    return "".join(chars)


def decode_text(payload, data_coding):
    """The SMS text; ValueError when the coding is not one a person types in (binary data, compressed)."""
    kind = alphabet(data_coding)
    if kind is None:
        raise ValueError(f"data_coding 0x{data_coding:02x} is not text")
    if kind == "gsm":
        return decode_gsm7(payload)
    if kind == "ucs2":
        return payload.decode("utf-16-be", errors="replace")  # UTF-16 in practice: emoji arrive as surrogate pairs
    return payload.decode("ascii" if kind == "ascii" else "latin-1", errors="replace")


def split_udh(short_message):
    """(Concat or None, the text octets) of a short_message that starts with a user data header."""
    if not short_message:
        raise ValueError("UDHI set on an empty short_message")
    length = short_message[0]
    header, payload = short_message[1:1 + length], short_message[1 + length:]
    if len(header) != length:
        raise ValueError("user data header longer than the message")
    concat, index = None, 0
    while index + 2 <= len(header):
        iei, size = header[index], header[index + 1]
        value = header[index + 2:index + 2 + size]
        if len(value) != size:
            raise ValueError("truncated information element")
        if iei == IE_CONCAT_8BIT and size == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == IE_CONCAT_16BIT and size == 4:
            concat = Concat(int.from_bytes(value[:2], "big"), value[2], value[3])
        index += 2 + size
    return concat, payload


def _text(value):
    return value.decode("ascii", errors="replace") if isinstance(value, bytes) else (value or "")


def mo_part(pdu):
    """One deliver_sm (an smpplib PDU) as a MoPart; ValueError for a malformed header or part number."""
    data = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    concat = None
    if pdu.esm_class & UDHI:
        concat, data = split_udh(data)
    elif getattr(pdu, "sar_total_segments", None):
        concat = Concat(pdu.sar_msg_ref_num or 0, pdu.sar_total_segments, pdu.sar_segment_seqnum or 0)
    if concat is not None and concat.total <= 1:
        concat = None
    if concat is not None and not 1 <= concat.seq <= concat.total:
        raise ValueError(f"part {concat.seq} of {concat.total}")
    return MoPart(_text(pdu.source_addr), pdu.data_coding or 0, bytes(data), concat)


def group_text(parts):
    """The whole message from its parts in order, each (data_coding, octets): the octets are joined first, so a
    character split across two parts survives."""
    return decode_text(b"".join(payload for _, payload in parts), parts[0][0])


def sender_key(source):
    """The sender as E.164 when it is an Indonesian mobile, so "0812…" and "62812…" are one sender."""
    try:
        return normalize_phone(source)
    except ValueError:
        return source


def message_id(source, text):
    """The same for every delivery of one SMS: an SMSC's redelivery carries a new sequence number and no id of its
    own (receipted_message_id is only on receipts), so the id is the sender and the text. The phone number stays
    out of it (it is hashed)."""
    digest = hashlib.sha256(f"{sender_key(source)}\n{text}".encode("utf-8")).hexdigest()
    return f"smpp:{digest[:40]}"


def sms_message(source, text, received_at):
    """A whole SMS as the intake worker takes it."""
    return {"from": source, "text": text, "message_id": message_id(source, text), "received_at": received_at}


def delivery(part, received_at):
    """What a worker gets for one deliver_sm: the whole SMS (`sms_message`), or one part of a long SMS,
    {from, received_at, part: {ref, total, seq, data_coding, payload}}, to keep until the rest have come.
    ValueError when the octets are not text."""
    if part.concat is None:
        return sms_message(part.source, decode_text(part.payload, part.data_coding), received_at)
    if alphabet(part.data_coding) is None:  # refused now, not after every part has been kept
        raise ValueError(f"data_coding 0x{part.data_coding:02x} is not text")
    fields = dict(part.concat._asdict(), data_coding=part.data_coding, payload=part.payload)
    return {"from": part.source, "received_at": received_at, "part": fields}


def group_key(secret_key, source, ref, total):
    """The stored name of one long SMS's parts: sender, reference and part count under a keyed hash, since a plain
    hash of a phone number and a small reference is undone by trying them all."""
    digest = keyed_hash(secret_key, "sms parts", f"{sender_key(source)}\n{ref}\n{total}")
    return f"smpp-parts:{digest[:40]}"


class SenderCap:
    """At most `limit` different SMS per sender per `window` seconds (0: no cap); a redelivery does not count."""

    def __init__(self, limit, window=SENDER_WINDOW_SECONDS, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.seen = {}  # sender → {message_id: when}
        self.sweep_at = clock() + window

    def allow(self, source, message_id):
        if not self.limit:
            return True
        now = self.clock()
        key = sender_key(source)
        recent = {mid: at for mid, at in self.seen.get(key, {}).items() if at > now - self.window}
        if message_id not in recent and len(recent) >= self.limit:
            self.seen[key] = recent
            return False
        recent.setdefault(message_id, now)
        self.seen[key] = recent
        if now >= self.sweep_at:
            self._forget_quiet(now)
        return True

    def _forget_quiet(self, now):
        """Senders with nothing in the window are dropped, so the map stays as large as the busy senders."""
        self.seen = {key: times for key, times in self.seen.items() if max(times.values()) > now - self.window}
        self.sweep_at = now + self.window
