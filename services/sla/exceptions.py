"""SLA's errors are the shared ones; this module names the ones sla raises."""
from services.common.errors import Forbidden, NotFound, ValidationFailed  # noqa: F401
