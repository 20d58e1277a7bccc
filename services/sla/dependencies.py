"""SLA's own Nameko extensions: the clock its rules read the time from, and a timer whose interval is config."""
import logging
import os
from datetime import timedelta

from cachetools import TTLCache
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.common.events import now as wall_now

log = logging.getLogger(__name__)


class Clock(DependencyProvider):
    """The one source of "now" for SLA's rules: when a deadline is due, warned, breached, still open.

    Production reads the wall clock. Config `CLOCK_OFFSET_FILE` (env `LAPOR_SLA_CLOCK_OFFSET_FILE`) names a
    file holding a number of seconds to add to it, read again at every call: a test (or a demo) moves time
    on by writing a bigger number, across processes, with nothing to restart. A missing or empty file is 0.
    Outbox leases stay on the wall clock: they coordinate replicas, not deadlines.
    """

    def setup(self):
        self.offset_file = self.container.config.get("CLOCK_OFFSET_FILE") or None
        if self.offset_file:
            log.warning("sla reads its time from the wall clock plus the offset in %s (a test setting)",
                        self.offset_file)

    def get_dependency(self, worker_ctx):
        return self

    def now(self):
        return wall_now() + timedelta(seconds=self.offset_seconds())

    def offset_seconds(self):
        if not self.offset_file:
            return 0.0
        try:
            with open(self.offset_file, encoding="utf-8") as handle:
                text = handle.read().strip()
        except FileNotFoundError:
            return 0.0
        return float(text) if text else 0.0


def set_clock_offset(path, seconds):
    """Move a Clock reading `path` on by `seconds` from the wall clock (tests, demos); atomic for readers."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(str(float(seconds)))
    os.replace(partial, path)


class ConfiguredTimer(Timer):
    """A timer whose interval is read from config (`config_key`) when the container starts."""

    def __init__(self, config_key, default, **kwargs):
        super().__init__(interval=default, **kwargs)
        self.config_key = config_key

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


configured_timer = ConfiguredTimer.decorator


class FiguresCache(DependencyProvider):
    """SLA figures kept per query for config FIGURES_MAX_AGE_SECONDS (absent or 0: none). `/api/v1/stats/sla` is
    public and cheap to ask, and a year of an agency's clocks is a large read, so one replica answers the same
    question from the store at most once a minute. Per process; its age is read on the service's Clock."""

    MAX_QUERIES = 512
    cache = None  # until setup: every figure counted (as in a worker_factory test)

    def setup(self):
        max_age = float(self.container.config.get("FIGURES_MAX_AGE_SECONDS") or 0)
        clock = next((d for d in self.container.dependencies if isinstance(d, Clock)), None)
        timer = (lambda: clock.now().timestamp()) if clock is not None else None
        self.cache = figures_cache(max_age, timer)

    def get_dependency(self, worker_ctx):
        return self

    def get(self, key, compute):
        """compute()'s answer for `key`, reused while it is younger than the max age."""
        if self.cache is None:
            return compute()
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = compute()
        return found


def figures_cache(max_age, timer=None):
    """A TTLCache of at most FiguresCache.MAX_QUERIES answers, or None when `max_age` is 0."""
    if max_age <= 0:
        return None
    return TTLCache(FiguresCache.MAX_QUERIES, ttl=max_age, **({"timer": timer} if timer else {}))
