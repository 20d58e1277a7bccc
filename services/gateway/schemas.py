"""What the gateway answers, as marshmallow schemas for the OpenAPI document (DESIGN §4); never used to load.

The request schemas are the services' own (intake, routing, tracking, sla, accounts); these describe the
responses they build, field by field. Shapes DESIGN §4 fixes are closed (`unknown = RAISE` becomes
`additionalProperties: false`), so a field added without documentation fails the e2e schema checks."""
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from services.common.dead_letters import OUTCOMES as REPLAY_OUTCOMES
from services.gateway.exceptions import MESSAGES
from services.intake.schemas import CHANNELS, REPORT_TYPES, TweetSchema
from services.sla.schemas import CalendarDaySchema
from services.tracking.domain import STATUSES

CALENDAR_DAY_KINDS = ("holiday", "working_day")
ROLES = ("national_admin", "agency_admin", "agency_officer", "supervisor", "api_client", "reporter", "system")
ERROR_CODES = tuple(MESSAGES)


def _nullable(field_cls, *args, **kwargs):
    """A key always present whose value may be null."""
    return field_cls(*args, required=True, allow_none=True, **kwargs)


def _present(field_cls, *args, **kwargs):
    return field_cls(*args, required=True, **kwargs)


class ClosedSchema(Schema):
    class Meta:
        unknown = RAISE


class OpenSchema(Schema):
    class Meta:
        unknown = EXCLUDE


# Errors.

class ErrorDetailSchema(ClosedSchema):
    code = _present(fields.String, validate=validate.OneOf(ERROR_CODES))
    message = _present(fields.String)
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields", metadata={
        "description": "validation_error (or a refused attachment): the messages per field."})
    work = fields.Nested("WorkChallengeSchema", metadata={
        "description": "rate_limited past the soft per-address limit: solve it and send X-Lapor-Proof."})


class WorkChallengeSchema(ClosedSchema):
    challenge = _present(fields.String, metadata={"description": "<expires>.<bits>.<nonce>.<mac>, 5 minutes, once."})
    bits = _present(fields.Integer, metadata={
        "description": "Leading zero bits the SHA-256 of `<challenge>:<solution>` must have."})
    header = _present(fields.String, metadata={"description": "X-Lapor-Proof: send `<challenge>:<solution>` in it."})


class ErrorSchema(ClosedSchema):
    error = _present(fields.Nested, ErrorDetailSchema)


class Open311ErrorSchema(ClosedSchema):
    code = _present(fields.Integer, metadata={"description": "The HTTP status."})
    description = _present(fields.String)


# The report representation.

class AgencyRefSchema(ClosedSchema):
    code = _present(fields.String)
    name = _nullable(fields.String)


class ReportLocationSchema(ClosedSchema):
    region_code = _nullable(fields.String)
    region_name = _nullable(fields.String)
    address = _nullable(fields.String)
    lat = _nullable(fields.Float)
    lon = _nullable(fields.Float)


class ReporterViewSchema(ClosedSchema):
    name = _nullable(fields.String)
    phone = _nullable(fields.String)
    email = _nullable(fields.String)
    handle = _nullable(fields.String, metadata={"description": "Twitter/X handle, for reports made by mention."})


class OutOfScopeHintSchema(OpenSchema):
    reason = fields.String()
    words = fields.List(fields.String())


class TriageViewSchema(ClosedSchema):
    region_code = _nullable(fields.String)
    suggested_agency = _nullable(fields.String, metadata={"description": "An agency code."})
    confidence = _nullable(fields.Float)
    out_of_scope = _nullable(fields.List, fields.Nested(OutOfScopeHintSchema))
    duplicate_of = _nullable(fields.String, metadata={"description": "The tracking ID of an earlier report."})


