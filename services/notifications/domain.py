"""Notifications' pure logic: which messages an event makes, to whom, on which channels, and when to retry."""
import random
import uuid
from collections import namedtuple
from datetime import datetime
from urllib.parse import urlsplit

from services.common.field_errors import translate_message
from services.notifications import templates

# One message to write: its audience, template, language-neutral data, and whether it waits for a deadline.
Planned = namedtuple("Planned", "audience template data hold")

ACCESS_CODE_TEMPLATE = "access_code_reissued"
# The first code, for a channel whose public answer cannot carry it (the reply to a mention).
RECEIPT_CODE_TEMPLATE = "access_code_receipt"
RECEIPT_CODE_CHANNELS = frozenset({"twitter"})
MASKED_ACCESS_CODE = "****-****"
MASK_SHOWN_DIGITS = 3  # of a phone number or a Twitter user id in a masked recipient

# Channels whose webhook answer is itself the receipt (the SMS reply, the reply to the mention).
RECEIPT_AT_INTAKE_CHANNELS = frozenset({"sms", "twitter"})

# A contact field and the channel that reaches it; the order other contacts are told in.
# Twitter goes to the numeric user id: direct messages are addressed by it, and a handle can change hands.
CONTACT_CHANNELS = (("email", "email"), ("phone", "sms"), ("twitter_id", "twitter"))
AGENCY_CONTACT_CHANNELS = (("email", "email"), ("webhook_url", "webhook"))
ORIGIN_CHANNELS = {"sms": "sms", "twitter": "twitter"}  # every other intake channel answers by e-mail

# The channel an agency without a contact is told on: the officer console reads it from the outbox.
CONSOLE = "console"

REPORTER_TEMPLATES = {
    "opened": "report_received",
    "verified": "report_verified",
    "disposed": "report_disposed",
    "rejected": "report_rejected",
    "followup": "report_followed_up",
    "info_requested": "report_info_requested",
    "completed": "report_completed",
    "reopened": "report_reopened",
    "escalated": "report_escalated",
}
AGENCY_TEMPLATES = {
    "disposed": "agency_disposed",
    "escalated": "agency_escalated",
    "reopened": "agency_reopened",
    "reply": "agency_reporter_reply",
}
DEADLINE_TEMPLATES = {"deadline_approaching": "agency_deadline_approaching",
                      "deadline_breached": "agency_deadline_breached"}
# The stages an agency answers for; verification is the national admins', auto_close nobody's.
AGENCY_STAGES = frozenset({"response", "completion"})
# Entries that open a response clock (sla's clock_plan): their message waits for its deadline.
HOLD_STAGE = "response"
_OPENS_RESPONSE_CLOCK = frozenset({"disposed", "escalated", "reopened"})


def _kind(event):
    """A decline that moved the report to another agency is, for whoever is told, a new disposition."""
    if event["kind"] == "declined" and event.get("status") == "disposed":
        return "disposed"
    return event["kind"]


def plan(event):
    """[Planned] for one `report_updated` entry: at most one for the reporter and one for the holder agency."""
    kind = _kind(event)
    data = {key: event.get(key) for key in ("tracking_id", "agency_code", "agency_name", "reason", "note")}
    data["due_at"] = None
    hold = kind in _OPENS_RESPONSE_CLOCK
    planned = []
    if kind in REPORTER_TEMPLATES and event.get("reporter_ref"):
        planned.append(Planned("reporter", REPORTER_TEMPLATES[kind], dict(data), hold))
    if kind in AGENCY_TEMPLATES and event.get("agency_code"):
        # Never the reporter's identity: no contact, no reference, only what the entry itself says.
        agency_data = {key: data[key] for key in ("tracking_id", "agency_code", "agency_name", "due_at")}
        if kind == "reply":
            agency_data["note"] = data["note"]
        planned.append(Planned("agency", AGENCY_TEMPLATES[kind], agency_data, hold))
    return planned


def deadline_plan(event_type, event, agency_name=None):
    """The agency's Planned for a deadline warning or breach, or None when no agency answers for the stage."""
    if event_type not in DEADLINE_TEMPLATES or event["stage"] not in AGENCY_STAGES or not event.get("agency_code"):
        return None
    due_at = event["due_at"]
    data = {"tracking_id": event["tracking_id"], "agency_code": event["agency_code"], "agency_name": agency_name,
            "stage": event["stage"], "due_at": due_at.isoformat() if isinstance(due_at, datetime) else due_at}
    return Planned("agency", DEADLINE_TEMPLATES[event_type], data, False)


def skips_origin(event):
    """The receipt is not sent again where the channel's own answer already was one."""
    return event["kind"] == "opened" and event.get("channel") in RECEIPT_AT_INTAKE_CHANNELS


