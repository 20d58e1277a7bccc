"""What one report costs (issue 15, target 2): store operations, broker messages and RPCs per report, and the
ceilings they put on throughput, measured around a `bench.e2e` run.

- Store operations: every service's `lapor_store_operations_total` (pymongo command monitoring,
  services/common/store_metrics.py), summed over the services' `/metrics` before and after.
- RPCs: every service's `lapor_rpc_served_total`, health checks left out.
- Broker messages: the vhost's `message_stats.publish` from the RabbitMQ management API (RPC requests and
  replies, events), before and after.
- The store's own ceiling: insert + find by `_id` + `$set` from `--store-clients` clients on a scratch database
  of the same store, in the same run.
"""
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from devstack import launcher

HTTP_TIMEOUT = 10.0


def default_metrics_urls():
    """Where `make run`'s services serve /metrics: the gateway on its private port, the rest on their own."""
    ports = dict(launcher.DEFAULT_PORTS, gateway=launcher.DEFAULT_METRICS_PORT)
    return {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}


def service_counts(metrics_urls):
    """{"store": {service: n}, "rpc": {service: n}} from each service's /metrics; a service that does not answer
    is None (its figures are then left out, and said so)."""
    counts = {"store": {}, "rpc": {}}
    for service, url in metrics_urls.items():
        try:
            text = requests.get(url, timeout=HTTP_TIMEOUT).text
        except requests.RequestException:
            counts["store"][service] = counts["rpc"][service] = None
            continue
        store = rpc = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "lapor_store_operations_total":
                    store += sample.value
                elif sample.name == "lapor_rpc_served_total" and sample.labels.get("method") != "health":
                    rpc += sample.value
        counts["store"][service], counts["rpc"][service] = store, rpc
    return counts


def published(mgmt, auth, vhost):
    """Messages published into the vhost so far (the management API's message_stats.publish)."""
    response = requests.get(f"{mgmt}/api/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return response.json().get("message_stats", {}).get("publish", 0)


class Costs:
    """Counters read before a run and after it."""

    def __init__(self, metrics_urls, mgmt, auth, vhost):
        self.metrics_urls, self.mgmt, self.auth, self.vhost = metrics_urls, mgmt, auth, vhost
        self.before = self._read()

    def _read(self):
        try:
            messages = published(self.mgmt, self.auth, self.vhost)
        except requests.RequestException:
            messages = None
        return {"counts": service_counts(self.metrics_urls), "messages": messages}

    def per_report(self, reports):
        after = self._read()
        figures = {}
        for kind in ("store", "rpc"):
            deltas = {service: (after["counts"][kind][service] - self.before["counts"][kind][service])
                      for service in self.metrics_urls
                      if after["counts"][kind][service] is not None
                      and self.before["counts"][kind][service] is not None}
            figures[f"{kind}_by_service"] = {service: delta / reports for service, delta in deltas.items()}
            figures[f"{kind}_per_report"] = sum(deltas.values()) / reports
            figures[f"{kind}_missing"] = sorted(set(self.metrics_urls) - set(deltas))
        if after["messages"] is not None and self.before["messages"] is not None:
            figures["messages_per_report"] = (after["messages"] - self.before["messages"]) / reports
        else:
            figures["messages_per_report"] = None
        return figures


def store_baseline(mongo_uri, clients=8, seconds=5.0):
    """The store's own rate: each client inserts a document, finds it by `_id` and `$set`s a field, in a loop,
    on a scratch database dropped afterwards. Returns operations per second (three per loop)."""
    client = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    database = client[f"lapor_bench_store_{uuid.uuid4().hex[:8]}"]
    collection = database["ops"]
    deadline = time.monotonic() + seconds
    done = [0] * clients
    lock = threading.Lock()

    def loop(index):
        n = 0
        while time.monotonic() < deadline:
            key = f"{index}-{n}"
            collection.insert_one({"_id": key, "status": "received", "n": n})
            collection.find_one({"_id": key})
            collection.update_one({"_id": key}, {"$set": {"status": "disposed"}})
            n += 1
        with lock:
            done[index] = n * 3

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(loop, range(clients)))
        return sum(done) / (time.monotonic() - started)
    finally:
        client.drop_database(database.name)
        client.close()


def ceilings(figures, store_ops_rate, publish_rate):
    """Reports/s the store and the broker alone would allow at these costs."""
    store = store_ops_rate / figures["store_per_report"] if figures.get("store_per_report") else None
    messages = figures.get("messages_per_report")
    broker = publish_rate / messages if messages and publish_rate else None
    return {"store_bound": store, "broker_bound": broker}