class AttachmentSchema(OpenSchema):
    id = _present(fields.String)
    filename = _present(fields.String, metadata={"description": (
        "The name as sent only to those who may see the reporter; otherwise a generic one.")})
    content_type = _present(fields.String, metadata={"description": "Judged from the content, not the name."})
    size = _present(fields.Integer)
    sha256 = _present(fields.String)
    uploaded_at = _present(fields.String, metadata={"format": "date-time"})
    by = _present(fields.String, metadata={"description": "reporter, officer or api_client."})
    url = _present(fields.String, metadata={"description": "Where to download it."})


class ReportSchema(ClosedSchema):
    """DESIGN §4's report representation; `reporter` only where the viewer may see it, `triage` only for
    national admins, `hops` and `flagged` only in officer views."""

    tracking_id = _present(fields.String)
    type = _present(fields.String, validate=validate.OneOf(REPORT_TYPES))
    title = _present(fields.String)
    body = _present(fields.String)
    status = _present(fields.String, validate=validate.OneOf(STATUSES))
    category = _nullable(fields.String)
    channel = _present(fields.String, validate=validate.OneOf(CHANNELS))
    created_at = _present(fields.String, metadata={"format": "date-time"})
    updated_at = _nullable(fields.String, metadata={"format": "date-time"})
    occurred_at = _nullable(fields.String, metadata={"format": "date-time"})
    location = _present(fields.Nested, ReportLocationSchema)
    agency = _nullable(fields.Nested, AgencyRefSchema)
    due_at = _nullable(fields.String, metadata={"format": "date-time",
                                                "description": "The earliest running deadline."})
    overdue = _present(fields.Boolean)
    support_count = _present(fields.Integer)
    anonymous = _present(fields.Boolean)
    confidential = _present(fields.Boolean)
    version = _present(fields.Integer)
    hops = fields.Integer(metadata={"description": "Officer views: how often the report was declined on."})
    flagged = fields.Boolean(metadata={"description": "Officer views: declined back to the national queue."})
    reporter = fields.Nested(ReporterViewSchema)
    triage = fields.Nested(TriageViewSchema, allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), metadata={"description": (
        "Files sent with or after the report (empty for the public on an anonymous report); left out while "
        "intake does not answer.")})


class TimelineActorSchema(ClosedSchema):
    role = _present(fields.String, validate=validate.OneOf(ROLES))
    agency = _nullable(fields.Nested, AgencyRefSchema)
    name = fields.String(allow_none=True, metadata={"description": "Only in officer views."})


class TimelineItemSchema(ClosedSchema):
    kind = _present(fields.String)
    at = _present(fields.String, metadata={"format": "date-time"})
    status = _present(fields.String, validate=validate.OneOf(STATUSES))
    previous_status = _nullable(fields.String, validate=validate.OneOf(STATUSES))
    automatic = _present(fields.Boolean)
    actor = _present(fields.Nested, TimelineActorSchema)
    note = _nullable(fields.String)


def list_envelope(item_schema, name):
    """DESIGN §4's list envelope `{items, page, per_page, total}` around `item_schema`."""
    return Schema.from_dict({
        "items": _present(fields.List, fields.Nested(item_schema)),
        "page": _present(fields.Integer, validate=validate.Range(min=1)),
        "per_page": _present(fields.Integer, validate=validate.Range(min=1)),
        "total": _present(fields.Integer, validate=validate.Range(min=0)),
    }, name=name)


# Answers of the citizen and channel routes.

class ReceiptSchema(ClosedSchema):
    tracking_id = _present(fields.String)
    access_code = _present(fields.String, metadata={"description": "Shown once; keep it to act on the report."})
    status = _present(fields.String, validate=validate.Equal("received"))
    attachments = fields.List(fields.Nested(AttachmentSchema), metadata={"description": "With files sent."})


class AttachmentsAddedSchema(ClosedSchema):
    items = _present(fields.List, fields.Nested(AttachmentSchema))


class SmsReceiptSchema(ClosedSchema):
    tracking_id = _present(fields.String)
    access_code = _present(fields.String)
    reply = _present(fields.String, metadata={"description": "The SMS to send back to the sender."})


