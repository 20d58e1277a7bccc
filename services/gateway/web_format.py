"""Pure helpers of the web pages: dates in Jakarta time, ages, SLA badges, pages, and forms → API bodies."""
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
# A deadline closer than this is "due soon" in the console (the SLA service warns agencies on its own schedule).
DUE_SOON = timedelta(hours=24)
MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
AGE_UNITS = {
    "id": {"now": "baru saja", "minutes": "{n} menit", "hours": "{n} jam", "days": "{n} hari"},
    "en": {"now": "just now", "minutes": "{n} min", "hours": "{n} h", "days": "{n} days"},
}


def parse_time(value):
    """An ISO-8601 string (or a datetime) as an aware datetime; None for None or garbage."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_datetime(value, language="id"):
    """'25 Nov 2026 14.30 WIB' (Indonesian writes hours with a dot); '' when there is no time."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone(JAKARTA)
    separator = "." if language == "id" else ":"
    month = MONTHS.get(language, MONTHS["id"])[local.month - 1]
    return f"{local.day} {month} {local.year} {local.hour:02d}{separator}{local.minute:02d} WIB"


def format_date(value, language="id"):
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone(JAKARTA)
    return f"{local.day} {MONTHS.get(language, MONTHS['id'])[local.month - 1]} {local.year}"


def format_age(value, now, language="id"):
    """How long ago `value` was, coarsely: '3 hari', '5 jam', 'baru saja'."""
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = max(0, (now - moment).total_seconds())
    units = AGE_UNITS.get(language, AGE_UNITS["id"])
    if seconds < 60:
        return units["now"]
    if seconds < 3600:
        return units["minutes"].format(n=int(seconds // 60))
    if seconds < 86400:
        return units["hours"].format(n=int(seconds // 3600))
    return units["days"].format(n=int(seconds // 86400))


def sla_badge(report, now):
    """'late', 'due_soon' or 'on_time' for a report with a running deadline; None without one."""
    due_at = parse_time(report.get("due_at"))
    if due_at is None:
        return None
    if report.get("overdue") or due_at <= now:
        return "late"
    return "due_soon" if due_at - now <= DUE_SOON else "on_time"


def pages(page, per_page, total):
    """What a pager needs: the page, the last page (at least 1), and the previous/next pages or None."""
    last = max(1, math.ceil((total or 0) / per_page)) if per_page else 1
    return {"page": page, "pages": last, "total": total or 0,
            "previous": page - 1 if page > 1 else None, "next": page + 1 if page < last else None}


def positive_page(text, default=1, maximum=10_000):
    """A page number from a query string; anything that is not a whole number ≥ 1 gives the default."""
    if text is None or not str(text).isdigit():
        return default
    return min(max(1, int(text)), maximum)


def clean_query(args, allowed):
    """The query parameters a list page passes on, without blanks (so the API's validation sees only choices)."""
    return {key: args[key].strip() for key in allowed if args.get(key) and args[key].strip()}


def _blank_to_none(value):
    value = (value or "").strip()
    return value or None


def occurred_at_from_form(value):
    """A browser's datetime-local ('2026-11-25T09:30') read as Jakarta time, in ISO-8601; None when empty."""
    value = _blank_to_none(value)
    if value is None:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        return value  # let the API's validation name it, next to the field
    if local.tzinfo is None:
        local = local.replace(tzinfo=JAKARTA)
    return local.isoformat()


def submission_from_form(form):
    """The `POST /api/v1/reports` body from the submit form: blanks left out, checkboxes as booleans, the
    regency if chosen, else the province."""
    location = {key: value for key, value in (
        ("region_code", _blank_to_none(form.get("region_code")) or _blank_to_none(form.get("province"))),
        ("address", _blank_to_none(form.get("address"))),
    ) if value}
    reporter = {key: _blank_to_none(form.get(key)) for key in ("name", "phone", "email")}
    reporter = {key: value for key, value in reporter.items() if value}
    body = {
        "type": _blank_to_none(form.get("type")),
        "title": form.get("title") or "",
        "body": form.get("body") or "",
        "anonymous": form.get("anonymous") == "1",
        "confidential": form.get("confidential") == "1",
    }
    optional = {"occurred_at": occurred_at_from_form(form.get("occurred_at")),
                "agency_code": _blank_to_none(form.get("agency_code")),
                "category": _blank_to_none(form.get("category")),
                "location": location or None, "reporter": reporter or None}
    body.update({key: value for key, value in optional.items() if value is not None})
    if body["type"] is None:
        del body["type"]
    return body


# API field paths → the form field their message is shown beside.
FORM_FIELDS = {"location.region_code": "region_code", "location.address": "address", "reporter.name": "name",
               "reporter.phone": "phone", "reporter.email": "email", "location": "region_code", "reporter": "phone"}


def field_messages(fields, language):
    """{form field: [messages in `language`]} from a ValidationFailed's bilingual {path: [{id, en}]}."""
    shown = {}
    for path, messages in (fields or {}).items():
        field = FORM_FIELDS.get(path, path.split(".")[-1] if path.startswith(("location.", "reporter.")) else path)
        field = "attachments" if field == "file" or field.startswith("file[") else field
        for message in messages:
            text = message.get(language) or message.get("id") if isinstance(message, dict) else str(message)
            shown.setdefault(field, []).append(text)
    return shown


# Each officer action's form fields (DESIGN §4); anything else a form sends is dropped.
ACTION_FIELDS = {
    "verify": ("note",), "reject": ("reason", "note"), "dispose": ("agency_code", "case_class", "note"),
    "decline": ("reason", "suggested_agency_code"), "followups": ("message",), "request-info": ("message",),
    "complete": ("note",), "reopen": ("reason",), "archive": ("note",),
    # the reporter's
    "reply": ("message",), "rate": ("score", "comment"),
}
INTEGER_FIELDS = ("score",)


def action_body(action, form):
    """The JSON body of an action from its form: only its fields, blanks left out, `version` and scores as
    integers (the API wants numbers; a non-number is passed on for the API to refuse next to the field)."""
    body = {}
    for field in ACTION_FIELDS.get(action, ()) + ("version",):
        value = _blank_to_none(form.get(field))
        if value is None:
            continue
        body[field] = int(value) if field in INTEGER_FIELDS + ("version",) and value.isdigit() else value
    return body
