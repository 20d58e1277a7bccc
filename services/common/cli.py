"""What the operators' command-line tools (accounts, dead events, PII key rotation) share."""
from kombu.utils.url import maybe_sanitize_url


def not_answering(what, uri, exc):
    """`the store at mongodb://u:**@host/ does not answer (ServerSelectionTimeoutError)`: the URI without its
    password, and the kind of error without its text (which may repeat the URI in full)."""
    return f"the {what} at {maybe_sanitize_url(uri)} does not answer ({exc.__class__.__name__})"
