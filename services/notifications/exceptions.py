"""Notifications' errors are the shared ones; this module names the ones it raises."""
from services.common.errors import IllegalTransition, NotFound, Unavailable, ValidationFailed  # noqa: F401
