"""SLA's errors are the shared ones; this module names the ones sla raises."""
from services.common.errors import ValidationFailed  # noqa: F401
