"""Intake's pure logic: tracking-ID blocks and request fingerprints."""
import hashlib
import json
from collections import deque

from services.common.tracking_ids import make_tracking_id


def request_fingerprint(payload):
    """Stable hash of a request body, to tell a replay from a different body under the same key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_record_id(scope, key):
    return hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()


class TrackingIdAllocator:
    """Hands out tracking IDs from reserved blocks of sequence numbers.

    `fetch_block()` returns `(start, end)` (end exclusive). A new block is fetched ahead of time
    when fewer than `low_water` numbers remain, so a brief outage of the block issuer is covered by
    what is left; only an empty allocator must wait for (or fail on) a fetch.
    """

    def __init__(self, low_water):
        self.low_water = low_water
        self._blocks = deque()
        self.blocks_fetched = 0

    def remaining(self):
        return sum(end - start for start, end in self._blocks)

    def needs_block(self):
        return self.remaining() <= self.low_water

    def add_block(self, start, end):
        if end <= start:
            raise ValueError(f"empty block {start}..{end}")
        self._blocks.append([start, end])
        self.blocks_fetched += 1

    def take(self):
        """The next tracking ID, or None when every block is used up."""
        while self._blocks:
            block = self._blocks[0]
            if block[0] < block[1]:
                number = block[0]
                block[0] += 1
                return make_tracking_id(number)
            self._blocks.popleft()
        return None
