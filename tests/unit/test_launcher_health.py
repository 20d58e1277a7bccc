"""The launcher waits on every service's own /health/ready, not only on the gateway's aggregate /health."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack import launcher


@pytest.fixture
def servers():
    """serve(ready=200, health=200) → a local server answering /health/ready and /health with those codes."""
    started = []

    def serve(ready=200, health=200):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                routes = {"/health/ready": (server.ready, {"status": "ok" if server.ready == 200 else "unavailable",
                                                           "failed": [] if server.ready == 200 else ["workers"]}),
                          "/health": (server.health, {"status": "ok", "services": {"gateway": "ok"}})}
                code, body = routes.get(self.path, (404, {}))
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.ready, server.health = ready, health
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.shutdown()
        server.server_close()


def settings_for(gateway, **others):
    ports = {"gateway": gateway.server_port, **{name: server.server_port for name, server in others.items()}}
    return launcher.StackSettings(amqp_uri="", mongo_uri="", secret_key="", pii_key="", ports=ports)


def test_a_service_that_is_not_ready_keeps_the_launcher_waiting_though_the_gateway_says_ok(servers):
    gateway, sla = servers(), servers(ready=503)
    with pytest.raises(RuntimeError) as failure:
        launcher.wait_until_healthy(settings_for(gateway, sla=sla), timeout=1.5)
    assert "not ready: {'sla'" in str(failure.value) and "workers" in str(failure.value)

    sla.ready = 200
    assert launcher.wait_until_healthy(settings_for(gateway, sla=sla), timeout=5)["status"] == "ok"


def test_every_port_ready_and_then_the_aggregate_must_say_ok(servers):
    gateway, intake = servers(health=503), servers()
    with pytest.raises(RuntimeError, match="not ready: none"):
        launcher.wait_until_healthy(settings_for(gateway, intake=intake), timeout=1.5)


def test_a_gateway_url_alone_asks_only_the_aggregate(servers):
    gateway = servers(ready=503)
    body = launcher.wait_until_healthy(f"http://127.0.0.1:{gateway.server_port}", timeout=5)
    assert body["services"] == {"gateway": "ok"}


def test_a_service_that_exits_during_start_up_ends_the_wait(servers):
    gateway = servers(ready=503)
    with pytest.raises(RuntimeError, match="exited"):
        launcher.wait_until_healthy(settings_for(gateway), timeout=5, process_alive=lambda: False)
