"""The whole stack on a store and a vhost of its own, for the benchmarks that need no `make run`."""
import contextlib
import shutil
import uuid
from pathlib import Path

from cryptography.fernet import Fernet

from devstack import launcher
from devstack.rabbit import Management
from devstack.store import StoreServer

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def own_stack(name, keep=False, before_start=None):
    """Yields (settings, processes): a store under var/bench/<name>, a temporary vhost, the reference data, and
    the six services up and healthy (rate limits off: every benchmark client is one address). `before_start`
    (settings) runs once the store is prepared and before the services start, to seed it. Everything is
    stopped and removed afterwards (the store's data kept with `keep`)."""
    data_dir = ROOT / "var" / "bench" / name
    shutil.rmtree(data_dir, ignore_errors=True)
    store = StoreServer(data_dir, launcher.free_port()).start()
    management, vhost = Management(), f"lapor_bench_{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    settings = launcher.StackSettings(
        amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}", mongo_uri=store.uri, secret_key="bench-secret",
        pii_key=Fernet.generate_key().decode(), ports={name: launcher.free_port() for name in launcher.SERVICES},
        extra_env={"LAPOR_RATE_LIMIT_IP_PER_HOUR": "0", "LAPOR_RATE_LIMIT_READS_PER_MINUTE": "0"})
    processes = None
    try:
        launcher.prepare(settings, log=lambda message: None)
        if before_start is not None:
            before_start(settings)
        processes = launcher.ProcessStack(settings, data_dir / "logs").start()
        launcher.wait_until_healthy(settings, timeout=180, process_alive=processes.all_alive)
        yield settings, processes
    finally:
        if processes:
            processes.stop()
        store.stop()
        management.delete_vhost(vhost)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
