"""Issue 12 item 2: /health/ready tells the truth about a full worker pool, a lost broker and a lost store, and
/health/live and /metrics answer while every worker is blocked (they run outside the worker pool)."""
import re
import time

import eventlet
import pytest
import requests
from eventlet.event import Event

from services.common.entrypoints import rpc
from services.common.mongo import MongoStore, Repository
from services.common.service_base import ObservedService
from tests.support.bus import service_proxy
from tests.support.proxy import TcpProxy
from tests.support.waiting import wait_for

SERVICE = "health_probe"
STARTED = []
RELEASE = {"event": Event()}


class Probed(ObservedService):
    name = SERVICE
    storage = MongoStore("lapor_health_probe", Repository)

    @rpc
    def block(self, token):
        STARTED.append(token)
        RELEASE["event"].wait()
        return token

    @rpc
    def echo(self, value):
        return value


@pytest.fixture(autouse=True)
def fresh_release():
    STARTED.clear()
    RELEASE["event"] = Event()
    yield
    if not RELEASE["event"].ready():
        RELEASE["event"].send(None)


def url(container, path):
    return f"http://{container.config['WEB_SERVER_ADDRESS']}{path}"


def ready(container, timeout=3):
    response = requests.get(url(container, "/health/ready"), timeout=timeout)
    return response.status_code, response.json()


def gauge(container, name, entrypoint):
    text = requests.get(url(container, "/metrics"), timeout=3).text
    match = re.search(rf'{name}{{entrypoint="{entrypoint}",service="{SERVICE}"}} (\S+)', text)
    assert match, f"{name} for {entrypoint} missing from /metrics"
    return float(match.group(1))


def test_a_pool_saturated_by_blocked_workers_reports_not_ready_and_recovers(start_service, rabbit_config):
    container = start_service(Probed, max_workers=2, HEALTH_STUCK_SECONDS=1)
    status, body = ready(container)
    assert status == 200 and body["failed"] == [] and body["status"] == "ok", body

    with service_proxy(SERVICE, rabbit_config, timeout=30) as proxy:
        calls = [proxy.block.call_async(n) for n in range(2)]
        wait_for(lambda: len(STARTED) == 2, message="both workers blocked")

        status, body = wait_for(lambda: (r := ready(container))[0] == 503 and r, timeout=10,
                                message="503 from /health/ready")
        assert body["failed"] == ["workers"], body
        assert "2/2 workers busy" in body["checks"]["workers"]["detail"]
        assert body["checks"]["store"]["ok"] and body["checks"]["broker"]["ok"] and body["checks"]["consumers"]["ok"]

        started = time.monotonic()
        live = requests.get(url(container, "/health/live"), timeout=1)
        assert live.status_code == 200 and time.monotonic() - started < 1
        assert gauge(container, "lapor_consumer_oldest_unacked_seconds", "block") >= 1
        assert gauge(container, "lapor_consumer_in_flight", "block") == 2
        # What a probe through the worker pool would get: no answer at all while the pool is full.
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url(container, "/health"), timeout=1)

        RELEASE["event"].send(None)
        assert [call.result() for call in calls] == [0, 1]
        wait_for(lambda: ready(container)[0] == 200, timeout=10, message="200 once the workers finished")
        assert gauge(container, "lapor_consumer_oldest_unacked_seconds", "block") == 0
        assert gauge(container, "lapor_consumer_seconds_since_last_finished", "block") < 10
        assert proxy.echo("still serving") == "still serving"


def test_a_busy_pool_that_is_not_stuck_stays_ready(start_service, rabbit_config):
    container = start_service(Probed, max_workers=2, HEALTH_STUCK_SECONDS=30)
    with service_proxy(SERVICE, rabbit_config, timeout=30) as proxy:
        calls = [proxy.block.call_async(n) for n in range(2)]
        wait_for(lambda: len(STARTED) == 2, message="both workers blocked")
        eventlet.sleep(1.5)
        status, body = ready(container)
        assert status == 200 and "2/2 workers busy" in body["checks"]["workers"]["detail"]
        RELEASE["event"].send(None)
        [call.result() for call in calls]


@pytest.fixture
def broker_proxy():
    proxy = TcpProxy().start()
    yield proxy
    proxy.close()


def test_a_lost_broker_connection_makes_the_service_not_ready_until_it_is_back(start_service, rabbit_config,
                                                                                 broker_proxy):
    container = start_service(Probed, AMQP_URI=broker_proxy.uri(rabbit_config["vhost"]))
    assert ready(container)[0] == 200
    broker_proxy.cut()
    status, body = wait_for(lambda: (r := ready(container))[0] == 503 and r, timeout=15,
                            message="503 after the broker went away")
    assert "broker" in body["failed"] and body["checks"]["store"]["ok"], body
    broker_proxy.restore()
    wait_for(lambda: ready(container)[0] == 200, timeout=40, interval=0.5, message="200 after reconnecting")
    with service_proxy(SERVICE, rabbit_config, timeout=20) as proxy:
        assert proxy.echo(1) == 1


class FreezableProxy(TcpProxy):
    """A TcpProxy that can also hold every byte (`frozen`): a store that takes requests and never answers."""

    frozen = False

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.frozen:
                    eventlet.sleep(0.05)
                sink.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)


@pytest.fixture
def store_proxy(store):
    proxy = FreezableProxy(target_port=store.port).start()
    yield proxy
    proxy.frozen = False
    proxy.close()


def test_a_store_that_goes_away_makes_the_service_not_ready(start_service, store_proxy):
    container = start_service(Probed, MONGO_URI=f"mongodb://127.0.0.1:{store_proxy.port}/")
    assert ready(container)[0] == 200
    store_proxy.cut()
    status, body = ready(container, timeout=5)
    assert status == 503 and body["failed"] == ["store"], body
    store_proxy.restore()
    wait_for(lambda: ready(container)[0] == 200, timeout=20, interval=0.5, message="200 when the store is back")


def test_a_store_that_does_not_answer_fails_the_ping_within_its_short_timeout(start_service, store_proxy):
    container = start_service(Probed, MONGO_URI=f"mongodb://127.0.0.1:{store_proxy.port}/", HEALTH_STORE_TIMEOUT=1)
    assert ready(container)[0] == 200
    store_proxy.frozen = True
    started = time.monotonic()
    status, body = ready(container, timeout=5)
    elapsed = time.monotonic() - started
    assert status == 503 and body["failed"] == ["store"], body
    assert elapsed < 2.5, f"the ping waited {elapsed:.1f}s"
    started = time.monotonic()
    assert requests.get(url(container, "/health/live"), timeout=1).status_code == 200  # no store call
    assert time.monotonic() - started < 1
    store_proxy.frozen = False
    wait_for(lambda: ready(container)[0] == 200, timeout=20, interval=0.5, message="200 when the store answers")
