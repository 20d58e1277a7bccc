"""Nameko's entrypoints as LAPOR uses them: `from services.common.entrypoints import rpc`.

Nameko 2.14 sends an RPC's reply from `handle_result`, outside the worker's own try: when the broker is
gone at that moment (a restart, a failover), the publish raises out of `_run_worker` and ends the whole
container — the service exited by itself, with nothing to restart it (issue 12). Here a reply that cannot be
sent is logged and the request acknowledged where the channel still lives (the caller has timed out by then
and retries under its own rules); the consumer reconnects and the service carries on.

It also tells the service who published a request, as RabbitMQ validated it (services/common/caller.py).
"""
import logging

from nameko import rpc as nameko_rpc

from services.common.caller import BROKER_USER
from services.common.errors import LaporError

log = logging.getLogger(__name__)


class Rpc(nameko_rpc.Rpc):
    def __init__(self, **kwargs):
        # A LaporError is a refusal the caller gets as it is (403, 404, 400…), not a fault: logged as a warning, and
        # without its traceback (services/common/logs.py).
        kwargs.setdefault("expected_exceptions", LaporError)
        super().__init__(**kwargs)

    def unpack_message_headers(self, message):
        """The caller's context, and under BROKER_USER the request's broker-validated `user_id` (absent without one);
        set after the headers, so a header of that name never counts (services/common/caller.py)."""
        context = super().unpack_message_headers(message)
        context.pop(BROKER_USER, None)  # a header never claims it
        user_id = message.properties.get("user_id")
        if user_id:  # absent rather than None: Nameko warns on every publish that would carry a None header
            context[BROKER_USER] = user_id
        return context

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception as exc:  # noqa: BLE001 - the broker went away while replying; see above
            log.warning("reply to %s not sent (%s: %s); the caller times out and retries", worker_ctx.call_id,
                        type(exc).__name__, exc)
            self.rpc_consumer.queue_consumer.ack_message(message)
            return result, exc_info


rpc = Rpc.decorator
