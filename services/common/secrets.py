"""Secrets from config: the server key for keyed hashes and, where needed, the Fernet key for PII."""
from cryptography.fernet import Fernet
from nameko.extensions import DependencyProvider


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
            pii_key = config.get("PII_KEY") or ""
            if not pii_key:
                raise RuntimeError("LAPOR_PII_KEY must be set (make run generates one under var/)")
            self.cipher = Fernet(pii_key.encode())

    def get_dependency(self, worker_ctx):
        return self
