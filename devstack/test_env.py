"""What `make test` needs beyond Python packages: RabbitMQ with its management API, promtool and chromium.

Installs what is missing when it can (apt as root) and otherwise fails loudly: no test skips
because a dependency is absent.
"""
import os
import shutil
import subprocess
import sys

from devstack.rabbit import DEFAULT_AMQP_URI, RabbitUnavailable, ensure_management, ensure_rabbitmq


def ensure_promtool(log=print):
    if shutil.which("promtool"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("promtool is missing: sudo apt-get install prometheus")
    log("installing prometheus (for promtool) with apt-get …")
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"], check=True,
                   stdout=subprocess.DEVNULL)


CHROMIUM = "/usr/bin/chromium"


def ensure_chromium(log=print):
    """Debian's chromium for the browser tests (playwright drives it; `playwright install` cannot download)."""
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("chromium is missing (the browser tests need it): sudo apt-get install chromium")
    log("installing chromium (for the browser tests) with apt-get …")
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, stdout=subprocess.DEVNULL)


def main():
    log = lambda message: print(f"[lapor] {message}", flush=True)  # noqa: E731
    try:
        ensure_rabbitmq(os.environ.get("LAPOR_TEST_AMQP_URI", DEFAULT_AMQP_URI), log=log)
        ensure_management(log=log)
        ensure_promtool(log=log)
        ensure_chromium(log=log)
    except (RabbitUnavailable, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"[lapor] cannot run the tests: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
