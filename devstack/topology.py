"""Declare the bus topology before any service starts (DESIGN §7).

Nameko declares an event queue only when its handler starts, so an event published earlier would be
lost. This declares every handler's exchange and queue up front, with exactly the names and
arguments Nameko uses (read off the service classes themselves, so they cannot drift), plus a
dead-letter exchange and queue and the policy that points every event queue at them. The policy
catches what the broker itself dead-letters (a queue limit or TTL set later by operators); a handler
that keeps failing is parked by the service in its own `dead_events` (services/common/ledger.py),
because Nameko acks or requeues messages and never rejects them.

    python -m devstack.topology     (LAPOR_AMQP_URI; LAPOR_RABBIT_API_URI for the policy)
"""
import importlib
import inspect
import os
from urllib.parse import unquote, urlparse

import pika
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from devstack.rabbit import DEFAULT_AMQP_URI, Management

SERVICE_MODULES = {
    "intake": "services.intake.service",
    "routing": "services.routing.service",
    "tracking": "services.tracking.service",
    "notifications": "services.notifications.service",
    "sla": "services.sla.service",
    "gateway": "services.gateway.service",
}
DEAD_LETTER_EXCHANGE = "lapor.dead-letter"
DEAD_LETTER_QUEUE = "lapor.dead-letter"
DEAD_LETTER_POLICY = "lapor-dead-letter"


def service_classes():
    classes = []
    for name, module_path in SERVICE_MODULES.items():
        module = importlib.import_module(module_path)
        classes.extend(
            cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if getattr(cls, "name", None) == name and cls.__module__ == module_path
        )
    return classes


def event_bindings(classes=None):
    """(exchange, queue, routing key) for every SERVICE_POOL event handler, named as Nameko names them."""
    bindings = []
    for cls in classes or service_classes():
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            for extension in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(extension, EventHandler) and extension.handler_type is SERVICE_POOL:
                    source, event_type = extension.source_service, extension.event_type
                    queue = f"evt-{source}-{event_type}--{cls.name}.{method_name}"
                    bindings.append((f"{source}.events", queue, event_type))
    return sorted(bindings)


def _pika_parameters(amqp_uri):
    parsed = urlparse(amqp_uri.replace("pyamqp://", "amqp://"))
    vhost = unquote(parsed.path[1:]) if len(parsed.path) > 1 else "/"
    credentials = pika.PlainCredentials(parsed.username or "guest", parsed.password or "guest")
    return pika.ConnectionParameters(parsed.hostname or "127.0.0.1", parsed.port or 5672, vhost, credentials), vhost


def declare(amqp_uri=DEFAULT_AMQP_URI, api_uri=None):
    parameters, vhost = _pika_parameters(amqp_uri)
    bindings = event_bindings()
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
        channel.queue_declare(DEAD_LETTER_QUEUE, durable=True)
        channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE)
        for exchange, queue, routing_key in bindings:
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            channel.queue_declare(queue, durable=True)  # no arguments: Nameko declares it without any
            channel.queue_bind(queue, exchange, routing_key=routing_key)
    finally:
        connection.close()
    # Arguments would clash with Nameko's own declaration; a policy applies to existing queues instead.
    Management(api_uri, amqp_uri).set_policy(vhost, DEAD_LETTER_POLICY, "^evt-", {"dead-letter-exchange": DEAD_LETTER_EXCHANGE})
    return bindings


def main():
    amqp_uri = os.environ.get("LAPOR_AMQP_URI", DEFAULT_AMQP_URI)
    bindings = declare(amqp_uri, os.environ.get("LAPOR_RABBIT_API_URI"))
    print(f"bus topology: {len(bindings)} event queues declared, dead-letter policy set")


if __name__ == "__main__":
    main()
