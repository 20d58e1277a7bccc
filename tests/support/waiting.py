"""Bounded waiting for things that happen asynchronously on the bus."""
import time

import eventlet


def wait_for(predicate, timeout=20.0, interval=0.1, message="condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)
