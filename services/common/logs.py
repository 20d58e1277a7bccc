"""Logging as every LAPOR service configures it (the LOGGING section of each config.yaml)."""
import logging

EXPECTED_PREFIX = "(expected) error handling worker"


class ExpectedRefusals(logging.Filter):
    """A refusal is not a fault: Nameko logs a worker's expected exception (every LaporError of an RPC: a wrong
    access code, a report not found, a form that does not validate) as a warning *with its traceback*, which
    buries real faults in an operator's log. This keeps the one line, which names the worker and the refusal, and
    drops the traceback. Unexpected errors keep theirs."""

    def filter(self, record):
        if record.name == "nameko.containers" and str(record.msg).startswith(EXPECTED_PREFIX):
            record.exc_info = None
            record.exc_text = None
        return True
