"""Tracking's RPC schemas: a transition request as routing, gateway and sla send it."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_load, validate

from services.tracking.domain import STATUSES, TRANSITIONS

JAKARTA = ZoneInfo("Asia/Jakarta")
ROLES = ("national_admin", "agency_admin", "agency_officer", "supervisor", "api_client", "reporter", "system")


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_code = fields.String(allow_none=True, load_default=None)
    agency_name = fields.String(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)


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
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @post_load
    def day_bounds(self, data, **kwargs):
        if "from_" in data:
            data["from"] = datetime.combine(data.pop("from_"), time.min, tzinfo=JAKARTA)
        if "to" in data:
            data["to"] = datetime.combine(data["to"] + timedelta(days=1), time.min, tzinfo=JAKARTA)
        return data
