"""Tracking's RPC schemas: a transition request, the viewer, the action bodies and the list queries."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from services.tracking.domain import OPEN_STATUSES, STATUSES, TRANSITIONS

JAKARTA = ZoneInfo("Asia/Jakarta")
# GeoReport v2 answers at most 1000 requests per call.
MAX_OPEN311_REQUESTS = 1000
ROLES = ("national_admin", "agency_admin", "agency_officer", "supervisor", "api_client", "reporter", "system")


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_code = fields.String(allow_none=True, load_default=None)
    agency_name = fields.String(allow_none=True, load_default=None)
    username = fields.String(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)


class ViewerSchema(ActorSchema):
    """An actor as the gateway builds it from a token: with the agency codes it may see (None: all)."""

    scope = fields.List(fields.String(), allow_none=True, load_default=None)


def entry_actor(viewer):
    """What a timeline entry records of an actor: never its scope."""
    return {key: value for key, value in viewer.items() if key != "scope"}


class TransitionSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(sorted(TRANSITIONS)))
    to_status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    expected_status = fields.String(allow_none=True, validate=validate.OneOf(STATUSES), load_default=None)
    expected_version = fields.Integer(allow_none=True, load_default=None)
    actor = fields.Nested(ActorSchema, required=True)
    automatic = fields.Boolean(load_default=False)
    agency_code = fields.String(allow_none=True)
    agency_name = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, load_default=None)
    note = fields.String(allow_none=True, validate=validate.Length(max=5000), load_default=None)
    case_class = fields.String(allow_none=True)
    expected_agency_scope = fields.List(fields.String(), allow_none=True, load_default=None)
    # The caller's name for this one change (routing: the event it acts on): a retry of a change whose first try
    # claimed its entry but never moved the report resumes that entry instead of meeting it as someone else's.
    change_key = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=200))


class _ActionSchema(Schema):
    """Every action body: unknown fields refused, and the version the caller last saw (409 if stale)."""

    class Meta:
        unknown = RAISE

    version = fields.Integer(allow_none=True, load_default=None, strict=True)


def _not_blank(text):
    if text and not text.strip():
        raise ValidationError("May not be blank.")


def _text(minimum, maximum, required=True):
    options = {"required": True} if required else {"allow_none": True, "load_default": None}
    return fields.String(validate=[validate.Length(min=minimum, max=maximum), _not_blank], **options)


class MessageSchema(_ActionSchema):
    message = _text(1, 5000)


class NoteSchema(_ActionSchema):
    note = _text(1, 5000)


class ReasonSchema(_ActionSchema):
    reason = _text(3, 2000)


class RatingSchema(_ActionSchema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = _text(0, 2000, required=False)


# action name → its body schema (officer and reporter actions share the field names).
ACTION_SCHEMAS = {
    "followup": MessageSchema, "request_info": MessageSchema, "reply": MessageSchema,
    "complete": NoteSchema, "archive": NoteSchema, "reopen": ReasonSchema, "rate": RatingSchema,
}


REGION_CODE = r"^\d{2}(\.\d{2})?$"


class InboxQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(OPEN_STATUSES))
    agency = fields.String(validate=validate.Length(min=1, max=64))
    region = fields.String(validate=validate.Regexp(REGION_CODE, error="Kode wilayah: provinsi (18) atau "
                                                                       "kabupaten/kota (18.72)."))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class Open311QuerySchema(Schema):
    """`open311_requests`: the gateway has already read Open311's parameters; either `ids`, or the filters."""

    class Meta:
        unknown = RAISE

    ids = fields.List(fields.String(validate=validate.Length(min=1, max=16)),
                      validate=validate.Length(min=1, max=MAX_OPEN311_REQUESTS))
    statuses = fields.List(fields.String(validate=validate.OneOf(STATUSES)), validate=validate.Length(min=1))
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                             validate=validate.Length(min=1, max=100))
    created_from = fields.AwareDateTime()
    created_until = fields.AwareDateTime()
    limit = fields.Integer(load_default=MAX_OPEN311_REQUESTS, validate=validate.Range(min=1, max=MAX_OPEN311_REQUESTS))


# Days a feed may be bounded by: far-off ones overflow the day bounds (9999-12-31 + 1 day) or the store's dates.
FEED_DAYS = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class FeedQuerySchema(Schema):
    """The public feed's query parameters (GET /api/v1/reports); dates are whole days in Asia/Jakarta."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(STATUSES))
    agency = fields.String(validate=validate.Length(max=64))
    region = fields.String(validate=validate.Length(max=16))
    category = fields.String(validate=validate.Length(max=64))
    type = fields.String(validate=validate.OneOf(("complaint", "aspiration", "information_request")))
    q = fields.String(validate=validate.Length(min=2, max=200))
    from_ = fields.Date(data_key="from", validate=FEED_DAYS)
    to = fields.Date(validate=FEED_DAYS)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @post_load
    def day_bounds(self, data, **kwargs):
        if "from_" in data:
            data["from"] = datetime.combine(data.pop("from_"), time.min, tzinfo=JAKARTA)
        if "to" in data:
            data["to"] = datetime.combine(data["to"] + timedelta(days=1), time.min, tzinfo=JAKARTA)
        return data
