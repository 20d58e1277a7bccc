"""What one report costs the store end to end (issue 15, "the per-report operation counts are tests"): every
service counts its store commands under the worker that sent them (services/common/store_metrics.py); one
report, submitted and followed until it is disposed and its reporter told, may cost at most BUDGET of them.

Timers (sweeps, recounts) are left out: they cost the same with one report or none. So are the polls this test
makes to see the report disposed (the gateway's `get_report`, tracking's `report`)."""
import collections
import re
import time

import requests

from tests.support.factories import make_report
from tests.support.waiting import wait_for

# Measured at 112 when this test was written (the breakdown is printed on failure); issue 15 aims at 15. Lower it
# as the path gets cheaper, never raise it without saying why in the commit.
BUDGET = 150
POLLING = {("gateway", "get_report"), ("tracking", "report")}


def metrics_urls(stack):
    return {name: stack.settings.metrics_url("gateway") if name == "gateway" else f"http://127.0.0.1:{port}/metrics"
            for name, port in stack.ports.items()}


def work_operations(stack):
    """{(service, kind, entrypoint, command): count} over every process, timers and the polls left out."""
    totals = collections.Counter()
    for url in metrics_urls(stack).values():
        text = requests.get(url, timeout=10).text
        for labels, value in re.findall(r"^lapor_store_operations_total\{([^}]*)\} (\S+)$", text, re.M):
            label = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            if label["kind"] == "timer" or (label["service"], label["entrypoint"]) in POLLING:
                continue
            totals[(label["service"], label["kind"], label["entrypoint"], label["command"])] += float(value)
    return totals


def settled(stack, quiet_seconds=2.0, timeout=60):
    """The counts once they have not moved for `quiet_seconds` (earlier tests' work done)."""
    deadline = time.monotonic() + timeout
    last = work_operations(stack)
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = work_operations(stack)
        if now == last:
            return now
        last = now
    raise AssertionError("the store operations never settled")


def test_one_report_costs_at_most_its_budget_of_store_operations(stack):
    before = settled(stack)
    receipt = requests.post(f"{stack.url}/api/v1/reports", json=make_report(agency_code="KOTA-18.72"),
                            timeout=30).json()
    tracking_id = receipt["tracking_id"]
    wait_for(lambda: (r := requests.get(f"{stack.url}/api/v1/reports/{tracking_id}", timeout=10)).ok
             and r.json()["status"] == "disposed" and r.json().get("due_at"), timeout=60, message="disposed")
    wait_for(lambda: f"Laporan {tracking_id} diteruskan" in stack.log_tail("notifications", 400), timeout=60,
             message="the reporter told of the disposition")
    spent = settled(stack) - before
    total = sum(spent.values())
    by_worker = collections.Counter()
    for (service, kind, entrypoint, _), count in spent.items():
        by_worker[f"{service}.{entrypoint} ({kind})"] += count
    breakdown = ", ".join(f"{name} {count:.0f}" for name, count in by_worker.most_common())
    print(f"one report: {total:.0f} store operations: {breakdown}")
    assert total <= BUDGET, f"{total:.0f} store operations for one report (budget {BUDGET}): {breakdown}"
