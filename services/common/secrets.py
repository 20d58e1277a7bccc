"""Secrets from config: the server key for keyed hashes and, where needed, the Fernet keys for PII."""
from cryptography.fernet import Fernet, MultiFernet
from nameko.extensions import DependencyProvider


def pii_cipher(pii_key):
    """A MultiFernet over LAPOR_PII_KEY's comma-separated keys: the first encrypts, any of them decrypts, so a new
    key goes first and the old one stays after it until `make rotate-pii-key` has encrypted everything again."""
    keys = [key.strip() for key in (pii_key or "").split(",") if key.strip()]
    if not keys:
        raise RuntimeError("LAPOR_PII_KEY must be set (make run generates one under var/)")
    fernets = []
    for number, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise RuntimeError(f"LAPOR_PII_KEY: key {number} of {len(keys)} is not a Fernet key "
                               "(32 bytes in URL-safe base64)") from None
    return MultiFernet(fernets)


class Secrets(DependencyProvider):
    def __init__(self, needs_pii_key=False):
        self.needs_pii_key = needs_pii_key
        self.cipher = None

    def setup(self):
        config = self.container.config
        self.secret_key = config.get("SECRET_KEY") or ""
        if not self.secret_key:
            raise RuntimeError("LAPOR_SECRET_KEY must be set (make run generates one under var/)")
        if self.needs_pii_key:
            self.cipher = pii_cipher(config.get("PII_KEY"))

    def get_dependency(self, worker_ctx):
        return self
