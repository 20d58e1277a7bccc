"""Rate limits per client address, sender phone number and API key: the gateway's `rate_limits` dependency."""
from datetime import timedelta

from nameko.extensions import DependencyProvider

from services.common.errors import RateLimited
from services.common.events import now
from services.common.mongo import unavailable_on_store_error
from services.gateway import limits, proof_of_work
from services.gateway.dependencies import secret_key, service_store


class RateLimits(DependencyProvider):
    """Per container: the limits from config (RATE_LIMIT_*), the hashing secret and the service's own store."""

    def setup(self):
        config = self.container.config
        self.limits = limits.limits_from_config(config)
        self.soft = limits.soft_limits_from_config(config)
        self.secret_key = secret_key(config)
        self.store = service_store(self.container, "RateLimits")

    def get_dependency(self, worker_ctx):
        return RateLimiter(self.store.repository, self.limits, self.secret_key, self.soft)


class RateLimiter:
    """What an entrypoint sees as `self.rate_limits`."""

    def __init__(self, repository, limits_by_bucket, secret_key, soft=None):
        self.repository = repository
        self.limits = limits_by_bucket
        self.secret_key = secret_key
        self.soft = soft or {}

    @unavailable_on_store_error
    def check(self, bucket, key, proof=None):
        """Count one request for `key` in `bucket` (limits.IP: a client address, limits.PHONE: a sender's
        phone number, limits.API_KEY: an API key, limits.ACCESS_CODE: the address asking for a new access
        code, limits.TWITTER_CRC: the address asking the Twitter CRC); RateLimited with {"retry_after": seconds}
        once over.

        Call it before any work, so a refused request changes nothing. Refused requests count too, so
        hammering does not help; the window still closes when it would have.

        A soft bucket (limits.IP, see limits.SOFT_BUCKETS) past its limit and below its ceiling lets a request
        through that carries `proof` (services.gateway.proof_of_work) of a challenge given to this client; the
        refusal carries a new challenge (fields "challenge", "work_bits")."""
        window = limits.BUCKETS[bucket].window
        limit = self.limits[bucket]
        if limit == limits.UNLIMITED:
            return
        counter = limits.counter_id(self.secret_key, bucket, key)
        hits, window_started_at = self.repository.count_rate_limit_hit(counter, window)
        at = now()
        retry_after = limits.refusal(limit, hits, window_started_at, at, window)
        if retry_after is None:
            return
        soft = self.soft.get(bucket)
        if soft is None or soft.work_bits == 0 or limits.over_ceiling(hits, soft.ceiling):
            raise RateLimited(limits.refusal_message(retry_after), fields={"retry_after": retry_after})
        nonce = proof_of_work.accepted_nonce(self.secret_key, counter, proof, soft.work_bits, at.timestamp())
        if nonce is not None and self.repository.claim_work_proof(
                nonce, at + timedelta(seconds=proof_of_work.CHALLENGE_SECONDS)):
            return
        challenge = proof_of_work.issue(self.secret_key, counter, soft.work_bits, at.timestamp())
        raise RateLimited(limits.work_message(retry_after), fields={"retry_after": retry_after, "challenge": challenge,
                                                         "work_bits": soft.work_bits})
