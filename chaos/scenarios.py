"""The faults, one per scenario: what is taken down, and how it comes back.

Each scenario's `inject` runs once the load has ~30 % of its reports accepted; `recover` runs `down_seconds`
later (a restart with the same environment: same ports, same store, same data directory). The moment
`recover` is called is the fault's end, from which the settle time is counted.
"""
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import requests

from chaos.stack import INTAKE_REPLICA
from devstack.launcher import SERVICES


@dataclass
class Scenario:
    name: str
    what: str
    inject: Optional[Callable] = None  # inject(stack)
    recover: Optional[Callable] = None  # recover(stack)
    setup: Optional[Callable] = None  # before the load
    teardown: Optional[Callable] = None  # after the row is measured


def kill(target):
    return lambda stack: stack.kill(target)


def restart(target):
    return lambda stack: stack.restart(target)


def _replica_up(stack, timeout=90):
    stack.spawn(INTAKE_REPLICA)
    port = stack.commands[INTAKE_REPLICA][1]["LAPOR_INTAKE_PORT"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the second intake replica did not answer on port {port} within {timeout}s")


def _retrain_now(stack):
    threading.Thread(target=stack.retrain, name="chaos-retrain", daemon=True).start()


def all_scenarios():
    scenarios = [Scenario("baseline", "no fault")]
    scenarios += [Scenario(name, f"kill -9 {name}, restart", kill(name), restart(name)) for name in SERVICES]
    scenarios += [
        Scenario("intake-replica", "two intake replicas, kill -9 one, restart it", kill("intake"), restart("intake"),
                 setup=_replica_up, teardown=lambda stack: stack.stop_service(INTAKE_REPLICA)),
        Scenario("broker", "kill -9 the RabbitMQ node, restart it on its data", kill("broker"), restart("broker")),
        Scenario("store", "kill -9 the store, restart it on the same data", kill("store"), restart("store")),
        Scenario("retrain", "routing.retrain() while the load runs", _retrain_now, None),
    ]
    return {scenario.name: scenario for scenario in scenarios}


ALL = tuple(all_scenarios())
# The short run inside `make test`: the faults that have gone wrong before, ~100 reports each.
SHORT = ("routing", "tracking", "intake-replica", "broker", "store")
