"""Routing's errors are the shared ones; this module names the ones routing raises."""
from services.common.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed  # noqa: F401


class TrainingFailed(RuntimeError):
    """The training process failed or ran out of time; the current model stays in use."""
