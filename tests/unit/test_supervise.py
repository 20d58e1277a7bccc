"""The local run's supervisor (issue 12 item 9): a service that exits by itself is started again; a stop is a stop."""
import os
import signal
import subprocess
import sys
import time

from devstack.supervise import FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, Supervisor, next_backoff


def test_backoff_doubles_to_a_cap_and_starts_over_after_a_healthy_run():
    assert next_backoff(None, 0) == FIRST_BACKOFF_SECONDS
    assert next_backoff(1.0, 2) == 2.0 and next_backoff(16.0, 2) == MAX_BACKOFF_SECONDS
    assert next_backoff(MAX_BACKOFF_SECONDS, 2) == MAX_BACKOFF_SECONDS
    assert next_backoff(8.0, 120) == FIRST_BACKOFF_SECONDS


def test_a_child_that_exits_by_itself_is_started_again(tmp_path):
    runs = tmp_path / "runs"
    # Exits 1 on its first two runs; on the third it asks the supervisor to stop (as honcho's Ctrl-C would).
    script = (f"import os, signal; p = {str(runs)!r}; n = len(open(p).read()) if os.path.exists(p) else 0; "
              f"open(p, 'a').write('x'); "
              f"os.kill(os.getppid(), signal.SIGTERM) if n == 2 else None; raise SystemExit(0 if n == 2 else 1)")
    logged = []
    supervisor = Supervisor("probe", [sys.executable, "-c", script], log=logged.append, sleep=lambda s: None)
    signal.signal(signal.SIGTERM, supervisor.stop)
    try:
        assert supervisor.run() == 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert runs.read_text() == "xxx" and supervisor.restarts == 2
    assert "probe exited with 1" in logged[0]


def test_sigterm_stops_the_child_and_the_supervisor_for_good(tmp_path):
    pid_file = tmp_path / "child"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    supervisor = subprocess.Popen([sys.executable, "-m", "devstack.supervise", "probe", "--", sys.executable, "-c",
                                   child])
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=20) == 0
    try:
        os.kill(child_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_a_killed_supervisor_leaves_no_service_behind(tmp_path):
    pid_file = tmp_path / "child"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    supervisor = subprocess.Popen([sys.executable, "-m", "devstack.supervise", "probe", "--", sys.executable, "-c",
                                   child])
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    supervisor.kill()
    supervisor.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child_pid, signal.SIGKILL)
    raise AssertionError("the service outlived its supervisor")
