"""SLA's own Nameko extensions: the clock its rules read the time from, and a timer whose interval is config."""
import logging
import os
from datetime import timedelta

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
