"""The end-to-end stack: every service as its own process and its own broker user, started by the same launcher
as `make run`, on its own vhost, store databases and free ports. One stack per test module."""
import uuid

import pytest
from cryptography.fernet import Fernet

from devstack import launcher
from devstack.rabbit import Management
from tests.support import sms_gateway
from tests.support.proxy import free_port

ID_BLOCK_SIZE = 20


@pytest.fixture(scope="module")
def stack(store, tmp_path_factory):
    management = Management()
    vhost = f"lapor_e2e_{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    settings = launcher.StackSettings(
        amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        mongo_uri=store.uri,
        secret_key="e2e-secret",
        sms_webhook_secret=sms_gateway.STACK_SECRET,
        pii_key=Fernet.generate_key().decode(),
        ports={name: free_port() for name in launcher.SERVICES},
        db_prefix=f"e2e{uuid.uuid4().hex[:6]}_",
        # Every request comes from 127.0.0.1, and the tests send many near-identical reports: the
        # per-address limits and duplicate linking have their own integration tests. Stats are counted on every
        # call (tests compare before and after); their snapshot and the SLA figures' cache have their own
        # integration tests.
        extra_env={"LAPOR_ID_BLOCK_SIZE": str(ID_BLOCK_SIZE), "LAPOR_RPC_TIMEOUT": "10",
                   "LAPOR_RATE_LIMIT_IP_PER_HOUR": "0", "LAPOR_RATE_LIMIT_READS_PER_MINUTE": "0",
                   "LAPOR_DUPLICATE_SIMILARITY": "1.01",
                   "LAPOR_STATS_MAX_AGE_SECONDS": "0", "LAPOR_SLA_FIGURES_MAX_AGE_SECONDS": "0"},
    )
    launcher.prepare(settings, log=lambda message: None)
    # each service as its own broker user, as make run and production run them (a prefix of the module's own:
    # users belong to the broker, not to the vhost)
    users = launcher.use_service_users(settings, {name: uuid.uuid4().hex for name in launcher.SERVICES},
                                       prefix=f"{vhost}-lapor-", log=lambda message: None)
    assert len(users) == len(launcher.SERVICES)
    processes = launcher.ProcessStack(settings, tmp_path_factory.mktemp("logs"))
    processes.start()
    second_intake_port = free_port()
    [(_, argv, env)] = launcher.service_processes(settings, ["intake"], port_overrides={"intake": second_intake_port})
    processes.start_process("intake-2", argv, env)
    processes.second_intake_port = second_intake_port
    try:
        launcher.wait_until_healthy(settings, timeout=120, process_alive=processes.all_alive)
    except RuntimeError:
        logs = "\n".join(f"--- {name}\n{processes.log_tail(name)}" for name in processes.processes)
        processes.stop()
        raise RuntimeError(f"the stack did not come up:\n{logs}")
    processes.url = settings.gateway_url
    yield processes
    processes.stop()
    for user in users:
        management.delete_user(user)
    management.delete_vhost(vhost)
