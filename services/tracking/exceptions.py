"""Tracking's errors are the shared ones; this module names the ones tracking raises."""
from services.common.errors import Forbidden, IllegalTransition, NotFound, RateLimited, ValidationFailed  # noqa: F401
