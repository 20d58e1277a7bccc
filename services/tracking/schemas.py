"""Tracking's RPC schemas: a transition request as routing, gateway and sla send it."""
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from services.tracking.domain import STATUSES, TRANSITIONS

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
