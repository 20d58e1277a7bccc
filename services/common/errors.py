"""Error types shared by every service; registered so they cross RPC as themselves, not RemoteError."""
from nameko.exceptions import deserialize_to_instance


class LaporError(Exception):
    """Base of every error a LAPOR caller is meant to see. `code` is the API error code."""

    code = "internal_error"

    def __init__(self, message="", fields=None):
        super().__init__(message, fields or {})
        self.message = message
        self.fields = fields or {}

    def __str__(self):
        return self.message or self.code


@deserialize_to_instance
class ValidationFailed(LaporError):
    code = "validation_error"


@deserialize_to_instance
class InvalidTrackingId(LaporError):
    code = "invalid_tracking_id"


@deserialize_to_instance
class NotFound(LaporError):
    code = "not_found"


@deserialize_to_instance
class Forbidden(LaporError):
    code = "forbidden"


@deserialize_to_instance
class IllegalTransition(LaporError):
    code = "illegal_transition"


@deserialize_to_instance
class IdempotencyConflict(LaporError):
    code = "idempotency_conflict"


@deserialize_to_instance
class Unavailable(LaporError):
    code = "unavailable"


@deserialize_to_instance
class TooLarge(LaporError):
    """Over a size or count limit (413); intake's attachment checks raise it too, so it crosses RPC."""

    code = "too_large"


@deserialize_to_instance
class UnsupportedMediaType(LaporError):
    """A body or file of a type not accepted (415)."""

    code = "unsupported_media_type"


@deserialize_to_instance
class RateLimited(LaporError):
    """`fields` carries {"retry_after": seconds} for the Retry-After header."""

    code = "rate_limited"

    @property
    def retry_after(self):
        return int(self.fields.get("retry_after", 60))
