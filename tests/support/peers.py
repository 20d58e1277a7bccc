"""Local peers for the notification adapters: an SMTP server and an SMSC in their own processes, and a tiny
HTTP receiver (webhooks, an SMS gateway) in this one. Each listens on 127.0.0.1 only and stops with the test."""
import json
import subprocess
import sys
from pathlib import Path

import eventlet
from eventlet import wsgi

from tests.support.proxy import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class ProcessPeer:
    """`python -m <module> PORT FILE`: what the peer received, one JSON line each, in FILE."""

    def __init__(self, module, directory, port=None):
        self.module = module
        self.port = port or free_port()
        self.path = Path(directory) / f"{module.rsplit('.', 1)[-1]}-{self.port}.jsonl"
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-m", self.module, str(self.port), str(self.path)],
                                        cwd=ROOT, stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            self.stop()
            raise RuntimeError(f"{self.module} did not start: {ready!r}")
        return self

    def received(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]

    def wait_for(self, count=1):
        return wait_for(lambda: len(self.received()) >= count and self.received(), message=f"{self.module} got {count}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class HttpReceiver:
    """Records each request (path, headers, raw body); answers with `status` (settable by the test)."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.status = 200
        self._server = None
        self._listener = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        self.requests.append({"path": environ["PATH_INFO"], "headers": headers, "body": body})
        start_response(f"{self.status} X", [("Content-Type", "application/json")])
        return [b"{}"]

    def start(self):
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._server = eventlet.spawn(wsgi.server, self._listener, self._app, log_output=False)
        return self

    def stop(self):
        if self._server is not None:
            self._server.kill()
            self._listener.close()
