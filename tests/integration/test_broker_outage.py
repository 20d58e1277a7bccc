"""Issue 12 item 9: a broker that goes away while a service replies to an RPC is an outage, not a crash.

Nameko 2.14 published the reply outside the worker's try, so the failed publish ended the container and the
service exited by itself. The service (through a proxy that the test cuts) must stay up and answer again
once the broker is back."""
import eventlet
import pytest
from nameko.exceptions import RpcTimeout

from services.common.entrypoints import rpc
from tests.support.bus import service_proxy
from tests.support.proxy import TcpProxy
from tests.support.waiting import wait_for

STARTED = []


class Slow:
    name = "slow_probe"

    @rpc
    def echo(self, value, seconds=0):
        STARTED.append(value)
        eventlet.sleep(seconds)
        return value


@pytest.fixture
def proxy():
    proxy = TcpProxy().start()
    yield proxy
    proxy.close()


def test_a_reply_lost_with_the_broker_leaves_the_service_running(container_factory, rabbit_config, proxy):
    STARTED.clear()
    container = container_factory(Slow, dict(rabbit_config, AMQP_URI=proxy.uri(rabbit_config["vhost"])))
    container.start()
    with service_proxy("slow_probe", rabbit_config, timeout=10) as slow:  # the caller talks to the broker directly
        assert slow.echo(1) == 1
        pending = eventlet.spawn(lambda: slow.echo(2, seconds=1.5))
        wait_for(lambda: 2 in STARTED, message="the slow call under way")
        proxy.cut()  # the service's connection dies while its worker runs; its reply cannot go out
        with pytest.raises(RpcTimeout):
            pending.wait()
    assert not container._died.ready(), "the container ended on the failed reply"
    proxy.restore()
    with service_proxy("slow_probe", rabbit_config, timeout=20) as slow:
        assert wait_for(lambda: _answers(slow), timeout=40, message="answering again after the broker came back")


def _answers(slow):
    try:
        return slow.echo(3) == 3
    except RpcTimeout:
        return False