class TweetReceiptSchema(ClosedSchema):
    tracking_id = _present(fields.String)
    reply = _present(fields.String, metadata={"description": "The public reply: the tracking ID, no code."})
    tweet_id = _nullable(fields.String)


class TwitterAnswerSchema(ClosedSchema):
    items = _present(fields.List, fields.Nested(TweetReceiptSchema))
    tracking_id = fields.String(metadata={"description": "When exactly one report was made."})
    reply = fields.String()


class TwitterDeliverySchema(OpenSchema):
    """An Account Activity API delivery; only `tweet_create_events` is read (items as intake's TweetSchema)."""

    for_user_id = fields.String()
    tweet_create_events = fields.List(fields.Nested(TweetSchema))


class CrcAnswerSchema(ClosedSchema):
    response_token = _present(fields.String, metadata={"description": "sha256=<base64 HMAC-SHA256>"})


class SupportSchema(ClosedSchema):
    tracking_id = _present(fields.String)
    support_count = _present(fields.Integer)
    supported = _present(fields.Boolean, metadata={"description": "False when this address had supported it."})


class NoticeSchema(ClosedSchema):
    message = _present(fields.String)


class TokenSchema(ClosedSchema):
    access_token = _present(fields.String)
    token_type = _present(fields.String, validate=validate.Equal("bearer"))
    expires_in = _present(fields.Integer, metadata={"description": "Seconds."})


# Reference data and statistics.

class AgencySchema(OpenSchema):
    code = _present(fields.String)
    name = _present(fields.String)
    kind = fields.String()
    parent_code = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)
    children = fields.List(fields.Dict(), metadata={"description": "With tree=1: the agencies below, nested."})


class RegionSchema(OpenSchema):
    code = _present(fields.String)
    name = _present(fields.String)
    level = fields.Integer(metadata={"description": "1 province, 2 regency or city."})
    parent_code = fields.String(allow_none=True)


class CountSchema(OpenSchema):
    code = _present(fields.String)
    name = fields.String(allow_none=True)
    count = _present(fields.Integer)


class WeekCountSchema(OpenSchema):
    week = _present(fields.Date)
    count = _present(fields.Integer)


class StatsSchema(OpenSchema):
    total = _present(fields.Integer)
    by_status = _present(fields.Dict, keys=fields.String(), values=fields.Integer())
    by_channel = _present(fields.Dict, keys=fields.String(), values=fields.Integer())
    by_type = _present(fields.Dict, keys=fields.String(), values=fields.Integer())
    by_agency = _present(fields.List, fields.Nested(CountSchema))
    by_region = _present(fields.List, fields.Nested(CountSchema))
    median_first_response_hours = _nullable(fields.Float)
    confidential_total = _present(fields.Integer)
    weekly = _present(fields.List, fields.Nested(WeekCountSchema),
                      metadata={"description": "Non-confidential reports per week (Monday, Asia/Jakarta), last 12"})
    computed_at = _present(fields.AwareDateTime, metadata={"description": "When these figures were counted"})


class AgencyFiguresSchema(OpenSchema):
    agency = _present(fields.Nested, AgencyRefSchema)
    disposed = _present(fields.Integer)
    answered_in_time = _present(fields.Integer)
    late = _present(fields.Integer)
    open = _present(fields.Integer)
    overdue = _present(fields.Integer)
    median_first_response_hours = _nullable(fields.Float)
    p90_first_response_hours = _nullable(fields.Float)
    compliance_ratio = _nullable(fields.Float)


class SlaFiguresSchema(OpenSchema):
    from_ = _present(fields.Date, data_key="from")
    to = _present(fields.Date)
    timezone = _present(fields.String)
    agencies = _present(fields.List, fields.Nested(AgencyFiguresSchema))


# Officers' and national admins' routes.

class CalendarOverrideSchema(OpenSchema):
    kind = _present(fields.String, validate=validate.OneOf(CALENDAR_DAY_KINDS))
    note = _nullable(fields.String)
    by = fields.Dict(allow_none=True)
    at = fields.String(allow_none=True, metadata={"format": "date-time"})


