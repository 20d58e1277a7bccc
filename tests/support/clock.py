"""Moving sla's clock on in a test: the offset file its Clock reads (services/sla/dependencies.py)."""
from datetime import timedelta

from services.common.events import now
from services.sla.dependencies import set_clock_offset


class TestClock:
    __test__ = False  # not a pytest class

    def __init__(self, path):
        self.path = str(path)
        set_clock_offset(self.path, 0)

    def move_to(self, instant, margin=timedelta(seconds=1)):
        """sla's now becomes `instant` (plus a margin) from this moment on, then runs on with the wall clock."""
        set_clock_offset(self.path, (instant + margin - now()).total_seconds())

    def now(self):
        """What sla reads as now."""
        with open(self.path, encoding="utf-8") as handle:
            return now() + timedelta(seconds=float(handle.read()))

    def config(self, check_seconds=0.2):
        """The config overrides that make an sla container read this clock and look for due clocks often."""
        return {"CLOCK_OFFSET_FILE": self.path, "CHECK_SECONDS": check_seconds}
