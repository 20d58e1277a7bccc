"""Issue 12 item 2: the bookkeeping behind /health/ready and the per-consumer gauges, on an injected clock."""
from types import SimpleNamespace

import pytest

from services.common import health
from services.common.health import WorkerTracker, broker_check, consumers_check, setting, workers_check


class Clock:
    def __init__(self, start=1000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


def tracker(clock, max_workers=2, stuck_seconds=30, consumers=("on_event", "submit")):
    return WorkerTracker(max_workers, stuck_seconds, consumers, clock=clock)


def test_a_saturated_pool_with_no_progress_is_stuck_after_n_seconds(clock):
    workers = tracker(clock)
    workers.started("a", "submit", consumer=True)
    workers.started("b", "on_event", consumer=True)
    clock.advance(29.9)
    assert not workers.stuck() and workers_check(workers)["ok"]
    clock.advance(0.1)
    assert workers.stuck()
    result = workers_check(workers)
    assert not result["ok"] and "2/2 workers busy" in result["detail"] and "30s" in result["detail"]


def test_a_pool_below_its_limit_is_never_stuck(clock):
    workers = tracker(clock)
    workers.started("a", "submit", consumer=True)
    clock.advance(3600)
    assert not workers.stuck() and workers.stalled_for() == 0


def test_a_burst_after_a_quiet_spell_is_not_stuck_at_once(clock):
    workers = tracker(clock)
    workers.started("a", "submit", consumer=True)
    workers.finished("a")
    clock.advance(3600)  # nothing finished for an hour: idle, not stuck
    workers.started("b", "submit", consumer=True)
    workers.started("c", "submit", consumer=True)
    assert not workers.stuck()
    clock.advance(31)
    assert workers.stuck()


def test_a_full_pool_that_keeps_finishing_work_is_busy_not_stuck(clock):
    workers = tracker(clock)
    workers.started("a", "submit", consumer=True)
    workers.started("b", "submit", consumer=True)
    for n in range(10):
        clock.advance(20)
        workers.finished("a")
        workers.started("a", "submit", consumer=True)  # the slot is taken again at once
        assert not workers.stuck(), n
    clock.advance(30)
    assert workers.stuck()
    workers.finished("b")
    assert not workers.stuck()


def test_oldest_unacked_and_in_flight_per_consumer(clock):
    workers = tracker(clock, max_workers=10)
    assert workers.oldest_unacked() == {"on_event": 0.0, "submit": 0.0}
    workers.started("a", "submit", consumer=True)
    clock.advance(5)
    workers.started("b", "submit", consumer=True)
    workers.started("h", "metrics_page", consumer=False)  # HTTP: a worker, not a consumer
    clock.advance(2)
    assert workers.oldest_unacked() == {"on_event": 0.0, "submit": 7.0}
    assert workers.in_flight() == {"on_event": 0, "submit": 2}
    workers.finished("a")
    assert workers.oldest_unacked()["submit"] == 2.0
    workers.finished("b")
    assert workers.oldest_unacked()["submit"] == 0.0
    assert workers.running == 1


def test_seconds_since_a_handler_last_finished_counts_from_the_start_until_the_first(clock):
    workers = tracker(clock, max_workers=10)
    clock.advance(12)
    assert workers.since_last_finished() == {"on_event": 12.0, "submit": 12.0}
    workers.started("a", "submit", consumer=True)
    clock.advance(3)
    workers.finished("a")
    clock.advance(4)
    assert workers.since_last_finished() == {"on_event": 19.0, "submit": 4.0}


def test_a_worker_gone_without_its_result_is_forgotten(clock):
    workers = tracker(clock)
    workers.started("a", "submit", consumer=True)
    workers.started("b", "submit", consumer=True)
    clock.advance(60)
    assert workers.stuck()
    workers.forget_except({"a": object()})
    assert workers.running == 1 and not workers.stuck()


def test_stuck_seconds_from_config_then_environment(monkeypatch):
    monkeypatch.delenv("LAPOR_HEALTH_STUCK_SECONDS", raising=False)
    assert setting({}, "HEALTH_STUCK_SECONDS", 30.0) == 30.0
    assert setting({"HEALTH_STUCK_SECONDS": 5}, "HEALTH_STUCK_SECONDS", 30.0) == 5.0
    monkeypatch.setenv("LAPOR_HEALTH_STUCK_SECONDS", "7.5")
    assert setting({}, "HEALTH_STUCK_SECONDS", 30.0) == 7.5
    assert setting({"HEALTH_STUCK_SECONDS": 2}, "HEALTH_STUCK_SECONDS", 30.0) == 2.0
    monkeypatch.setenv("LAPOR_HEALTH_STUCK_SECONDS", "soon")
    assert setting({}, "HEALTH_STUCK_SECONDS", 30.0) == 30.0


# -- broker and consumer checks on fakes shaped like nameko's QueueConsumer and kombu's Consumer


class Provider:
    def __init__(self, queue_name):
        self.queue = SimpleNamespace(name=queue_name)


def fake_queue_consumer(*, connected=True, channel_open=True, cancelled=False, thread_dead=False):
    channel = SimpleNamespace(is_open=channel_open, connection=SimpleNamespace(connected=connected),
                              callbacks={} if cancelled else {"tag-1": object()})
    provider = Provider("rpc-intake")
    consumer = SimpleNamespace(channel=channel, _active_tags={"rpc-intake": "tag-1"})
    ready = SimpleNamespace(ready=lambda: True)
    return SimpleNamespace(_gt=SimpleNamespace(dead=thread_dead), _consumers_ready=ready, _providers={provider},
                           _consumers={provider: consumer})


def test_broker_check_reads_the_state_of_the_held_connection():
    assert broker_check([fake_queue_consumer()])["ok"]
    assert broker_check([])["ok"]  # a service without queue consumers has nothing to say about the broker
    assert not broker_check([fake_queue_consumer(connected=False)])["ok"]
    assert not broker_check([fake_queue_consumer(channel_open=False)])["ok"]
    assert not broker_check([fake_queue_consumer(thread_dead=True)])["ok"]


def test_a_consumer_the_broker_cancelled_is_not_attached():
    assert consumers_check([], [fake_queue_consumer()])["ok"]
    result = consumers_check([], [fake_queue_consumer(cancelled=True)])
    assert not result["ok"] and "rpc-intake" in result["detail"]


def test_an_entrypoint_not_registered_with_its_queue_consumer_is_not_attached(monkeypatch):
    class FakeConsumerEntrypoint:
        method_name = "on_report_updated"

    monkeypatch.setattr(health, "MessageConsumer", FakeConsumerEntrypoint)
    entrypoint = FakeConsumerEntrypoint()
    entrypoint.queue_consumer = fake_queue_consumer()
    result = consumers_check([entrypoint], [entrypoint.queue_consumer])
    assert not result["ok"] and "on_report_updated" in result["detail"]
    entrypoint.queue_consumer._providers.add(entrypoint)
    entrypoint.queue_consumer._consumers[entrypoint] = next(iter(entrypoint.queue_consumer._consumers.values()))
    assert consumers_check([entrypoint], [entrypoint.queue_consumer])["ok"]
