"""Rate limits per client address, sender phone number and API key: the gateway's `rate_limits` dependency."""
from nameko.extensions import DependencyProvider

from services.common.errors import RateLimited
from services.common.events import now
from services.common.mongo import unavailable_on_store_error
from services.gateway import limits
from services.gateway.dependencies import secret_key, service_store


class RateLimits(DependencyProvider):
    """Per container: the limits from config (RATE_LIMIT_*), the hashing secret and the service's own store."""

    def setup(self):
        config = self.container.config
        self.limits = limits.limits_from_config(config)
        self.secret_key = secret_key(config)
        self.store = service_store(self.container, "RateLimits")

    def get_dependency(self, worker_ctx):
        return RateLimiter(self.store.repository, self.limits, self.secret_key)


class RateLimiter:
    """What an entrypoint sees as `self.rate_limits`."""

    def __init__(self, repository, limits_by_bucket, secret_key):
        self.repository = repository
        self.limits = limits_by_bucket
        self.secret_key = secret_key

    @unavailable_on_store_error
    def check(self, bucket, key):
        """Count one request for `key` in `bucket` (limits.IP: a client address, limits.PHONE: a sender's
        phone number, limits.API_KEY: an API key, limits.ACCESS_CODE: the address asking for a new access
        code, limits.TWITTER_CRC: the address asking the Twitter CRC); RateLimited with {"retry_after": seconds}
        once over.

        Call it before any work, so a refused request changes nothing. Refused requests count too, so
        hammering does not help; the window still closes when it would have."""
        window = limits.BUCKETS[bucket].window
        limit = self.limits[bucket]
        if limit == limits.UNLIMITED:
            return
        hits, window_started_at = self.repository.count_rate_limit_hit(
            limits.counter_id(self.secret_key, bucket, key), window)
        retry_after = limits.refusal(limit, hits, window_started_at, now(), window)
        if retry_after is not None:
            raise RateLimited(limits.refusal_message(retry_after), fields={"retry_after": retry_after})
