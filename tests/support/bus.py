"""Calling services the way they call each other: every request carries the caller's broker user as `user_id`
(services/common/caller.py), which RabbitMQ checks, and which a service needs before it takes a viewer's or an
actor's claim. The tests' stack runs every service as one user (nameko's test vhost, `guest`), so a call from
that user counts as a LAPOR service's."""
from contextlib import contextmanager

from nameko.standalone.rpc import ClusterRpcProxy, ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from services.common.caller import BROKER_USER, CallerView, StampedCluster, broker_user_of, stamp_broker_user


def as_broker_user(config):
    """The worker context of a request from `config`'s broker user."""
    return {BROKER_USER: broker_user_of(config["AMQP_URI"])}


def hook(container, method_name, **kwargs):
    """nameko's entrypoint_hook, called as a LAPOR service on the container's own broker user would call."""
    return entrypoint_hook(container, method_name, context_data=as_broker_user(container.config), **kwargs)


@contextmanager
def service_proxy(service_name, config, **kwargs):
    """A started ServiceRpcProxy (`kwargs`: its own, e.g. timeout) whose requests carry `config`'s broker user as
    `user_id`."""
    with ServiceRpcProxy(service_name, config, **kwargs) as proxy:
        yield stamp_broker_user(proxy, config["AMQP_URI"])


@contextmanager
def cluster_proxy(config, **kwargs):
    """A started ClusterRpcProxy whose every service proxy's requests carry `config`'s broker user."""
    with ClusterRpcProxy(config, **kwargs) as cluster:
        yield StampedCluster(cluster, config["AMQP_URI"])


def trusted_caller(repository, service_name, own_user="guest"):
    """`caller` for nameko's worker_factory: a request from a LAPOR service that may relay claims, whose audit
    entries go to `repository`."""
    return CallerView(own_user, frozenset({own_user}), lambda: repository, service_name, "worker_factory")
