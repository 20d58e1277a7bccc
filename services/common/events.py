"""The bus contract (DESIGN §3): the envelope and every event payload, as marshmallow schemas.

Producers dump through these schemas (no datetime or ObjectId objects on the wire); consumers load
with `unknown = EXCLUDE` so a newer producer's extra fields do not break them.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, fields, validate

SCHEMA_VERSION = 1
KNOWN_SCHEMA_VERSIONS = (1,)

REPORT_SUBMITTED = "report_submitted"
REPORT_UPDATED = "report_updated"
DEADLINE_SET = "deadline_set"
DEADLINE_APPROACHING = "deadline_approaching"
DEADLINE_BREACHED = "deadline_breached"
NOTIFICATION_FAILED = "notification_failed"

# The channels an API key submits through (the gateway's HTTP API and Open311). A report's `submitted_by` names
# an API key only on these; on "rpc" it names a caller on the bus, whose names are another namespace, so an API
# key called "rpc" or "sipp" never reads back what the bus's default client or gov-sipp submitted.
API_KEY_CHANNELS = ("api", "open311")


def submitted_by_api_key(report, api_key_name):
    """Whether the API key `api_key_name` submitted `report` (a report_submitted event or a report read from it)."""
    return bool(api_key_name) and report.get("channel") in API_KEY_CHANNELS and \
        report.get("submitted_by") == api_key_name


def now():
    return datetime.now(timezone.utc)


def new_envelope(tracking_id):
    return {
        "event_id": str(uuid.uuid4()),
        "tracking_id": tracking_id,
        "emitted_at": now(),
        "schema": SCHEMA_VERSION,
    }


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True)
    tracking_id = fields.String(required=True)
    emitted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    schema = fields.Integer(required=True, validate=validate.OneOf(KNOWN_SCHEMA_VERSIONS))


class LocationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    region_code = fields.String(allow_none=True)
    region_name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class ContentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    occurred_at = fields.AwareDateTime(allow_none=True, default_timezone=timezone.utc)
    location = fields.Nested(LocationSchema, allow_none=True)
    category = fields.String(allow_none=True)
    # The agency the reporter asked for; DESIGN §3 leaves it out of `opened`, but routing needs it.
    agency_code = fields.String(allow_none=True)


class ReportSubmittedSchema(EventSchema, ContentSchema):
    channel = fields.String(required=True)
    region_hint = fields.String(allow_none=True)
    anonymous = fields.Boolean(required=True)
    confidential = fields.Boolean(required=True)
    reporter_ref = fields.String(allow_none=True)
    access_code_hash = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    submitted_by = fields.String(allow_none=True)  # the API client that submitted it; None for the public


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True)
    agency_code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class ReportUpdatedSchema(EventSchema):
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    previous_status = fields.String(allow_none=True)
    kind = fields.String(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    automatic = fields.Boolean(required=True)
    agency_code = fields.String(allow_none=True)
    agency_name = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    case_class = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    reporter_ref = fields.String(allow_none=True)
    anonymous = fields.Boolean(required=True)
    confidential = fields.Boolean(required=True)
    at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    content = fields.Nested(ContentSchema, allow_none=True)
    region_hint = fields.String(allow_none=True)


class DeadlineSchema(EventSchema):
    stage = fields.String(required=True)
    clock_id = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    agency_code = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)


class DeadlineSetSchema(DeadlineSchema):
    # null: no deadline runs for the report any more (its clock is paused or answered); views show none.
    due_at = fields.AwareDateTime(required=True, allow_none=True, default_timezone=timezone.utc)


class NotificationFailedSchema(EventSchema):
    outbox_id = fields.String(required=True)
    channel = fields.String(required=True)
    reason = fields.String(required=True)


SCHEMAS = {
    REPORT_SUBMITTED: ReportSubmittedSchema,
    REPORT_UPDATED: ReportUpdatedSchema,
    DEADLINE_SET: DeadlineSetSchema,
    DEADLINE_APPROACHING: DeadlineSchema,
    DEADLINE_BREACHED: DeadlineSchema,
    NOTIFICATION_FAILED: NotificationFailedSchema,
}


def dump_event(event_type, payload):
    """Validate-by-loading, then dump: a producer cannot put a malformed payload on the bus."""
    schema = SCHEMAS[event_type]()
    dumped = schema.dump(payload)
    schema.load(dumped)
    return dumped


def load_event(event_type, payload):
    return SCHEMAS[event_type]().load(payload)
