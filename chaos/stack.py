"""The stack under test: a RabbitMQ node and a store of the suite's own, and the six services started by the same
launcher as `make run` (StackSettings, prepare, service_processes), watched by a small supervisor.

Faults go through here: `kill(name)` is a `kill -9` of a service, a replica, the broker or the store, and
`restart(name)` starts it again with the same environment (same ports, same store, same data directory).
A service that exits by itself (not killed by us) is counted and started again, as the local run's
supervisor (devstack/supervise.py) does; `self_exits` keeps who, when and with what code.
"""
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from chaos.broker import PrivateRabbit
from devstack import launcher
from devstack.rabbit import Management
from devstack.store import StoreServer, ping

ROOT = launcher.ROOT
INTAKE_REPLICA = "intake-2"
# Same knobs as the end-to-end tests: every client is 127.0.0.1 (the per-address limit would refuse the
# load), and near-identical load reports must not be linked as duplicates of one another.
STACK_ENV = {
    "LAPOR_RATE_LIMIT_IP_PER_HOUR": "0",
    "LAPOR_RATE_LIMIT_READS_PER_MINUTE": "0",
    "LAPOR_DUPLICATE_SIMILARITY": "1.01",
    "LAPOR_RPC_TIMEOUT": "10",
    # A local run: notifications may print a channel no adapter is named for (the log adapter), as in `make run`.
    "LAPOR_ENV": "local",
}
RESTART_BACKOFF_SECONDS = (1, 2, 4, 8)  # a service that keeps exiting waits longer, as devstack.supervise does


@dataclass
class SelfExit:
    name: str
    returncode: int
    at: float


