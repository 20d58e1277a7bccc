"""Intake's errors are the shared ones; this module names the ones intake raises."""
from services.common.errors import IdempotencyConflict, Unavailable, ValidationFailed  # noqa: F401
