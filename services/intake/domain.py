"""Intake's pure logic: tracking-ID blocks, request fingerprints and the LAPOR categories."""
import functools
import hashlib
import json
from collections import deque
from pathlib import Path

from services.common.tracking_ids import make_tracking_id

CATEGORIES_FILE = Path(__file__).parent / "data" / "categories.json"


def request_fingerprint(payload):
    """Stable hash of a request body, to tell a replay from a different body under the same key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_record_id(scope, key):
    return hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()


def same_submission(stored, submission):
    """Is `stored` (the submission already under this tracking ID) this one again, replayed under its
    Idempotency-Key? Then it holds the same access code, which nothing else shares."""
    return stored is not None and stored["event"]["access_code_hash"] == submission["event"]["access_code_hash"]


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


@functools.lru_cache(maxsize=1)
def _category_data():
    return json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))


def load_categories():
    """The LAPOR categories (Open311's service codes), each with its group's names and all its attributes
    (its own first, then those every category has), as `intake.categories()` gives them."""
    data = _category_data()
    groups = {group["code"]: group for group in data["groups"]}
    categories = []
    for category in data["categories"]:
        group = groups[category["group"]]
        attributes = sorted(category.get("attributes", []) + data["common_attributes"], key=lambda a: a["order"])
        categories.append(dict(category, group_name=group["name"], group_name_en=group["name_en"],
                               keywords=list(category.get("keywords", [])), attributes=attributes))
    return json.loads(json.dumps(categories))  # a deep copy: callers may change what they get


@functools.lru_cache(maxsize=1)
def category_codes():
    return frozenset(category["code"] for category in _category_data()["categories"])
