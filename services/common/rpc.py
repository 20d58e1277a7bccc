"""RPC between services with a timeout: Nameko's in-service RpcProxy would otherwise wait forever."""
import logging

import eventlet
from kombu.exceptions import OperationalError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from services.common.caller import broker_user_of
from services.common.errors import Unavailable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0


class _TimedServiceProxy:
    def __init__(self, proxy, service_name, timeout):
        self._proxy = proxy
        self._service_name = service_name
        self._timeout = timeout

    def __getattr__(self, method_name):
        method = getattr(self._proxy, method_name)

        def call(*args, **kwargs):
            return call_with_timeout(self._service_name, self._timeout, method, *args, **kwargs)

        def call_async(*args, **kwargs):
            """Send the request without waiting: nameko's reply, whose `result()` would wait (a broken broker is
            `Unavailable` at once, as for `call`)."""
            return call_with_timeout(self._service_name, self._timeout, method.call_async, *args, **kwargs)

        call.call_async = call_async
        return call


def call_with_timeout(service_name, timeout, method, *args, **kwargs):
    """Call `method`; a timeout or a broken broker becomes `Unavailable` naming the service."""
    timer = eventlet.Timeout(timeout)
    try:
        return method(*args, **kwargs)
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        log.warning("rpc to %s timed out after %ss", service_name, timeout)
        raise Unavailable(f"layanan {service_name} tidak menjawab")
    except (OSError, OperationalError, UnknownService) as exc:
        # UnknownService: no instance of the target has ever declared its queue on this broker.
        log.warning("rpc to %s failed: %s", service_name, exc)
        raise Unavailable(f"layanan {service_name} tidak dapat dihubungi")
    finally:
        timer.cancel()


class TimedRpc(RpcProxy):
    """An RpcProxy whose every call gives up after `timeout` seconds (config `RPC_TIMEOUT`)."""

    def __init__(self, target_service, timeout=None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def setup(self):
        """Every request carries this service's broker user as `user_id`, which RabbitMQ checks, so the receiving
        service knows who calls (services/common/caller.py)."""
        super().setup()
        self.options.setdefault("user_id", broker_user_of(self.container.config.get(AMQP_URI_CONFIG_KEY)))

    def get_dependency(self, worker_ctx):
        timeout = self.timeout or float(self.container.config.get("RPC_TIMEOUT", DEFAULT_TIMEOUT))
        proxy = super().get_dependency(worker_ctx)
        return _TimedServiceProxy(proxy, self.target_service, timeout)
