"""SLA's one source of time: the wall clock, moved on by a test through the offset file."""
from datetime import timedelta
from unittest.mock import MagicMock

from services.common.events import now
from services.sla.dependencies import Clock, set_clock_offset


def clock_reading(path):
    clock = Clock()
    clock.container = MagicMock(config={"CLOCK_OFFSET_FILE": str(path) if path else ""})
    clock.setup()
    return clock


def test_without_a_file_it_is_the_wall_clock(tmp_path):
    for clock in (clock_reading(None), clock_reading(tmp_path / "missing")):
        assert clock.offset_seconds() == 0.0
        assert abs(clock.now() - now()) < timedelta(seconds=1)


def test_the_offset_is_read_again_at_every_call(tmp_path):
    path = tmp_path / "offset"
    clock = clock_reading(path)
    set_clock_offset(path, 86_400)
    assert abs(clock.now() - (now() + timedelta(days=1))) < timedelta(seconds=1)
    set_clock_offset(path, 3 * 86_400)
    assert abs(clock.now() - (now() + timedelta(days=3))) < timedelta(seconds=1)
    path.write_text("")
    assert clock.offset_seconds() == 0.0
