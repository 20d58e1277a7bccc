"""Issue 13 item 4: no secret in a log. The log adapter (and the console adapter) never print an access code, a
token or a receipt link (`tanda=`); the log adapter runs outside a local run only where LAPOR_NOTIFY_ADAPTERS names
it; a masked number shows at most its last 3 digits."""
import logging
import re
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor
from nameko.testing.services import worker_factory

from services.notifications import domain
from services.notifications.adapters import Adapters, ConsoleAdapter, Delivery, LogAdapter, redact_secrets
from services.notifications.service import NotificationsService

ROOT = Path(__file__).resolve().parents[2]
CODE = "Y8VQ-TS21"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vLmFkbWluIn0.Xr-s8OTvrWr0dtIPlVUHWxq6HjgpiRjV8osrK3YI5e8"
SEALED = "gAAAAABnT0k1c2VhbGVkLXJlY2VpcHQtdmFsdWUtbm90LXRvLWJlLWxvZ2dlZA=="
SECRETS = (CODE, CODE.replace("-", ""), JWT, SEALED, "s3cr3t-gateway-token")
EVERY_CHANNEL_BY_NAME = "email=log,sms=log,twitter=log,webhook=log"


def _delivery(text, channel="sms", masked="********890"):
    return Delivery("10000004:3:reporter:sms", "10000004", channel, "+6281234567890", masked, text, "LAPOR!",
                    None, None)


@pytest.mark.parametrize("text", [
    f"LAPOR!: Kode akses baru untuk laporan 10000743: {CODE}. Kode lama tetap berlaku.",
    f"LAPOR!: Access code for report 10000743: {CODE.lower()}",
    f"Tanda terima: http://127.0.0.1:8000/lapor/terkirim?tanda={SEALED}&lang=id",
    f"Authorization: Bearer {JWT}",
    "Lihat http://lapor.test/x?token=s3cr3t-gateway-token&id=1",
], ids=["code", "code-lowercase", "receipt-link", "bearer", "token-link"])
@pytest.mark.parametrize("adapter", [LogAdapter(), ConsoleAdapter()], ids=["log", "console"])
def test_no_adapter_logs_a_secret(adapter, text, caplog):
    with caplog.at_level(logging.DEBUG):
        adapter.send(_delivery(text))
    assert all(secret.lower() not in caplog.text.lower() for secret in SECRETS), caplog.text
    assert "+6281234567890" not in caplog.text and "81234567890" not in caplog.text


def test_redaction_keeps_what_a_person_watching_needs():
    text = f"LAPOR!: Laporan 10000743 diterima. Cek status di http://lapor.test/lacak?id=10000743. Kode: {CODE}"
    redacted = redact_secrets(text)
    assert "10000743" in redacted and "/lacak?id=10000743" in redacted and CODE not in redacted


@pytest.fixture
def notifications():
    """The service with real adapters (log on every channel, as a local run has them) and a store in memory."""
    kept = {}
    adapters = Adapters()
    adapters.container = SimpleNamespace(config={"ENVIRONMENT": "local"})
    adapters.setup()
    service = worker_factory(NotificationsService, adapters=adapters, config={"NOTIFY_SEND_TIMEOUT": 5})
    service.storage.add_message.side_effect = lambda message, *args: kept.setdefault(message["_id"], message) or True
    service.storage.get_message.side_effect = kept.get
    service.storage.template_override.return_value = None
    service.intake.contact.return_value = {"phone": "+6281234567890", "email": "siti@example.id"}
    return service


def test_a_reissued_access_code_is_sent_but_never_logged(notifications, caplog):
    with caplog.at_level(logging.DEBUG):
        assert notifications.send_access_code("10000743", "rep_1", "web", CODE) is True
    assert caplog.text and "10000743" in caplog.text  # the person watching still sees that something went
    assert CODE not in caplog.text and CODE.replace("-", "") not in caplog.text
    assert "siti@example.id" not in caplog.text and "+6281234567890" not in caplog.text


# --- the log adapter outside a local run --------------------------------------------------------------------

def _set_up(config):
    adapters = Adapters()
    adapters.container = SimpleNamespace(config=config)
    adapters.setup()
    return adapters


@pytest.mark.parametrize("config", [{}, {"ENVIRONMENT": "production"}, {"ENVIRONMENT": "staging"},
                                    {"ENVIRONMENT": "production", "NOTIFY_ADAPTERS": "email=log,sms=log"}])
def test_outside_a_local_run_the_log_adapter_must_be_named(config):
    with pytest.raises(ValueError, match="LAPOR_NOTIFY_ADAPTERS"):
        _set_up(config)


def test_named_the_log_adapter_starts_anywhere_and_a_local_run_needs_no_names():
    named = _set_up({"ENVIRONMENT": "production", "NOTIFY_ADAPTERS": EVERY_CHANNEL_BY_NAME})
    assert named.adapter_for("sms").name == "log"
    assert _set_up({"ENVIRONMENT": "local"}).adapter_for("email").name == "log"


class _ConfigLoader(yaml.SafeLoader):
    """Nameko's `${VAR:default}` on a loader of our own (setup_yaml_parser() would change yaml.SafeLoader)."""


_ConfigLoader.add_constructor("!env_var", env_var_constructor)
_ConfigLoader.add_constructor("!raw_env_var", partial(env_var_constructor, raw=True))
_ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def test_the_service_config_is_not_a_local_run_unless_lapor_env_says_so(monkeypatch):
    monkeypatch.delenv("LAPOR_ENV", raising=False)
    monkeypatch.delenv("LAPOR_NOTIFY_ADAPTERS", raising=False)
    text = (ROOT / "services" / "notifications" / "config.yaml").read_text()
    with pytest.raises(ValueError, match="LAPOR_NOTIFY_ADAPTERS"):
        _set_up(yaml.load(text, Loader=_ConfigLoader))
    monkeypatch.setenv("LAPOR_ENV", "local")
    assert _set_up(yaml.load(text, Loader=_ConfigLoader)).adapter_for("sms").name == "log"


# --- masked numbers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("recipient, channel, expected", [
    ("+6281234567890", "sms", "********890"), ("081234567890", "sms", "********890"),
    ("1234567890123456789", "twitter", "********789"), ("4242", "twitter", "********2"),
])
def test_a_masked_number_shows_at_most_its_last_3_digits(recipient, channel, expected):
    masked = domain.mask_recipient(recipient, channel)
    assert masked == expected
    assert len(re.findall(r"\d", masked)) <= 3