def reporter_deliveries(channel, contact, skip_origin=False):
    """[(channel, recipient)]: back on the channel the report came in on, then to every other contact given."""
    contact = contact or {}
    reachable = {channel_name: contact[field] for field, channel_name in CONTACT_CHANNELS if contact.get(field)}
    origin = ORIGIN_CHANNELS.get(channel, "email")
    order = [origin] + [name for _, name in CONTACT_CHANNELS if name != origin]
    deliveries = [(name, reachable[name]) for name in order if name in reachable]
    if skip_origin:
        deliveries = [(name, recipient) for name, recipient in deliveries if name != origin]
    return deliveries


def reporter_recipient(channel, contact):
    """Where a reporter's message on `channel` goes, from the contact on file (None: no longer on file)."""
    field = {name: field for field, name in CONTACT_CHANNELS}.get(channel)
    return (contact or {}).get(field) if field else None


def agency_deliveries(agency_code, contacts):
    """[(channel, recipient)] for an agency: its e-mail and webhook, or its console when it has neither."""
    contacts = contacts or {}
    deliveries = [(name, contacts[field]) for field, name in AGENCY_CONTACT_CHANNELS if contacts.get(field)]
    return deliveries or [(CONSOLE, agency_code)]


def agency_recipient(channel, agency_code, contacts):
    return dict(agency_deliveries(agency_code, contacts)).get(channel)


def mask_recipient(recipient, channel=None):
    """`********890` for phones and Twitter user ids (at most the last 3 digits), `s***@example.id` for e-mail,
    `@h***` for handles, the host of a webhook."""
    if channel == CONSOLE:
        return recipient  # an agency code, nobody's contact
    if channel == "twitter" and not recipient.startswith("@"):
        return mask_number(recipient)
    if recipient.startswith(("http://", "https://")):
        parts = urlsplit(recipient)
        return f"{parts.scheme}://{parts.hostname}/***"
    if "@" in recipient and not recipient.startswith("@"):
        local, domain_part = recipient.split("@", 1)
        return f"{local[:1]}***@{domain_part}"
    if recipient.startswith("@"):
        return f"{recipient[:2]}***"
    return mask_number(recipient)


def mask_number(number):
    """A fixed run of stars and at most the last 3 digits (fewer of a short number): neither the operator prefix
    nor the length is shown, so the mask alone cannot be dialled back to a person."""
    digits = "".join(char for char in str(number) if char.isdigit())
    shown = min(MASK_SHOWN_DIGITS, len(digits) // 4)
    return "*" * 8 + (digits[-shown:] if shown else "")


def message_id(tracking_id, version, audience, channel):
    """One message per timeline entry, audience and channel: the unique key that stops a second send."""
    return f"{tracking_id}:{version}:{audience}:{channel}"


def deadline_message_id(event_type, event, channel):
    """One message per clock, kind of deadline event, due time and channel (a resumed clock may warn again)."""
    due_at = event["due_at"]
    due = int(due_at.timestamp()) if isinstance(due_at, datetime) else due_at
    return f"{event['clock_id']}:{event_type}:{due}:agency:{channel}"


def access_code_texts(tracking_id, access_code, template_texts):
    """(text to send, text to keep) in both languages, Indonesian first: the kept one never carries the code.

    The reporter asked for the code and must be able to read it whatever their language."""
    def both(code):
        return " / ".join(templates.render(template_texts[language], {
            "tracking_id": tracking_id, "access_code": code, "portal_url": "", "report_url": ""})
            for language in templates.LANGUAGES)

    return both(access_code), both(MASKED_ACCESS_CODE)


def access_code_message_id(tracking_id, channel):
    """Each request for a new code is its own message (no timeline version ties it to one)."""
    return f"{tracking_id}:{ACCESS_CODE_TEMPLATE}:{uuid.uuid4().hex}:{channel}"


def receipt_code_message_id(tracking_id, channel):
    """One receipt code per report and channel: a redelivered mention never sends a second one."""
    return f"{tracking_id}:{RECEIPT_CODE_TEMPLATE}:{channel}"


def receipt_code_problems(tracking_id, channel, recipient, access_code):
    """{field: [bilingual message]} for a receipt code request that cannot be sent; empty when it can."""
    problems = {}
    for field, value in (("tracking_id", tracking_id), ("recipient", recipient), ("access_code", access_code)):
        if not isinstance(value, str) or not value.strip():
            problems[field] = [translate_message("Missing data for required field.")]
    if channel not in RECEIPT_CODE_CHANNELS:
        problems["channel"] = [translate_message(f"Must be one of: {', '.join(sorted(RECEIPT_CODE_CHANNELS))}.")]
    elif "recipient" not in problems and not (recipient.isascii() and recipient.isdigit()):
        problems["recipient"] = [{"id": "Harus ID pengguna Twitter (angka).",
                                  "en": "Must be a Twitter user id (digits)."}]
    return problems


def retry_delay(attempts, base, cap, factor=2, jitter=random.random):
    """Seconds before the next try after `attempts` failed ones: exponential, capped, with equal jitter
    (half fixed, half random) so messages failed together do not all come back together."""
    delay = min(cap, base * factor ** max(attempts - 1, 0))
    return delay / 2 + jitter() * delay / 2
