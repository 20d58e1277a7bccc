"""Make sure RabbitMQ answers (with its management API), and manage vhosts for isolated runs."""
import os
import shutil
import socket
import subprocess
import time
from urllib.parse import quote, urlparse

import requests

AMQP_PORT = 5672
MANAGEMENT_PORT = 15672
DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"


class RabbitUnavailable(RuntimeError):
    pass


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for_port(host, port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.5)
    return False


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _start_installed_server():
    for command in (["rabbitmq-server", "-detached"], ["service", "rabbitmq-server", "start"]):
        if shutil.which(command[0]):
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if _wait_for_port("127.0.0.1", AMQP_PORT, 60):
                return True
    return False


def ensure_rabbitmq(amqp_uri=DEFAULT_AMQP_URI, log=print):
    """Use RabbitMQ if it is up; start it if installed; install it with apt as root; else explain."""
    parsed = urlparse(amqp_uri.replace("pyamqp://", "amqp://"))
    host, port = parsed.hostname or "127.0.0.1", parsed.port or AMQP_PORT
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost") or port != AMQP_PORT:
        raise RabbitUnavailable(f"RabbitMQ at {host}:{port} does not answer; check LAPOR_AMQP_URI.")
    if not shutil.which("rabbitmq-server"):
        if not _is_root():
            raise RabbitUnavailable(
                "RabbitMQ is not installed. Install it (sudo apt-get install rabbitmq-server) "
                "or point LAPOR_AMQP_URI at a running broker, then run this again."
            )
        log("installing rabbitmq-server with apt-get …")
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "rabbitmq-server"], check=True)
    log("starting RabbitMQ …")
    if not _start_installed_server():
        raise RabbitUnavailable("RabbitMQ is installed but did not start; see /var/log/rabbitmq and start it by hand.")


def ensure_management(log=print):
    """Nameko's test fixtures and our vhost/policy set-up need the management plugin (port 15672)."""
    if port_open("127.0.0.1", MANAGEMENT_PORT):
        return
    if not shutil.which("rabbitmq-plugins"):
        raise RabbitUnavailable("RabbitMQ's management API (15672) is off: run rabbitmq-plugins enable rabbitmq_management")
    log("enabling the RabbitMQ management plugin …")
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_management"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not _wait_for_port("127.0.0.1", MANAGEMENT_PORT, 60):
        raise RabbitUnavailable("the RabbitMQ management plugin did not come up on 15672")


class Management:
    """The few management-API calls we need: vhosts, permissions, policies."""

    def __init__(self, api_uri=None, amqp_uri=DEFAULT_AMQP_URI):
        amqp = urlparse(amqp_uri.replace("pyamqp://", "amqp://"))
        api_uri = api_uri or os.environ.get("LAPOR_RABBIT_API_URI") or f"http://{amqp.hostname or '127.0.0.1'}:{MANAGEMENT_PORT}"
        parsed = urlparse(api_uri)
        self.base = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or MANAGEMENT_PORT}/api"
        self.auth = (parsed.username or amqp.username or "guest", parsed.password or amqp.password or "guest")

    def _call(self, method, path, **kwargs):
        response = requests.request(method, f"{self.base}{path}", auth=self.auth, timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def create_vhost(self, vhost, user="guest"):
        self._call("PUT", f"/vhosts/{quote(vhost, safe='')}")
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        self._call("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", json=permissions)

    def put_user(self, user, password, tags=""):
        """Create the user, or set its password and tags (an existing one's permissions stay)."""
        self._call("PUT", f"/users/{quote(user, safe='')}", json={"password": password, "tags": tags})

    def delete_user(self, user):
        response = requests.delete(f"{self.base}/users/{quote(user, safe='')}", auth=self.auth, timeout=10)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def set_permissions(self, vhost, user, configure, write, read):
        self._call("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                   json={"configure": configure, "write": write, "read": read})

    def set_topic_permissions(self, vhost, user, exchange, write, read):
        self._call("PUT", f"/topic-permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                   json={"exchange": exchange, "write": write, "read": read})

    def permissions(self, vhost, user):
        """(permissions, topic permissions) of `user` on `vhost`, as the management API lists them."""
        vhost, user = quote(vhost, safe=''), quote(user, safe='')
        plain = self._call("GET", f"/users/{user}/permissions").json()
        topic = self._call("GET", f"/users/{user}/topic-permissions").json()
        return ([p for p in plain if quote(p["vhost"], safe='') == vhost],
                [p for p in topic if quote(p["vhost"], safe='') == vhost])

    def delete_vhost(self, vhost):
        response = requests.delete(f"{self.base}/vhosts/{quote(vhost, safe='')}", auth=self.auth, timeout=10)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def set_policy(self, vhost, name, pattern, definition, apply_to="queues"):
        body = {"pattern": pattern, "definition": definition, "apply-to": apply_to, "priority": 0}
        self._call("PUT", f"/policies/{quote(vhost, safe='')}/{quote(name, safe='')}", json=body)

    def policies(self, vhost):
        return self._call("GET", f"/policies/{quote(vhost, safe='')}").json()

    def connection_users(self, vhost):
        """The users of the connections open on `vhost` now."""
        return sorted(c["user"] for c in self._call("GET", f"/vhosts/{quote(vhost, safe='')}/connections").json())

    def queue(self, vhost, name):
        return self._call("GET", f"/queues/{quote(vhost, safe='')}/{quote(name, safe='')}").json()
