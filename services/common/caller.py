"""Who called, and what they may claim: the RabbitMQ user that published an RPC request, as the broker validated
it (DESIGN §9 "Trust on the bus").

RabbitMQ refuses a message whose `user_id` property is not the publishing connection's own user, so a request
that carries one says for certain who sent it. services.common.entrypoints.Rpc puts it into the worker's context
under BROKER_USER after the headers are read, so no header can claim it; `BrokerUser` hands it to the service, and
every TimedRpc call a service makes carries its own (services/common/rpc.py).

A privileged claim (a `viewer` or `actor` dict naming a role) is taken only from the LAPOR services that are meant
to relay one, named per receiving service (`Caller(claimants=("gateway",))`): the gateway, which signed the officer
in, and, for tracking, routing, which passes the officer's claim on. Two ways to run a stack are understood:

- each service as its own broker user, `<prefix><service>` (production; `lapor-routing` and so on, made by
  devstack/bus_accounts.py): a claim counts from `<prefix><claimant>` only, the prefix read off the service's own user;
- every service as one shared user (a developer's `guest`): a claim counts from that user only.

A claim from anyone else, or from a request with no `user_id`, is refused with Forbidden, and the receiving
service writes an audit entry about it (services/common/audit.py).
"""
import logging
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from nameko.extensions import DependencyProvider

from services.common.audit import OUTCOME_ERROR, OUTCOME_OK, OUTCOME_REFUSED, audit_entry
from services.common.errors import Forbidden, LaporError
from services.common.events import now

log = logging.getLogger(__name__)

BROKER_USER = "lapor.broker_user"
GOVERNMENT_PREFIX = "gov-"  # the broker users of other government systems (devstack/bus_accounts.py)
SERVICE_PREFIX = "lapor-"  # the broker users of LAPOR's own services (devstack/bus_accounts.py)
DEFAULT_BROKER_USER = "guest"  # kombu's, for a URI that names none
GATEWAY = "gateway"
FORGED_CLAIM = "forged_claim"
CLAIM_REFUSED = ("Klaim peran ini tidak diterima: hanya layanan LAPOR yang berwenang yang dapat meneruskannya. / "
                 "This role claim is not accepted: only the LAPOR services entitled to pass one on may do so.")


def broker_user_of(amqp_uri):
    """The user an AMQP URI connects as (the first of a `;`-separated cluster list); kombu's `guest` if none."""
    first = (amqp_uri or "").split(";")[0].strip()
    username = urlparse(first).username if first else None
    return unquote(username) if username else DEFAULT_BROKER_USER


def claimant_users(own_user, service_name, claimants):
    """The broker users whose claims `service_name`, running as `own_user`, accepts (see the module docstring)."""
    if own_user.endswith(service_name) and len(own_user) > len(service_name):
        prefix = own_user[:-len(service_name)]
        return frozenset(f"{prefix}{claimant}" for claimant in claimants)
    return frozenset({own_user})


class BrokerUser(DependencyProvider):
    """The validated `user_id` of the request's publisher, or None when the request carried none."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get(BROKER_USER)


def government_client(broker_user, claimed):
    """The `client` a call acts for. A government system (gov-<name>) is always `<name>`, whatever it claims; a
    LAPOR service or a developer's own user may name the client. Forbidden without a validated user: then a
    government system could name any client, and read back another's submissions by their external refs."""
    if not broker_user:
        raise Forbidden("Panggilan ini harus membawa properti AMQP user_id (pengguna broker Anda); "
                        "RabbitMQ memastikan nilainya. / This call must carry the AMQP user_id property "
                        "(your broker user); RabbitMQ vouches for it.")
    if broker_user.startswith(GOVERNMENT_PREFIX):
        return broker_user[len(GOVERNMENT_PREFIX):]
    return claimed


def stamp_broker_user(service_proxy, amqp_uri):
    """Make a Nameko ServiceProxy (a standalone proxy's, or one of a ClusterProxy's) publish with the `user_id` of
    `amqp_uri`, so the receiving service knows who calls; Nameko's standalone proxies take no publish options."""
    service_proxy.options["user_id"] = broker_user_of(amqp_uri)
    return service_proxy


class StampedCluster:
    """A started Nameko ClusterProxy whose every service proxy publishes with the `user_id` of `amqp_uri`."""

    def __init__(self, cluster, amqp_uri):
        self._cluster = cluster
        self._amqp_uri = amqp_uri

    def __getattr__(self, service_name):
        return stamp_broker_user(getattr(self._cluster, service_name), self._amqp_uri)

    __getitem__ = __getattr__


class CallerView:
    """What a worker knows of its caller: `vouch(claim)` and `audit(...)`."""

    def __init__(self, broker_user, trusted, repository, service_name, method_name):
        self.broker_user = broker_user
        self._trusted = trusted
        self._repository = repository
        self._service_name = service_name
        self._method_name = method_name

    @property
    def may_claim(self):
        return self.broker_user is not None and self.broker_user in self._trusted

    def vouch(self, claim, name="actor"):
        """`claim` itself when its publisher may make one (None stays None); else Forbidden, with an audit entry."""
        if claim is None or self.may_claim:
            return claim
        self._refuse(name, claim if isinstance(claim, dict) else {})

    def require(self):
        """Refuse (Forbidden, audited) a caller that is not one of the claimants, for an RPC that hands out what
        only they may have, such as a reporter's contact."""
        if not self.may_claim:
            self._refuse("caller", {})

    def _refuse(self, name, claimed):
        self.audit(FORGED_CLAIM, claimed, outcome=OUTCOME_REFUSED, tracking_id=None,
                   details={"claim": name, "method": self._method_name, "claimed_role": str(claimed.get("role"))[:40]})
        log.warning("%s.%s refused a %s claim from broker user %r", self._service_name, self._method_name, name,
                    self.broker_user)
        raise Forbidden(CLAIM_REFUSED)

    @contextmanager
    def audited(self, action, actor, tracking_id=None, details=None):
        """Run the block and record it in the audit log whatever the outcome: `ok`, the LaporError's code, or
        `error`."""
        outcome = OUTCOME_ERROR
        try:
            yield
            outcome = OUTCOME_OK
        except LaporError as exc:
            outcome = exc.code
            raise
        finally:
            self.audit(action, actor, outcome, tracking_id, details)

    def audit(self, action, actor, outcome, tracking_id=None, details=None):
        """One entry in this service's own audit log (services/common/audit.py)."""
        self._repository().insert_audit(audit_entry(
            self._service_name, action, actor, self.broker_user, outcome, tracking_id, details, now()))


class Caller(DependencyProvider):
    """`self.caller` in a service: its callers' claims vouched for, and its own audit log.

    `claimants`: the services (by name) whose claims this one accepts; `storage`: the attribute of the service's
    MongoStore, whose repository keeps the audit log."""

    def __init__(self, claimants=(GATEWAY,), storage="storage"):
        self.claimants = tuple(claimants)
        self.storage_attr = storage
        self.trusted = frozenset()

    def setup(self):
        own_user = broker_user_of(self.container.config.get("AMQP_URI"))
        self.trusted = claimant_users(own_user, self.container.service_name, self.claimants)

    def get_dependency(self, worker_ctx):
        service = worker_ctx.service
        return CallerView(worker_ctx.data.get(BROKER_USER), self.trusted,
                          lambda: getattr(service, self.storage_attr), self.container.service_name,
                          worker_ctx.entrypoint.method_name)
