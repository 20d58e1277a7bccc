"""The gateway's access log without secrets: eventlet writes each request line, query string included, to the
`nameko.web.server` logger, and a URL may carry a sealed receipt (`tanda=`), a token or a key."""
import logging
import re

ACCESS_LOGGER = "nameko.web.server"
REDACTED = "[redacted]"
# A query parameter whose value is a secret, up to the next parameter, fragment, space or quote.
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&](?:tanda|token|access_token|access_code|kode|code|key|api_key|secret|signature|sig)=)[^&#\s\"]*")


def without_secrets(line):
    return _SECRET_PARAMETER.sub(lambda match: match.group(1) + REDACTED, line)


class SecretParameters(logging.Filter):
    """Rewrites a record whose text holds a secret parameter; drops nothing."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = without_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def keep_secrets_out_of_the_access_log():
    """Idempotent: every HTTP entrypoint of the process calls it as it is set up."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, SecretParameters) for existing in logger.filters):
        logger.addFilter(SecretParameters())
