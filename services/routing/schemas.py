"""Routing's RPC schemas: the bodies of the officer actions routing owns (verify, reject, dispose, decline)."""
from marshmallow import RAISE, Schema, fields, validate

from services.routing.domain import CASE_CLASSES, OUT_OF_SCOPE_REASONS

NOTE = validate.Length(max=5000)


class ActionSchema(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1))


class VerifySchema(ActionSchema):
    note = fields.String(allow_none=True, load_default=None, validate=NOTE)


class RejectSchema(ActionSchema):
    reason = fields.String(required=True, validate=validate.OneOf(OUT_OF_SCOPE_REASONS))
    note = fields.String(allow_none=True, load_default=None, validate=NOTE)


class DisposeSchema(ActionSchema):
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    case_class = fields.String(load_default="standard", validate=validate.OneOf(CASE_CLASSES))
    note = fields.String(allow_none=True, load_default=None, validate=NOTE)


class DeclineSchema(ActionSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    suggested_agency_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))


class AgencyContactsSchema(Schema):
    """Where notifications reaches an agency; the webhook secret is named here and kept in notifications' config."""

    class Meta:
        unknown = RAISE

    email = fields.Email(allow_none=True, load_default=None)
    webhook_url = fields.Url(allow_none=True, load_default=None, schemes={"http", "https"}, require_tld=False)
    webhook_secret_ref = fields.String(allow_none=True, load_default=None,
                                       validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))


class UnitSchema(Schema):
    """A unit (dinas, kantor) an admin adds under an agency; its code is made from the name when not given."""

    class Meta:
        unknown = RAISE

    code = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=2, max=64))
    name = fields.String(required=True, validate=validate.Length(min=3, max=200))
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                             validate=validate.Length(max=100))
    email = fields.Email(allow_none=True, load_default=None)


class RoutingRuleSchema(Schema):
    class Meta:
        unknown = RAISE

    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    target = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "local_regency, local_province, or an agency's code."})


class RoutingRulesSchema(Schema):
    """A whole new version of the routing rules: one target per category (the taxonomy's for the rest)."""

    class Meta:
        unknown = RAISE

    rules = fields.List(fields.Nested(RoutingRuleSchema), required=True, validate=validate.Length(max=500))
