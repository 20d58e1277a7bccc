"""The tracking-ID allocator: one per intake process, fed by blocks that tracking reserves."""
import logging
import time

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from services.common.errors import Unavailable
from services.intake.domain import TrackingIdAllocator

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 1000
# While tracking is away, submissions use the numbers left instead of each waiting on a new block.
PREFETCH_BACKOFF_SECONDS = 30


class _TrackingIds:
    def __init__(self, provider, fetch_block):
        self._provider = provider
        self._fetch_block = fetch_block

    def next(self):
        return self._provider.next_tracking_id(self._fetch_block)


class TrackingIds(DependencyProvider):
    """One allocator per process: numbers come from blocks that tracking reserves (DESIGN §5)."""

    def setup(self):
        self.block_size = int(self.container.config.get("ID_BLOCK_SIZE", DEFAULT_BLOCK_SIZE))
        self.allocator = TrackingIdAllocator(low_water=max(1, self.block_size // 5))
        self.fetch_lock = Semaphore()
        self.retry_prefetch_at = 0.0

    def next_tracking_id(self, fetch_block):
        prefetch_due = time.monotonic() >= self.retry_prefetch_at
        if self.allocator.needs_block() and prefetch_due and not self.fetch_lock.locked():
            self._refill(fetch_block, must=False)
        tracking_id = self.allocator.take()
        while tracking_id is None:
            self._refill(fetch_block, must=True)
            tracking_id = self.allocator.take()
        return tracking_id

    def _refill(self, fetch_block, must):
        with self.fetch_lock:
            if not self.allocator.needs_block():
                return  # another worker refilled while we waited
            try:
                block = fetch_block(self.block_size)
            except Unavailable:
                if must:
                    raise
                self.retry_prefetch_at = time.monotonic() + PREFETCH_BACKOFF_SECONDS
                log.warning("could not reserve the next tracking-ID block; %s numbers left", self.allocator.remaining())
                return
            self.allocator.add_block(block["start"], block["end"])

    def get_dependency(self, worker_ctx):
        return lambda fetch_block: _TrackingIds(self, fetch_block)
