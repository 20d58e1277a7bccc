"""The consumer-progress alerts (deploy/alerts.yml) watch the gauges services.common.health exports, and fire when
they should: `promtool test rules deploy/alerts_test.yml` (the pattern of test_deploy_files.py)."""
from types import SimpleNamespace

import yaml
from prometheus_client import CollectorRegistry, generate_latest

from services.common.health import WorkerTracker, _ConsumerGauges
from tests.unit.test_deploy_files import DEPLOY, promtool

GAUGE_ALERTS = {
    "lapor_consumer_oldest_unacked_seconds": "LaporMessageUnackedTooLong",
    "lapor_consumer_seconds_since_last_finished": "LaporConsumerNoProgress",
}


def exported_text():
    clock = SimpleNamespace(now=100.0)
    tracker = WorkerTracker(10, 30, ["on_report_updated"], clock=lambda: clock.now)
    tracker.started("w", "on_report_updated", consumer=True)
    clock.now += 7
    monitor = SimpleNamespace(container=SimpleNamespace(service_name="routing"), refreshed_tracker=lambda: tracker)
    registry = CollectorRegistry()
    registry.register(_ConsumerGauges(monitor))
    return generate_latest(registry).decode()


def test_the_gauges_are_exported_per_consumer():
    text = exported_text()
    assert 'lapor_consumer_oldest_unacked_seconds{entrypoint="on_report_updated",service="routing"} 7.0' in text
    assert 'lapor_consumer_seconds_since_last_finished{entrypoint="on_report_updated",service="routing"} 7.0' in text
    assert 'lapor_consumer_in_flight{entrypoint="on_report_updated",service="routing"} 1.0' in text
    assert 'lapor_workers_running{service="routing"} 1.0' in text and 'lapor_workers_max{service="routing"} 10.0' in text


def test_each_consumer_gauge_has_its_alert_on_an_exported_metric():
    rules = {rule["alert"]: rule for group in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]}
    text = exported_text()
    for gauge, alert in GAUGE_ALERTS.items():
        assert gauge in rules[alert]["expr"], alert
        assert f"{gauge}{{" in text
    assert "lapor_consumer_in_flight" in rules["LaporConsumerNoProgress"]["expr"]


def test_promtool_rule_tests_of_the_consumer_alerts_pass():
    promtool("test", "rules", "deploy/alerts_test.yml")
