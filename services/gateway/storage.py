"""The gateway's repository (lapor_gateway): accounts, API keys, login and rate-limit counters, signed-out tokens,
the audit log."""
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.audit import AuditLog
from services.common.events import now
from services.common.mongo import Repository

COUNTER_COLLECTIONS = ("rate_limits", "login_failures")


class GatewayRepository(AuditLog, Repository):
    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.accounts.create_index("agency_code")
        self.db.api_keys.create_index("name")
        for name in COUNTER_COLLECTIONS:
            self.db[name].create_index("window_started_at")
        self.db.revoked_tokens.create_index("expires_at")

    # Accounts: `_id` is the username.

    def insert_account(self, account):
        """False when the username is taken: an existing account is never overwritten."""
        try:
            self.db.accounts.insert_one(account)
            return True
        except DuplicateKeyError:
            return False

    def account(self, username):
        return self.db.accounts.find_one({"_id": username})

    def accounts(self):
        return list(self.db.accounts.find({}, {"password_hash": 0}).sort("_id", ASCENDING))

    def set_disabled(self, username, disabled_at):
        """`disabled_at` None enables the account again; False when there is no such account."""
        return self.db.accounts.update_one({"_id": username}, {"$set": {"disabled_at": disabled_at}}).matched_count == 1

    def set_password_hash(self, username, password_hash):
        self.db.accounts.update_one({"_id": username}, {"$set": {"password_hash": password_hash}})

    # API keys of other government systems: `_id` is the key's SHA-256 digest; the key itself is never stored.

    def insert_api_key(self, record):
        self.db.api_keys.insert_one(record)

    def api_key(self, digest):
        return self.db.api_keys.find_one({"_id": digest})

    def active_api_keys(self, name):
        return list(self.db.api_keys.find({"name": name, "active": True}, {"_id": 0}))

    def revoke_api_keys(self, name, revoked_at):
        """Every active key of the client stops working; returns how many there were."""
        return self.db.api_keys.update_many(
            {"name": name, "active": True}, {"$set": {"active": False, "revoked_at": revoked_at}}).modified_count

    def api_keys(self):
        return list(self.db.api_keys.find({}, {"_id": 0}).sort([("name", ASCENDING), ("created_at", ASCENDING)]))

    # Login failures, one counter per key (`user:<name>`, `address:<ip>`) in a fixed window from its first failure.

    def count_login_failure(self, key, window):
        """Count one failure atomically (parallel attempts each count); returns (failures, window start)."""
        return _count_in_window(self.db.login_failures, key, window)

    def forgive_login_failure(self, key):
        self.db.login_failures.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    def clear_login_failures(self, key):
        self.db.login_failures.delete_one({"_id": key})

    # Rate limits at the edge, one counter per `<bucket>:<HMAC of the key>` in a fixed window from its first hit.

    def count_rate_limit_hit(self, key, window):
        """Count one hit atomically; returns (hits in the window, this one included, window start)."""
        return _count_in_window(self.db.rate_limits, key, window)

    def purge_counters(self, opened_before):
        """Drop rate-limit and login-failure counters whose window opened before `opened_before` (every window
        is far shorter): otherwise one counter per client ever seen stays for good. Revocations of tokens that
        had expired by then go too. Returns how many went."""
        counters = sum(self.db[name].delete_many({"window_started_at": {"$lt": opened_before}}).deleted_count
                       for name in COUNTER_COLLECTIONS)
        expired = sum(self.db[name].delete_many({"expires_at": {"$lt": opened_before}}).deleted_count
                      for name in ("revoked_tokens", "work_proofs"))
        return counters + expired

    # Proofs of work past the per-address limit: each challenge's nonce passes once, kept until it expires.

    def claim_work_proof(self, nonce, expires_at):
        """True the first time `nonce` is claimed, False after (a proof sent twice passes once)."""
        try:
            self.db.work_proofs.insert_one({"_id": nonce, "expires_at": expires_at})
        except DuplicateKeyError:
            return False
        return True

    # Signed-out tokens: `_id` is the token's id (its `jti`), kept until the token would have expired anyway.

    def revoke_token(self, token_id, expires_at):
        self.db.revoked_tokens.update_one({"_id": token_id}, {"$set": {"expires_at": expires_at}}, upsert=True)

    def token_revoked(self, token_id):
        return self.db.revoked_tokens.find_one({"_id": token_id}, {"_id": 1}) is not None

    # The audit log: services/common/audit.py (insert and find only, so nothing can rewrite history).


def _count_in_window(collection, key, window):
    """One more in `key`'s counter of `collection`, in a fixed window that opens at the first count after the
    last one closed; returns (count, window start). Atomic, so parallel requests each count."""
    while True:
        current = now()
        record = collection.find_one_and_update(
            {"_id": key, "window_started_at": {"$gt": current - window}}, {"$inc": {"count": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if record is not None:
            return record["count"], record["window_started_at"]
        # No open window: start one, unless a parallel request has just done so (then count in that one).
        restarted = collection.update_one(
            {"_id": key, "window_started_at": {"$lte": current - window}},
            {"$set": {"window_started_at": current, "count": 1}},
        )
        if restarted.modified_count:
            return 1, current
        try:
            collection.insert_one({"_id": key, "window_started_at": current, "count": 1})
            return 1, current
        except DuplicateKeyError:
            continue
