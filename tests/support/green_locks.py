"""A spy on eventlet's green locks: records every acquire made from a real OS thread (a tpool worker).

Under `eventlet.monkey_patch()` every `threading.Lock`/`RLock` created afterwards is a green semaphore that
belongs to the event loop's thread. A real thread that takes one which a greenlet also takes raises
`greenlet.error: Cannot switch to a different thread` and can leave it held for good (issue 12): whatever runs
in `eventlet.tpool` must take none."""
import contextlib
import traceback

from eventlet import patcher, semaphore

_real_threading = patcher.original("threading")


@contextlib.contextmanager
def green_acquires_off_the_loop():
    """Yields the list of stacks (one per green acquire from a thread other than the calling one)."""
    loop_thread = _real_threading.get_ident()
    seen = []
    original = semaphore.Semaphore.acquire

    def spying_acquire(self, *args, **kwargs):
        if _real_threading.get_ident() != loop_thread:
            seen.append("".join(traceback.format_stack(limit=12)))
        return original(self, *args, **kwargs)

    semaphore.Semaphore.acquire = spying_acquire
    try:
        yield seen
    finally:
        semaphore.Semaphore.acquire = original
