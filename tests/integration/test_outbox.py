"""Issue 12 item 5: a store error while clearing the outbox flag, after the publish, never ends the container."""
import pytest
from marshmallow import Schema, fields
from nameko.events import event_handler
from nameko.rpc import rpc
from pymongo.errors import AutoReconnect

from services.common import events
from services.common.outbox import OutboxDispatcher
from tests.support.bus import service_proxy
from tests.support.waiting import wait_for

RECEIVED = []


class Publisher:
    name = "outbox_probe"
    outbox = OutboxDispatcher()

    @rpc
    def write(self, number):
        def clear_flag():
            raise AutoReconnect("primary stepped down")  # what a replica-set failover looks like to pymongo

        self.outbox.after_reply("probed", {"number": number}, on_published=clear_flag)
        return number


class Listener:
    name = "outbox_listener"

    @event_handler("outbox_probe", "probed")
    def on_probed(self, payload):
        RECEIVED.append(payload["number"])


class ProbedSchema(Schema):
    number = fields.Integer(required=True)


@pytest.fixture(autouse=True)
def probed_event(monkeypatch):
    monkeypatch.setitem(events.SCHEMAS, "probed", ProbedSchema)


def test_a_failed_flag_clear_after_the_publish_leaves_the_container_running(container_factory, rabbit_config):
    RECEIVED.clear()
    listener = container_factory(Listener, rabbit_config)
    listener.start()
    publisher = container_factory(Publisher, rabbit_config)
    publisher.start()
    with service_proxy("outbox_probe", rabbit_config, timeout=5) as probe:
        assert probe.write(1) == 1
        wait_for(lambda: RECEIVED == [1], message="the first event")
        assert probe.write(2) == 2  # still answering: the container survived the failed clear
    wait_for(lambda: RECEIVED == [1, 2], message="the second event")
    assert publisher.started and not publisher._died.ready()
