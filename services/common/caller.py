"""Who called: the RabbitMQ user that published an RPC request, as the broker validated it (DESIGN §9).

RabbitMQ refuses a message whose `user_id` property is not the publishing connection's own user, so a request
that carries one says for certain who sent it. services.common.entrypoints.Rpc puts it into the worker's context
under BROKER_USER after the headers are read, so no header can claim it; `BrokerUser` hands it to the service.
"""
from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden

BROKER_USER = "lapor.broker_user"
GOVERNMENT_PREFIX = "gov-"  # the broker users of other government systems (devstack/bus_accounts.py)


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
