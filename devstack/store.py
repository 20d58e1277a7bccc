"""The MongoDB wire-protocol stand-in (nx-27017, DESIGN §6) as a server process of our own."""
import os
import subprocess
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parent.parent
STORE_EXECUTABLE = ROOT / ".venv-store" / "bin" / "nx-27017"


class StoreError(RuntimeError):
    pass


class StoreServer:
    """One nx-27017 instance: its own data dir, pid file and log file, on the given port."""

    def __init__(self, data_dir, port):
        self.data_dir = Path(data_dir)
        self.port = port
        self.process = None

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout=30):
        if not STORE_EXECUTABLE.exists():
            raise StoreError(f"{STORE_EXECUTABLE} is missing: run `make deps` (it creates .venv-store)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(STORE_EXECUTABLE), "--data-dir", str(self.data_dir / "db"), "--host", "127.0.0.1",
            "-p", str(self.port), "--pid-file", str(self.data_dir / "nx.pid"),
            "--log-file", str(self.data_dir / "nx.log"),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StoreError(f"nx-27017 exited with {self.process.returncode}; see {self.data_dir / 'nx.log'}")
            if ping(self.uri):
                return
            time.sleep(0.2)
        raise StoreError(f"nx-27017 did not answer on port {self.port} within {timeout}s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        pid_file = self.data_dir / "nx.pid"
        if pid_file.exists():
            pid_file.unlink()


def ping(uri):
    client = MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def stale_pid(pid_file):
    """A pid file left by a store that is no longer running (after a crash or kill -9)."""
    path = Path(pid_file)
    if not path.exists():
        return False
    try:
        os.kill(int(path.read_text().strip()), 0)
        return False
    except (ValueError, ProcessLookupError):
        return True
    except PermissionError:
        return False
