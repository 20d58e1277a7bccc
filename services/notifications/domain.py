"""Notifications' pure logic: reporter templates, channel choice and recipient masking."""
import uuid

REPORTER_TEMPLATES = {
    "opened": (
        "report_received",
        {
            "id": "LAPOR!: Laporan Anda diterima. Nomor pelacakan {tracking_id}. "
                  "Cek status di {portal_url}/lacak?id={tracking_id} dengan kode akses Anda.",
            "en": "LAPOR!: Your report was received. Tracking ID {tracking_id}. "
                  "Check its status at {portal_url}/lacak?id={tracking_id} with your access code.",
        },
    ),
    "disposed": (
        "report_disposed",
        {
            "id": "LAPOR!: Laporan {tracking_id} diteruskan ke {agency_name} untuk ditindaklanjuti.",
            "en": "LAPOR!: Report {tracking_id} was sent to {agency_name} for follow-up.",
        },
    ),
    "rejected": (
        "report_rejected",
        {
            "id": "LAPOR!: Laporan {tracking_id} bukan ranah LAPOR! ({reason}). {note}",
            "en": "LAPOR!: Report {tracking_id} is outside LAPOR!'s scope ({reason}). {note}",
        },
    ),
    "followup": (
        "report_followed_up",
        {
            "id": "LAPOR!: Tindak lanjut laporan {tracking_id} dari {agency_name}: {note}",
            "en": "LAPOR!: Follow-up on report {tracking_id} from {agency_name}: {note}",
        },
    ),
    "completed": (
        "report_completed",
        {
            "id": "LAPOR!: Laporan {tracking_id} selesai. Mohon beri penilaian di {portal_url}/lacak?id={tracking_id}.",
            "en": "LAPOR!: Report {tracking_id} is completed. Please rate it at {portal_url}/lacak?id={tracking_id}.",
        },
    ),
}

ACCESS_CODE_TEMPLATE = "access_code_reissued"
# Indonesian first, then English, in one message: the reporter asked for it and must be able to read it.
ACCESS_CODE_TEXT = (
    "LAPOR!: Kode akses baru untuk laporan {tracking_id}: {access_code}. Kode lama tetap berlaku sampai kode "
    "baru ini dipakai. Jangan berikan kode ini kepada siapa pun. / "
    "LAPOR!: New access code for report {tracking_id}: {access_code}. The old code keeps working until this "
    "one is used. Do not share it with anyone."
)
MASKED_ACCESS_CODE = "****-****"

EMAIL_CHANNELS = ("web", "mobile", "rpc", "open311")


# Channels whose webhook answer is itself the receipt (the SMS reply, the reply to the mention).
RECEIPT_AT_INTAKE_CHANNELS = frozenset({"sms", "twitter"})


def reporter_message(event, portal_url, language="id"):
    """(template name, text) for the reporter, or None when this entry is not worth a message."""
    if event["kind"] == "opened" and event.get("channel") in RECEIPT_AT_INTAKE_CHANNELS:
        return None  # they already have the receipt: a second SMS would cost them (and us) twice
    template = REPORTER_TEMPLATES.get(event["kind"])
    if template is None:
        return None
    name, texts = template
    values = {
        "tracking_id": event["tracking_id"],
        "portal_url": portal_url.rstrip("/"),
        "agency_name": event.get("agency_name") or event.get("agency_code") or "instansi terkait",
        "reason": event.get("reason") or "-",
        "note": event.get("note") or "",
    }
    return name, texts[language].format(**values).strip()


def reporter_deliveries(channel, contact):
    """[(channel, recipient)] for a reporter: back on the channel the report came in on."""
    contact = contact or {}
    if channel == "sms" and contact.get("phone"):
        return [("sms", contact["phone"])]
    if channel == "twitter" and contact.get("handle"):
        return [("twitter", contact["handle"])]
    if contact.get("email"):
        return [("email", contact["email"])]
    if contact.get("phone"):
        return [("sms", contact["phone"])]
    return []


def mask_recipient(recipient):
    """`0812****7890` for phones, `s***@example.id` for e-mail, `@h***` for handles."""
    if "@" in recipient and not recipient.startswith("@"):
        local, domain_part = recipient.split("@", 1)
        return f"{local[:1]}***@{domain_part}"
    if recipient.startswith("@"):
        return f"{recipient[:2]}***"
    national = "0" + recipient[3:] if recipient.startswith("+62") else recipient
    return f"{national[:4]}****{national[-4:]}"


def message_id(tracking_id, version, audience, channel):
    """One message per timeline entry, audience and channel: the unique key that stops a second send."""
    return f"{tracking_id}:{version}:{audience}:{channel}"


def access_code_texts(tracking_id, access_code):
    """(text to send, text to keep): the kept one never carries the code."""
    return tuple(ACCESS_CODE_TEXT.format(tracking_id=tracking_id, access_code=code)
                 for code in (access_code, MASKED_ACCESS_CODE))


def access_code_message_id(tracking_id, channel):
    """Each request for a new code is its own message (no timeline version ties it to one)."""
    return f"{tracking_id}:{ACCESS_CODE_TEMPLATE}:{uuid.uuid4().hex}:{channel}"