class ChaosStack:
    def __init__(self, work_dir, log=print):
        self.work = Path(work_dir)
        self.log = log
        self.broker = PrivateRabbit(self.work / "rabbit")
        self.store = None
        self.settings = None
        self.processes = None
        self.commands = {}  # name → (argv, env): what a restart starts again
        self.expected = set()  # names that should be running; the monitor restarts any that exit by itself
        self.killed = set()  # names we took down on purpose (a fault): the monitor leaves them alone
        self.self_exits = []
        self.lock = threading.RLock()
        self._exit_streak = {}
        self._monitor = None
        self._stopping = threading.Event()

    # --- start and stop ------------------------------------------------------------------------------------

    def start(self):
        started = time.monotonic()
        self.log(f"chaos: starting a RabbitMQ node of our own under {self.work / 'rabbit'}")
        self.broker.start()
        # prepare() sets the dead-letter policy through the management API named by this variable.
        os.environ["LAPOR_RABBIT_API_URI"] = self.broker.api_uri
        vhost = self.vhost = "lapor_chaos"
        Management(self.broker.api_uri, self.broker.amqp_uri(vhost)).create_vhost(vhost)
        self.store = StoreServer(self.work / "store", launcher.free_port())
        self.log(f"chaos: starting the store (nx-27017) on port {self.store.port}, data in {self.work / 'store'}")
        self.store.start()
        self.settings = launcher.StackSettings(
            amqp_uri=self.broker.amqp_uri(vhost),
            mongo_uri=self.store.uri,
            secret_key=f"chaos-{uuid.uuid4().hex}",
            pii_key=Fernet.generate_key().decode(),
            ports={name: launcher.free_port() for name in launcher.SERVICES},
            db_prefix="chaos_",
            extra_env=dict(STACK_ENV, LAPOR_RABBIT_API_URI=self.broker.api_uri),
        )
        launcher.prepare(self.settings, log=lambda message: self.log(f"chaos: {message}"))
        # each service as its own broker user, as make run does (kept on the node's data across its restart)
        passwords = {name: secrets.token_urlsafe(24) for name in launcher.SERVICES}
        if not launcher.use_service_users(self.settings, passwords, log=lambda message: self.log(f"chaos: {message}")):
            raise RuntimeError("chaos: the per-service broker users could not be made on the chaos node")
        self.processes = launcher.ProcessStack(self.settings, self.work / "logs")
        self.processes.log_dir.mkdir(parents=True, exist_ok=True)
        for name, argv, env in launcher.service_processes(self.settings):
            self.commands[name] = (argv, env)
        replica_port = launcher.free_port()
        [(_, argv, env)] = launcher.service_processes(self.settings, ["intake"], port_overrides={"intake": replica_port})
        self.commands[INTAKE_REPLICA] = (argv, env)
        for name in launcher.SERVICES:
            self.spawn(name)
        self._monitor = threading.Thread(target=self._watch, name="chaos-supervisor", daemon=True)
        self._monitor.start()
        self.wait_healthy(180)
        self.log(f"chaos: stack healthy after {time.monotonic() - started:.0f}s at {self.settings.gateway_url}")
        self.retrain()  # what `make run` does once every service answers (launcher.after_start)
        return self

    def stop(self):
        self._stopping.set()
        with self.lock:
            self.expected.clear()
        if self.processes is not None:
            self.processes.stop()
        if self.store is not None:
            self.store.stop()
        self.broker.stop()

    # --- processes -----------------------------------------------------------------------------------------

    def spawn(self, name):
        """Start a service (or the intake replica) with the environment it was first started with."""
        argv, env = self.commands[name]
        with self.lock:
            running = self.processes.processes.get(name)
            if running is None or running.poll() is not None:  # never two of one name (a late restart timer)
                self.processes.start_process(name, argv, env)
            self.expected.add(name)
            self.killed.discard(name)

    def stop_service(self, name):
        """A clean stop (SIGTERM): the end of the replica scenario, not a fault."""
        with self.lock:
            self.expected.discard(name)
            self.killed.add(name)  # not to be restarted by the supervisor either
            if name in self.processes.processes:
                self.processes.stop_process(name)

    def pid(self, name):
        process = self.processes.processes.get(name)
        return process.pid if process is not None and process.poll() is None else None

    def kill(self, name):
        """kill -9: a service or replica (its process group), the broker node, or the store."""
        if name == "broker":
            self.broker.kill()
        elif name == "store":
            os.killpg(self.store.process.pid, signal.SIGKILL)
            self.store.process.wait()
        else:
            with self.lock:
                self.expected.discard(name)
                self.killed.add(name)
                process = self.processes.processes.get(name)
            if process is not None and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()

    def restart(self, name):
        if name == "broker":
            self.broker.start()
        elif name == "store":
            pid_file = self.store.data_dir / "nx.pid"
            if pid_file.exists():  # left by the kill -9; nx-27017 would refuse to start beside it
                pid_file.unlink()
            self.store.start()
        else:
            self.spawn(name)

    def _watch(self):
        """The supervisor: a service that exited by itself is counted and started again after a back-off."""
        while not self._stopping.wait(0.5):
            with self.lock:
                exited = [(name, process.returncode) for name, process in self.processes.processes.items()
                          if name in self.expected and process.poll() is not None]
            for name, code in exited:
                self.self_exits.append(SelfExit(name, code, time.monotonic()))
                streak = self._exit_streak.get(name, 0)
                self._exit_streak[name] = streak + 1
                delay = RESTART_BACKOFF_SECONDS[min(streak, len(RESTART_BACKOFF_SECONDS) - 1)]
                self.log(f"chaos: {name} exited by itself with {code}; restarting it in {delay}s "
                         f"(log: {self.processes.log_dir / (name + '.log')})")
                with self.lock:
                    self.expected.discard(name)
                threading.Timer(delay, self._restart_exited, args=(name,)).start()

    def _restart_exited(self, name):
        if self._stopping.is_set():
            return
        with self.lock:
            if name in self.killed or name in self.expected:
                return
            self.spawn(name)

    def reset_exit_streaks(self):
        self._exit_streak.clear()

    # --- health --------------------------------------------------------------------------------------------

    def health(self):
        """(gateway's aggregate /health status code or None, its body or the error)."""
        try:
            response = requests.get(f"{self.settings.gateway_url}/health", timeout=5)
            return response.status_code, response.json()
        except (requests.RequestException, ValueError) as exc:
            return None, repr(exc)

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code, last = self.health()
            if code == 200:
                return True
            time.sleep(1)
        raise RuntimeError(f"the chaos stack is not healthy after {timeout}s; last /health: {last}")

    def healthy_within(self, timeout):
        try:
            return self.wait_healthy(timeout)
        except RuntimeError:
            return False

    def queue_depths(self):
        """{queue: messages (ready + unacknowledged)} of the stack's vhost, non-empty ones only; None when the
        management API does not answer (its figures lag by its 5 s statistics interval)."""
        try:
            response = requests.get(
                f"http://127.0.0.1:{self.broker.management_port}/api/queues/{self.vhost}",
                params={"columns": "name,messages"}, auth=("guest", "guest"), timeout=5)
            response.raise_for_status()
            return {queue["name"]: queue.get("messages") or 0 for queue in response.json() if queue.get("messages")}
        except (requests.RequestException, ValueError):
            return None

    def quiesce(self, timeout):
        """Wait until the event and RPC queues are empty (two readings in a row, a statistics interval apart), so
        what one scenario left behind neither slows the next nor escapes its count. Returns (seconds, depths)."""
        started = time.monotonic()
        empty_readings, depths = 0, None
        while time.monotonic() < started + timeout:
            depths = self.queue_depths()
            work = {name: count for name, count in (depths or {}).items() if name != "lapor.dead-letter"}
            empty_readings = empty_readings + 1 if depths is not None and not work else 0
            if empty_readings >= 2:
                return time.monotonic() - started, {}
            time.sleep(5)
        return time.monotonic() - started, depths

    def store_up(self):
        return ping(self.store.uri)

    def retrain(self, timeout=180):
        """routing.retrain() over RPC, as `make run` asks once the stack is up; in a process of its own
        (nameko's standalone proxy wants an eventlet-patched world, the harness does not)."""
        command = [sys.executable, "-m", "chaos.retrain",
                   self.settings.service_uris.get("gateway", self.settings.amqp_uri)]  # retrain is the gateway's
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore"))
            lines = (done.stdout.strip() or done.stderr.strip() or "(no answer)").splitlines()
            self.log(f"chaos: {lines[-1]}")
        except subprocess.TimeoutExpired:
            self.log(f"chaos: routing.retrain() did not answer within {timeout}s")

    def log_path(self, name):
        return self.processes.log_dir / f"{name}.log"
