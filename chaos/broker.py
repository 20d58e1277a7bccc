"""A RabbitMQ node of the chaos suite's own: never the machine's shared node on 5672.

Its own node name, AMQP / management / distribution ports (loopback only), data and log directories, Erlang
cookie (a private HOME), config and env files (so /etc/rabbitmq is not read) and enabled-plugins file
(management on). `kill()` is a `kill -9` of the whole node (the start script, erl and beam.smp are one
process group); `start()` again brings it back on the same data directory, as a crashed broker restarts.

    node = PrivateRabbit(tmp_dir).start()
    node.amqp_uri("lapor_chaos")  →  pyamqp://guest:guest@127.0.0.1:<port>/lapor_chaos
"""
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from devstack.launcher import free_port
from devstack.rabbit import port_open

RABBITMQ_SCRIPTS = Path("/usr/lib/rabbitmq/bin")  # the real scripts: /usr/sbin's wrapper su's to the rabbitmq user


class BrokerError(RuntimeError):
    pass


def rabbitmq_server_script():
    script = RABBITMQ_SCRIPTS / "rabbitmq-server"
    if script.exists():
        return str(script)
    found = shutil.which("rabbitmq-server")
    if not found:
        raise BrokerError("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    return found


class PrivateRabbit:
    def __init__(self, base_dir, name=None):
        self.base = Path(base_dir)
        self.name = name or f"lapor-chaos-{secrets.token_hex(4)}"
        self.node = f"{self.name}@localhost"
        self.amqp_port = free_port()
        self.management_port = free_port()
        self.dist_port = free_port()
        self.process = None
        self.starts = 0

    # --- files -------------------------------------------------------------------------------------------

    def _write_files(self):
        for sub in ("mnesia", "log", "home"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            "loopback_users.guest = true\n"
            # A 2-core machine shared with other work: no disk alarm from a small tmpfs, a modest memory mark.
            "disk_free_limit.absolute = 50MB\n"
            "vm_memory_high_watermark.relative = 0.2\n"
            "log.console = false\n"
            "log.file.level = info\n"
        )
        (self.base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.base / "rabbitmq-env.conf").write_text("# the chaos suite's node: nothing from /etc/rabbitmq\n")
        cookie = self.base / "home" / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(20))
            cookie.chmod(0o400)

    def environment(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            "HOME": str(self.base / "home"),  # the Erlang cookie lives here: this node's own
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    # --- life ----------------------------------------------------------------------------------------------

    def amqp_uri(self, vhost=""):
        return f"pyamqp://guest:guest@127.0.0.1:{self.amqp_port}/{vhost}"

    @property
    def api_uri(self):
        return f"http://guest:guest@127.0.0.1:{self.management_port}"

    def start(self, timeout=90):
        if self.alive():
            return self
        self._write_files()
        log = open(self.base / "log" / "startup.log", "ab")
        self.process = subprocess.Popen([rabbitmq_server_script()], env=self.environment(), cwd=self.base,
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        self.starts += 1
        self.wait_ready(timeout)
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def ready(self):
        if not port_open("127.0.0.1", self.amqp_port, timeout=0.5):
            return False
        try:
            response = requests.get(f"http://127.0.0.1:{self.management_port}/api/overview",
                                    auth=("guest", "guest"), timeout=2)
            return response.status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"the chaos RabbitMQ node exited with {self.process.returncode}; "
                                  f"see {self.base / 'log'}")
            if self.ready():
                return
            time.sleep(0.5)
        raise BrokerError(f"the chaos RabbitMQ node did not answer within {timeout}s; see {self.base / 'log'}")

    def kill(self):
        """kill -9 of the node: its start script, erl and beam.smp (one process group of our own)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", self.amqp_port, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self, timeout=30):
        """Stop the node: SIGTERM to the group (a clean shutdown), SIGKILL if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass
