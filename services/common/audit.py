"""Each service's own audit log (DESIGN §9): the service that makes an officer-visible change records who made it,
as the caller vouched for it (services/common/caller.py), and every claim it refused.

The log lives in the service's own database, collection `audit`, insert and find only: nothing in a service can
rewrite it. The gateway's log of HTTP requests (sign-ins, who asked for what, from which address) is in the same
shape in lapor_gateway; a service's entry adds `service` and `broker_user`, the caller RabbitMQ vouched for.
"""
from pymongo import ASCENDING, DESCENDING

from services.common.mongo import count_matching

OUTCOME_OK = "ok"
OUTCOME_REFUSED = "refused"
OUTCOME_ERROR = "error"


def audit_entry(service, action, actor, broker_user, outcome, tracking_id, details, at):
    """One entry: who (the claim as vouched for, and the broker user that relayed it) did what, to which report."""
    actor = actor if isinstance(actor, dict) else {}
    return {
        "at": at,
        "service": service,
        "username": actor.get("username"),
        "role": actor.get("role"),
        "agency_code": actor.get("agency_code"),
        "action": action,
        "tracking_id": tracking_id,
        "outcome": outcome,
        "broker_user": broker_user,
        "details": details,
    }


class AuditLog:
    """Mixed into the repository of every service that takes claims: `class TrackingRepository(AuditLog, Repository)`."""

    def ensure_indexes(self):
        super().ensure_indexes()
        self.db.audit.create_index([("at", DESCENDING)])
        self.db.audit.create_index([("username", ASCENDING), ("at", DESCENDING)])
        self.db.audit.create_index([("tracking_id", ASCENDING), ("at", DESCENDING)])

    def insert_audit(self, entry):
        self.db.audit.insert_one(dict(entry))

    def find_audit(self, username=None, tracking_id=None, skip=0, limit=50, action=None):
        """(entries newest first, total) for the filters given."""
        query = {key: value for key, value in
                 (("username", username), ("tracking_id", tracking_id), ("action", action)) if value}
        newest_first = [("at", DESCENDING), ("_id", DESCENDING)]
        entries = list(self.db.audit.find(query, {"_id": 0}).sort(newest_first).skip(skip).limit(limit))
        return entries, count_matching(self.db.audit, query)