class CalendarDayViewSchema(OpenSchema):
    day = _present(fields.Date)
    working = _present(fields.Boolean)
    name = _nullable(fields.String, metadata={"description": "The national holiday, in Indonesian."})
    override = _nullable(fields.Nested, CalendarOverrideSchema)


class CalendarSchema(OpenSchema):
    year = _present(fields.Integer)
    timezone = _present(fields.String)
    days = _present(fields.List, fields.Nested(CalendarDayViewSchema))


class CalendarDayChangeSchema(CalendarDaySchema):
    """`POST /api/v1/calendar/days`: sla's calendar day with the kind of change the gateway dispatches on."""

    kind = fields.String(required=True, validate=validate.OneOf(CALENDAR_DAY_KINDS))


class CalendarChangedSchema(OpenSchema):
    day = _present(fields.Date)
    kind = fields.String(validate=validate.OneOf(CALENDAR_DAY_KINDS))
    removed = fields.String(validate=validate.OneOf(CALENDAR_DAY_KINDS))
    note = fields.String(allow_none=True)
    rescheduled = _present(fields.Integer, metadata={"description": "Running deadlines moved by the change."})


class NotificationSchema(OpenSchema):
    id = _present(fields.String)
    tracking_id = _nullable(fields.String)
    audience = fields.String(allow_none=True)
    agency_code = fields.String(allow_none=True)
    channel = _present(fields.String)
    recipient = _nullable(fields.String, metadata={"description": "Masked: ********890 (at most the last 3 digits), s***@example.id."})
    template = _present(fields.String)
    text = _present(fields.String)
    status = _present(fields.String)
    attempts = _present(fields.Integer)
    last_error = fields.String(allow_none=True)
    created_at = _present(fields.String, metadata={"format": "date-time"})
    sent_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class TemplateSchema(OpenSchema):
    name = _present(fields.String)
    language = _present(fields.String, validate=validate.OneOf(("id", "en")))
    audience = fields.String(allow_none=True)
    text = _present(fields.String)
    default_text = _present(fields.String)
    placeholders = _present(fields.List, fields.String())
    customized = _present(fields.Boolean)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class TemplateTextSchema(ClosedSchema):
    text = fields.String(required=True, metadata={"description": "The new text; placeholders as {name}."})


class AuditEntrySchema(OpenSchema):
    at = _present(fields.String, metadata={"format": "date-time"})
    username = _nullable(fields.String)
    role = _nullable(fields.String)
    agency_code = _nullable(fields.String)
    action = _present(fields.String)
    tracking_id = _nullable(fields.String)
    outcome = _present(fields.String)
    client_address = _nullable(fields.String)
    details = fields.Dict(allow_none=True)


class DeadEventSchema(OpenSchema):
    """A parked event as `GET /api/v1/admin/dead-events` shows it: contact data and secrets never included."""

    id = _present(fields.String, metadata={"description": "The record's id (event_id:handler), for a replay."})
    service = _present(fields.String)
    event_id = _nullable(fields.String)
    event_type = _nullable(fields.String)
    handler = _nullable(fields.String)
    tracking_id = _nullable(fields.String)
    status = _present(fields.String, validate=validate.OneOf(("parked", "replayed")))
    error = _nullable(fields.String, metadata={"description": "The last failure (e-mails and phones masked)."})
    attempts = _nullable(fields.Integer)
    parked_at = _nullable(fields.String, metadata={"format": "date-time"})
    replay_count = _present(fields.Integer)
    replayed_at = _nullable(fields.String, metadata={"format": "date-time"})
    replayed_by = _nullable(fields.String)
    replay_outcome = _nullable(fields.String)
    payload = fields.Raw(required=True, allow_none=True, metadata={
        "description": "The stored payload; reporter contacts, access codes and secrets shown as [disembunyikan]."})


