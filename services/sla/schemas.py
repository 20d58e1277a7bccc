"""SLA's RPC schemas: a calendar change, the actor making it, and the figures query."""
from datetime import timedelta

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_PERIOD_DAYS = 366  # a year, leap day included; every clock in it is read
DEFAULT_PERIOD_DAYS = 30


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True)
    username = fields.String(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)


def _within_years(day):
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"Must be greater than or equal to {FIRST_YEAR} and less than or equal to {LAST_YEAR}.")


class CalendarDaySchema(Schema):
    class Meta:
        unknown = RAISE

    day = fields.Date(required=True, validate=_within_years)
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))


class YearSchema(Schema):
    year = fields.Integer(required=True, strict=False, validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR))


class FiguresQuerySchema(Schema):
    """`GET /api/v1/stats/sla` query: whole days in Asia/Jakarta; default the last 30 days up to today."""

    class Meta:
        unknown = RAISE

    agency = fields.String(validate=validate.Length(min=1, max=64))
    from_ = fields.Date(data_key="from", validate=_within_years)  # far-off days overflow the period's bounds
    to = fields.Date(validate=_within_years)

    @validates_schema
    def ordered_and_bounded(self, data, **kwargs):
        first, last = data.get("from_"), data.get("to")
        if first and last and first > last:
            raise ValidationError(BEFORE_FROM, field_name="to")
        if first and last and (last - first).days >= MAX_PERIOD_DAYS:
            raise ValidationError(TOO_LONG, field_name="to")


# Our own validation messages, with their Indonesian (services/common/field_errors.py knows marshmallow's).
BEFORE_FROM = "May not be before 'from'."
TOO_LONG = f"The period may be at most {MAX_PERIOD_DAYS} days."
INDONESIAN = {
    BEFORE_FROM: "Tidak boleh sebelum 'from'.",
    TOO_LONG: f"Periode paling panjang {MAX_PERIOD_DAYS} hari.",
}


def period(query, today):
    """(first day, last day) of a loaded figures query; without dates, the 30 days up to today. ValidationError
    when `from` alone reaches back more than MAX_PERIOD_DAYS (both given, the schema has checked them)."""
    last = query.get("to") or max(today, query.get("from_") or today)
    first = query.get("from_") or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise ValidationError({"from": [TOO_LONG]})
    return first, last
