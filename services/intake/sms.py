"""SMS 1708 as pure functions: the sender's number, the "<REGION> <isi aduan>" text, the submission, the reply."""
import re
import unicodedata
from urllib.parse import urlsplit

MAX_TEXT_LENGTH = 1600  # ten concatenated SMS
TITLE_LENGTH = 60
MAX_REPLY_LENGTH = 160  # one GSM-7 SMS

# Separators people and gateways put in a number: spaces of any kind, dashes, dots.
_PHONE_SEPARATORS = re.compile(r"[\s.\-]+")
# An Indonesian mobile: 08 and 8 to 11 more digits (10 to 13 digits with the leading 0), written 08…, 628… or +628….
_MOBILE = re.compile(r"(?:\+62|62|0)(8[0-9]{8,11})")

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€")  # each takes two septets

_REPLIES_WITH_PORTAL = (
    "LAPOR! Laporan diterima. No: {tracking_id} Kode akses: {access_code}. "
    "Cek status di {portal}/lacak?id={tracking_id} dengan kode ini.",
    "LAPOR! Laporan diterima. No: {tracking_id} Kode: {access_code}. Cek status: {portal}/lacak",
)
_REPLIES_WITHOUT_PORTAL = (
    "LAPOR! Laporan diterima. No: {tracking_id} Kode akses: {access_code}. "
    "Simpan nomor dan kode ini untuk cek status laporan Anda.",
    "LAPOR! Laporan diterima. No: {tracking_id} Kode: {access_code}",
)


def normalize_phone(text):
    """An Indonesian mobile number as E.164 (+628…); ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError("nomor ponsel harus berupa teks")
    match = _MOBILE.fullmatch(_PHONE_SEPARATORS.sub("", text))
    if match is None:
        raise ValueError("bukan nomor ponsel Indonesia (08…, 628… atau +628…, 10–13 digit)")
    return f"+62{match.group(1)}"


def clean_text(text):
    """The text with control characters gone and whitespace collapsed; ValueError if empty or too long."""
    if not isinstance(text, str):
        raise ValueError("isi SMS harus berupa teks")
    # Control characters (tab, CR, NUL…) separate words; format characters (zero-width, BOM) and lone
    # surrogates (which the store cannot encode) just vanish.
    kept = "".join(" " if category == "Cc" else "" if category in ("Cf", "Cs") else char
                   for char, category in ((char, unicodedata.category(char)) for char in text))
    cleaned = " ".join(kept.split())
    if not cleaned:
        raise ValueError("isi SMS kosong")
    if len(cleaned) > MAX_TEXT_LENGTH:
        raise ValueError(f"isi SMS lebih dari {MAX_TEXT_LENGTH} karakter")
    return cleaned


def make_title(body, limit=TITLE_LENGTH):
    """The first words of the body, up to `limit` characters, cut at a word boundary."""
    if len(body) <= limit:
        return body
    head = body[:limit + 1].rsplit(" ", 1)[0] if " " in body[:limit + 1] else body[:limit]
    head = head[:limit].rstrip(" ,.;:-") or body[:limit]
    return f"{head}…"


def parse_sms(text, matcher):
    """{region: {code, name, level} or None, body, title}; the region prefix is taken off the body.

    An unknown (or ambiguous) prefix leaves the whole text as the body; so does a text that is only a region.
    """
    cleaned = clean_text(text)
    match = matcher.match(cleaned)
    region = {"code": match.code, "name": match.name, "level": match.level} if match else None
    body = match.rest if match and match.rest else cleaned
    return {"region": region, "body": body, "title": make_title(body)}


def sms_submission(parsed, phone, received_at=None):
    """The data intake stores for an SMS: a complaint, not anonymous, the sender's number as its contact."""
    return channel_submission(parsed, {"phone": phone}, received_at)


def channel_submission(parsed, reporter, received_at):
    """A public complaint from a parsed SMS or mention: region from its text, `reporter` the only contact."""
    region = parsed["region"]
    return {
        "type": "complaint",
        "title": parsed["title"],
        "body": parsed["body"],
        "occurred_at": None,
        "location": {"region_code": region["code"], "region_name": region["name"]} if region else None,
        "category": None,
        "agency_code": None,
        "region_hint": region["code"] if region else None,
        "anonymous": False,
        "confidential": False,
        "reporter": reporter,
        "received_at": received_at,
    }


def gsm7_length(text):
    """Septets `text` takes in GSM-7 (extension characters count twice), or None if it is not GSM-7."""
    length = 0
    for char in text:
        if char in _GSM7_BASIC:
            length += 1
        elif char in _GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length


def portal_hint(public_url):
    """Where the reply says to check status: the public URL without its scheme ("lapor.go.id"), or None."""
    if not public_url:
        return None
    parts = urlsplit(public_url if "//" in public_url else f"//{public_url}")
    hint = f"{parts.netloc}{parts.path}".rstrip("/")
    return hint or None


def sms_reply(tracking_id, access_code, status_hint=None):
    """The SMS sent back: the tracking ID, the access code and how to check status, in one GSM-7 SMS.

    `status_hint` is the portal without its scheme (see `portal_hint`); it is left out when it would not fit
    or is not GSM-7. If even the shortest text is over 160 septets it is still returned (the operator splits it).
    """
    values = {"tracking_id": tracking_id, "access_code": access_code, "portal": status_hint}
    templates = (_REPLIES_WITH_PORTAL if status_hint else ()) + _REPLIES_WITHOUT_PORTAL
    for template in templates:
        reply = template.format(**values)
        length = gsm7_length(reply)
        if length is not None and length <= MAX_REPLY_LENGTH:
            return reply
    return _REPLIES_WITHOUT_PORTAL[-1].format(**values)
