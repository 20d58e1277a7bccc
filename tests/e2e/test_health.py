"""Issue 12 item 2 and its "Done means": every process answers /health/live and /health/ready on its own port, the
launcher waits on them, and a service stopped with SIGSTOP turns its own readiness probe and the gateway's
aggregate /health unhealthy within 30 s, and healthy again after SIGCONT."""
import time

import requests

from devstack import launcher
from tests.support.waiting import wait_for

PAUSED = "sla"
WITHIN = 30


def gateway_health(stack):
    try:
        response = requests.get(f"{stack.url}/health", timeout=10)
        return response.status_code, response.json()
    except (requests.RequestException, ValueError) as exc:
        return None, repr(exc)


def test_every_process_is_live_and_ready_on_its_own_port(stack):
    body = stack.wait_until_ready(timeout=60)
    assert body["status"] == "ok" and set(body["services"]) == set(launcher.SERVICES)
    assert set(stack.ports) >= set(launcher.SERVICES) | {"intake-2"}
    for name, port in stack.ports.items():
        started = time.monotonic()
        live = requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
        assert live.status_code == 200 and time.monotonic() - started < 1, name
        code, ready = launcher.ready_state(port)
        assert code == 200 and ready["failed"] == [], (name, ready)
        assert set(ready["checks"]) == {"store", "broker", "consumers", "workers"}
        metrics_url = stack.settings.metrics_url("gateway") if name == "gateway" else f"http://127.0.0.1:{port}/metrics"
        metrics = requests.get(metrics_url, timeout=5).text
        assert "lapor_workers_max" in metrics, name
    tracking_metrics = requests.get(f"http://127.0.0.1:{stack.ports['tracking']}/metrics", timeout=5).text
    assert 'lapor_consumer_oldest_unacked_seconds{entrypoint="health",service="tracking"}' in tracking_metrics
    assert 'lapor_consumer_seconds_since_last_finished{entrypoint="health",service="tracking"}' in tracking_metrics


def test_a_stopped_service_turns_its_probe_and_the_gateway_unhealthy_then_healthy_after_sigcont(stack):
    stack.wait_until_ready(timeout=60)
    port = stack.ports[PAUSED]
    stack.pause(PAUSED)
    stopped_at = time.monotonic()
    try:
        # A stopped process still accepts the connection (the kernel does) but never answers: the probe times out.
        wait_for(lambda: launcher.ready_state(port, timeout=2)[0] is None, timeout=WITHIN,
                 message=f"{PAUSED}'s /health/ready to fail")
        code, body = wait_for(lambda: (h := gateway_health(stack))[0] == 503 and h, timeout=WITHIN,
                              message="503 from the gateway's /health")
        assert time.monotonic() - stopped_at < WITHIN
        assert body["services"][PAUSED] == "down", body
        assert all(state == "ok" for name, state in body["services"].items() if name != PAUSED), body
        assert "no answer" in body["details"][PAUSED]
    finally:
        stack.resume(PAUSED)
    resumed_at = time.monotonic()
    wait_for(lambda: launcher.ready_state(port)[0] == 200, timeout=WITHIN, message=f"{PAUSED} ready after SIGCONT")
    wait_for(lambda: gateway_health(stack)[0] == 200, timeout=WITHIN, message="200 from /health after SIGCONT")
    assert time.monotonic() - resumed_at < WITHIN
