"""An expected refusal (a LaporError of an RPC) is one warning line in a service's log, not a traceback; a real
fault keeps its traceback (services/common/logs.py, services/common/entrypoints.py)."""
import io
import logging
import logging.config
import sys
from pathlib import Path

import pytest
import yaml

from services.common.entrypoints import Rpc
from services.common.errors import Forbidden, LaporError
from services.common.logs import ExpectedRefusals
from tests.unit.test_attachments import ConfigLoader

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "intake", "routing", "tracking", "notifications", "sla")


def record(message, exc):
    try:
        raise exc
    except type(exc):
        info = sys.exc_info()
    return logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1, message, ("<worker>", exc), info)


def formatted(handler, rec):
    return handler.format(rec) if handler.filter(rec) else None


def test_an_expected_refusal_loses_its_traceback_and_a_fault_keeps_it():
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(ExpectedRefusals())
    refusal = formatted(handler, record("(expected) error handling worker %s: %s", Forbidden("Kode akses salah.")))
    fault = formatted(handler, record("error handling worker %s: %s", KeyError("boom")))
    assert refusal == "(expected) error handling worker <worker>: Kode akses salah."
    assert "Traceback" in fault and "KeyError" in fault


def test_every_rpc_takes_a_lapor_error_as_expected():
    assert Rpc().expected_exceptions is LaporError
    assert Rpc(expected_exceptions=KeyError).expected_exceptions is KeyError


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_logs_through_the_filter(service):
    config = yaml.load((ROOT / "services" / service / "config.yaml").read_text(), Loader=ConfigLoader)["LOGGING"]
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        [console] = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h not in saved[0]]
        assert any(isinstance(f, ExpectedRefusals) for f in console.filters)
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
