"""Every store command a service sends is counted on its /metrics, under the worker that sent it (issue 15, "cost
per report": services/common/store_metrics.py), and every RPC it serves too. `make bench` sums them."""
import re

import pytest
import requests

from services.common.errors import NotFound
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy


def samples(container, name):
    """{labels dict as a tuple of items: value} of one metric on the container's /metrics."""
    text = requests.get(f"http://{container.config['WEB_SERVER_ADDRESS']}/metrics", timeout=10).text
    found = {}
    for labels, value in re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        found[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels)))] = float(value)
    return found


def count(found, **wanted):
    return sum(value for labels, value in found.items() if set(wanted.items()) <= set(labels))


def test_each_command_is_counted_under_its_worker_and_each_rpc_served(start_service, service_config):
    tracking = start_service(TrackingService)
    before = samples(tracking, "lapor_store_operations_total")
    assert count(before, service="tracking", kind="none", command="createIndexes") >= 1  # start-up, no worker
    assert count(before, kind="none", command="ping") == 0  # health checks and handshakes are not work

    with service_proxy("tracking", service_config) as proxy:
        for _ in range(3):
            with pytest.raises(NotFound):
                proxy.report("10000004")

    after = samples(tracking, "lapor_store_operations_total")
    finds = count(after, service="tracking", kind="rpc", entrypoint="report", command="find") - count(
        before, service="tracking", kind="rpc", entrypoint="report", command="find")
    assert finds >= 3  # at least the case looked up, once per call
    served = samples(tracking, "lapor_rpc_served_total")
    assert count(served, service="tracking", method="report") == 3
