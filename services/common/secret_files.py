"""`LAPOR_<SECRET>_FILE`: a secret read from a file, as Docker and Kubernetes secrets are mounted.

For each secret below, `LAPOR_X_FILE=/run/secrets/x` sets `LAPOR_X` to the file's content (one trailing newline
dropped) before the service reads its config (services/serve.py). Setting both is an error, as is a file that
cannot be read or is empty: a service must not start on a secret it did not get. Errors name the variable and
the path, never the content.
"""
import os

SECRET_VARIABLES = (
    "LAPOR_AMQP_URI", "LAPOR_MONGO_URI",  # their passwords
    "LAPOR_SECRET_KEY", "LAPOR_PII_KEY",
    "LAPOR_SMS_WEBHOOK_SECRET", "LAPOR_TWITTER_CONSUMER_SECRET", "LAPOR_TWITTER_DM_TOKEN",
    "LAPOR_SMS_GATEWAY_TOKEN", "LAPOR_SMPP_PASSWORD", "LAPOR_SMPP_RECEIVER_PASSWORD", "LAPOR_SMTP_PASSWORD",
    "LAPOR_NOTIFY_WEBHOOK_SECRETS",
)
BUS_PASSWORD_PREFIX = "LAPOR_BUS_PASSWORD_"  # compose's topology job: one per service (devstack/bus_accounts.py)


class SecretFileError(ValueError):
    pass


def _secret_names(environ):
    bus_passwords = {name[:-len("_FILE")] for name in environ
                     if name.startswith(BUS_PASSWORD_PREFIX) and name.endswith("_FILE")}
    return (*SECRET_VARIABLES, *sorted(bus_passwords))


def resolve_secret_files(environ=os.environ):
    """Set each secret that has a `_FILE` variable from its file, in `environ`; returns the names set so."""
    resolved = []
    for name in _secret_names(environ):
        path = environ.get(f"{name}_FILE")
        if not path:
            continue
        if environ.get(name):
            raise SecretFileError(f"{name} and {name}_FILE are both set; set one of them")
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read()
        except OSError as exc:
            raise SecretFileError(f"{name}_FILE: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
        if not value:
            raise SecretFileError(f"{name}_FILE: {path} is empty")
        environ[name] = value
        resolved.append(name)
    return resolved
