"""A government system's client for LAPOR's bus (README "RPC for government systems").

A system's broker user (gov-<name>, devstack/bus_accounts.py) may only call `intake.submit_many`, may not declare
the `nameko-rpc` exchange (only LAPOR's services can, so nobody outside can delete it), and may only read its
own reply queues, `rpc.reply-gov-<name>-<uuid>`. Nameko's ClusterRpcProxy declares the exchange and names its
queue otherwise, so a confined user cannot use it; this client speaks the same wire format (JSON
`{"args", "kwargs"}`, `reply_to` and `correlation_id`, the answer's `result` or `error`) within those rights,
and sets the `user_id` property RabbitMQ validates, which intake requires.

    with LaporBus("amqp://gov-sipp:<password>@rabbitmq.lapor.go.id:5672/") as bus:
        results = bus.call("intake", "submit_many", [report])
"""
import json
import uuid
from urllib.parse import unquote, urlparse

from kombu import Connection, Consumer, Exchange, Producer, Queue

RPC_EXCHANGE = "nameko-rpc"


class RemoteError(Exception):
    """The service answered with an error: `exc_type` (e.g. ValidationFailed) and its `value`."""

    def __init__(self, error):
        super().__init__(f"{error.get('exc_type')}: {error.get('value')}")
        self.exc_type, self.value, self.error = error.get("exc_type"), error.get("value"), error


class LaporBus:
    def __init__(self, amqp_uri, timeout=30):
        self.user = unquote(urlparse(amqp_uri).username or "guest")
        self.connection = Connection(amqp_uri.replace("pyamqp://", "amqp://"))
        self.timeout = timeout
        self.exchange = Exchange(RPC_EXCHANGE, type="topic", durable=True, passive=True)
        self.routing_key = str(uuid.uuid4())
        self.queue = Queue(f"rpc.reply-{self.user}-{self.routing_key}", self.exchange, routing_key=self.routing_key,
                           exclusive=True, auto_delete=True)
        self.replies = {}

    def __enter__(self):
        self.channel = self.connection.channel()
        self.queue(self.channel).declare()
        self.consumer = Consumer(self.channel, [self.queue], callbacks=[self._on_reply], accept=["json"])
        self.consumer.consume()
        self.producer = Producer(self.channel, exchange=self.exchange)
        return self

    def __exit__(self, *exc_info):
        self.connection.release()

    def _on_reply(self, body, message):
        self.replies[message.properties.get("correlation_id")] = body
        message.ack()

    def call(self, service, method, *args, **kwargs):
        correlation_id = str(uuid.uuid4())
        self.producer.publish({"args": list(args), "kwargs": kwargs}, routing_key=f"{service}.{method}",
                              serializer="json", reply_to=self.routing_key, correlation_id=correlation_id,
                              user_id=self.user, mandatory=True, declare=[])
        while correlation_id not in self.replies:
            self.connection.drain_events(timeout=self.timeout)
        reply = self.replies.pop(correlation_id)
        if reply.get("error"):
            raise RemoteError(reply["error"])
        return reply["result"]