class ReplayedEventSchema(OpenSchema):
    id = _present(fields.String)
    event_id = _nullable(fields.String)
    event_type = _nullable(fields.String)
    handler = _nullable(fields.String)
    tracking_id = _nullable(fields.String)
    outcome = _present(fields.String, validate=validate.OneOf(REPLAY_OUTCOMES), metadata={
        "description": "replayed; already_processed (handled meanwhile: nothing ran); already_replayed; failed "
                       "(still parked, with the new error); busy (another replay of it is running)."})
    error = _nullable(fields.String)


class ReplayAnswerSchema(OpenSchema):
    service = _present(fields.String)
    items = _present(fields.List, fields.Nested(ReplayedEventSchema))
    counts = _present(fields.Dict, keys=fields.String(), values=fields.Integer())
    remaining = _present(fields.Integer, metadata={
        "description": "Parked records of the event type not tried in this call: call again for them."})

# Open311 GeoReport v2 answers (the spec's field names).

class Open311EndpointSchema(OpenSchema):
    specification = fields.String()
    url = fields.String()
    changeset = fields.String()
    type = fields.String()
    formats = fields.List(fields.String())


class Open311DiscoverySchema(OpenSchema):
    changeset = _present(fields.String)
    contact = _present(fields.String)
    key_service = _present(fields.String)
    endpoints = _present(fields.List, fields.Nested(Open311EndpointSchema))


class Open311ServiceSchema(OpenSchema):
    service_code = _present(fields.String)
    service_name = _present(fields.String)
    description = _nullable(fields.String)
    metadata = _present(fields.Boolean)
    type = _present(fields.String)
    keywords = fields.String()
    group = fields.String(allow_none=True)


class Open311AttributeValueSchema(OpenSchema):
    key = fields.String()
    name = fields.String()


class Open311AttributeSchema(OpenSchema):
    variable = fields.Boolean()
    code = _present(fields.String)
    datatype = _present(fields.String)
    required = _present(fields.Boolean)
    datatype_description = fields.String(allow_none=True)
    order = fields.Integer()
    description = fields.String(allow_none=True)
    values = fields.List(fields.Nested(Open311AttributeValueSchema))


class Open311ServiceDefinitionSchema(OpenSchema):
    service_code = _present(fields.String)
    attributes = _present(fields.List, fields.Nested(Open311AttributeSchema))


class Open311RequestSchema(OpenSchema):
    service_request_id = _present(fields.String)
    status = _present(fields.String, validate=validate.OneOf(("open", "closed")))
    status_notes = _nullable(fields.String)
    service_name = _nullable(fields.String)
    service_code = _nullable(fields.String)
    description = _present(fields.String)
    agency_responsible = _nullable(fields.String)
    service_notice = _nullable(fields.String)
    requested_datetime = _present(fields.String, metadata={"format": "date-time"})
    updated_datetime = _nullable(fields.String, metadata={"format": "date-time"})
    expected_datetime = _nullable(fields.String, metadata={"format": "date-time"})
    address = _nullable(fields.String)
    address_id = _nullable(fields.String)
    zipcode = _nullable(fields.String)
    lat = _nullable(fields.Float)
    long = _nullable(fields.Float)
    media_url = _nullable(fields.String)


class Open311CreatedSchema(OpenSchema):
    service_request_id = _present(fields.String)
    service_notice = fields.String()
    access_code = fields.String(metadata={"description": "LAPOR extension: hand it to the reporter."})
    token = fields.String()


class Open311CreateFormSchema(OpenSchema):
    """POST requests.json's form; checked by the gateway (services/gateway/open311.py), not by this schema."""

    api_key = fields.String(metadata={"description": "Or the X-API-Key header."})
    service_code = fields.String(required=True)
    lat = fields.Float()
    long = fields.Float()
    address_string = fields.String()
    address_id = fields.String(metadata={"description": "A Kemendagri region code, e.g. 18.72."})
    description = fields.String(required=True, validate=validate.Length(max=4000))
    media_url = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String()
    email = fields.String()
