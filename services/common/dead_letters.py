"""Parked events for operators: the RPCs every service that consumes events mixes in (issue 12, item 8).

    class RoutingService(DeadLetters, ObservedService): ...

`dead_events(query, actor)` lists the service's `dead_events` (newest first, filtered by event type, handler and
state, paged by skip/limit), each record shown without contact data or secrets. `replay_dead_events(selector,
actor)` delivers again one record (`{"id"}`) or every parked record of one event type (`{"event_type",
"handler"?}`, up to `limit` per call) through the handler's normal idempotent path (services/common/ledger.py).
The caller is a national admin through the gateway, or an operator's command on the bus (role `system`, run with
the gateway's broker user); either claim counts only from the gateway's broker user (services/common/caller.py).
Both the gateway and the owning service audit each replay; the owning service also keeps its record of each
replay on the parked record and in `event_replays`.
"""
import re
from datetime import datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.common.caller import Caller
from services.common.entrypoints import rpc
from services.common.errors import Forbidden, NotFound, Unavailable, ValidationFailed
from services.common.events import SCHEMAS
from services.common.field_errors import flatten_field_errors
from services.common.ledger import (
    OUTCOME_ALREADY_PROCESSED, OUTCOME_ALREADY_REPLAYED, OUTCOME_BUSY, OUTCOME_FAILED, OUTCOME_REPLAYED, PARKED,
    REPLAYED, ledger_handlers, replay_parked,
)
from services.common.mongo import unavailable_on_store_error

# National admins through the gateway; `system`: the operator's command (services/gateway/dead_events.py).
REPLAYING_ROLES = frozenset({"national_admin", "system"})
STATES = (PARKED, REPLAYED, "all")
OUTCOMES = (OUTCOME_REPLAYED, OUTCOME_ALREADY_PROCESSED, OUTCOME_ALREADY_REPLAYED, OUTCOME_FAILED, OUTCOME_BUSY)
MAX_LIST_LIMIT = 200
DEFAULT_REPLAY_LIMIT = 20  # one call stays well inside the gateway's RPC timeout
MAX_REPLAY_LIMIT = 200
EVENT_TYPES = tuple(sorted(SCHEMAS))

OPERATORS_ONLY = "Hanya admin nasional yang dapat melihat atau mengirim ulang event yang terparkir."
NOT_PARKED_HERE = "Event terparkir tidak ditemukan."
ONE_SELECTOR = "Give either id or event_type."
HANDLER_WITH_TYPE = "handler goes with event_type."
UNKNOWN_HANDLER = "Not a handler of this event type in this service."
INDONESIAN = {
    ONE_SELECTOR: "Isi salah satu: id atau event_type.",
    HANDLER_WITH_TYPE: "handler hanya dipakai bersama event_type.",
    UNKNOWN_HANDLER: "Bukan penangan jenis event ini di layanan ini.",
}

# What a list never shows of a payload (DESIGN §2, data minimisation): contact data and secrets, at any depth.
# Events carry only `reporter_ref`; these catch a producer (or an invalid payload) that carried more.
HIDDEN_KEYS = frozenset({
    "reporter", "contact", "contacts", "contact_encrypted", "phone", "phone_number", "msisdn", "mobile", "email",
    "e_mail", "handle", "twitter_handle", "recipient", "reporter_name", "reporter_phone", "reporter_email",
    "access_code", "access_code_hash", "password", "secret", "token", "webhook_secret",
})
HIDDEN = "[disembunyikan]"
# Identifiers, never free text: left as they are (a uuid's digits could look like a phone number).
ID_KEYS = frozenset({"event_id", "tracking_id", "reporter_ref", "clock_id", "outbox_id", "id", "_id"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])(?:\+?62|0)[\s.-]?8(?:[\s.-]?\d){7,12}(?!\d)")


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True)
    username = fields.String(allow_none=True, load_default=None)


class DeadEventQuerySchema(Schema):
    """`dead_events`: which records, and which slice of them."""

    class Meta:
        unknown = RAISE

    event_type = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(EVENT_TYPES))
    handler = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=100))
    status = fields.String(load_default=PARKED, validate=validate.OneOf(STATES),
                           metadata={"description": "parked (waiting, the default), replayed, or all."})
    skip = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10 ** 12))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=0, max=MAX_LIST_LIMIT))


class ReplaySchema(Schema):
    """What to deliver again: one record by `id`, or the parked records of one `event_type` (and `handler`)."""

    class Meta:
        unknown = RAISE

    id = fields.String(validate=validate.Length(min=1, max=300),
                       metadata={"description": "A parked record's id, as the list shows it."})
    event_type = fields.String(validate=validate.OneOf(EVENT_TYPES),
                               metadata={"description": "Every parked record of this event type."})
    handler = fields.String(validate=validate.Length(min=1, max=100),
                            metadata={"description": "With event_type: only this handler's records."})
    limit = fields.Integer(load_default=DEFAULT_REPLAY_LIMIT, validate=validate.Range(min=1, max=MAX_REPLAY_LIMIT),
                           metadata={"description": "With event_type: at most this many in one call "
                                                    "(`remaining` says how many are left)."})

    @validates_schema
    def one_selector(self, data, **kwargs):
        if ("id" in data) == ("event_type" in data):
            raise ValidationError(ONE_SELECTOR, "_schema")
        if "handler" in data and "event_type" not in data:
            raise ValidationError(HANDLER_WITH_TYPE, "handler")


def _load(schema, data, message="Isian tidak valid."):
    if not isinstance(data, dict):
        data = {} if data is None else data
    try:
        return schema.load(data)
    except ValidationError as exc:
        problems = flatten_field_errors(exc.messages)
        for messages in problems.values():
            for pair in messages:
                pair["id"] = INDONESIAN.get(pair["en"], pair["id"])
        raise ValidationFailed(message, fields=problems)


def _operator(actor):
    """The caller, if it may see and replay parked events (the same bare claim every RPC takes today)."""
    if not isinstance(actor, dict):
        raise Forbidden(OPERATORS_ONLY)
    actor = _load(ActorSchema(), actor, "Data petugas tidak valid.")
    if actor["role"] not in REPLAYING_ROLES:
        raise Forbidden(OPERATORS_ONLY)
    return actor


def _by(actor):
    return actor.get("username") or actor["role"]


# --- what a list shows ---------------------------------------------------------------------------------------

def mask_text(text):
    """Free text with e-mail addresses and Indonesian phone numbers taken out."""
    if not isinstance(text, str):
        return text
    return _PHONE.sub("[telepon]", _EMAIL.sub("[e-mail]", text))


def redact(value, key=None):
    """A payload as an operator may see it: contact data and secrets hidden, e-mails and phones masked."""
    if isinstance(value, dict):
        return {k: HIDDEN if str(k).lower() in HIDDEN_KEYS else redact(v, str(k).lower()) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, key) for item in value]
    if isinstance(value, str) and key not in ID_KEYS:
        return mask_text(value)
    return value


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def dead_event_view(service_name, record):
    payload = redact(record.get("payload"))
    return {
        "id": record["_id"],
        "service": service_name,
        "event_id": record.get("event_id"),
        "event_type": record.get("event_type"),
        "handler": record.get("handler"),
        "tracking_id": payload.get("tracking_id") if isinstance(payload, dict) else None,
        "status": record.get("status") or PARKED,
        "error": mask_text(record.get("error")),
        "attempts": record.get("attempts"),
        "parked_at": _iso(record.get("parked_at")),
        "replay_count": record.get("replay_count") or 0,
        "replayed_at": _iso(record.get("replayed_at")),
        "replayed_by": record.get("replayed_by"),
        "replay_outcome": record.get("replay_outcome"),
        "payload": payload,
    }


# --- the mixin -----------------------------------------------------------------------------------------------

class DeadLetters:
    """RPCs over the service's parked events; the service has `name`, `storage` (an EventLedger and an AuditLog)
    and `metrics`. `caller`: whose admin claims count (the gateway's; a service may widen it)."""

    caller = Caller()

    @rpc
    @unavailable_on_store_error
    def dead_events(self, query=None, actor=None):
        """{"items", "total", "skip", "limit"}: parked (or replayed) events, newest first, nothing personal."""
        _operator(self.caller.vouch(actor))
        query = _load(DeadEventQuerySchema(), query or {}, "Parameter tidak valid.")
        status = None if query["status"] == "all" else query["status"]
        records, total = self.storage.find_dead_events(query["event_type"], query["handler"], status,
                                                       query["skip"], query["limit"])
        return {"items": [dead_event_view(self.name, record) for record in records], "total": total,
                "skip": query["skip"], "limit": query["limit"]}

    @rpc
    @unavailable_on_store_error
    def replay_dead_events(self, selector, actor):
        """Deliver parked events again: {"service", "items": [{"id", "event_id", "event_type", "handler",
        "tracking_id", "outcome", "error"}], "counts": {outcome: n}, "remaining"}. Harmless to repeat: what is
        done stays done."""
        actor = _operator(self.caller.vouch(actor))
        selector = _load(ReplaySchema(), selector, "Permintaan kirim ulang tidak valid.")
        with self.caller.audited("dead_events_replayed", actor, details=selector):
            return self._replay_selected(selector, actor)

    def _replay_selected(self, selector, actor):
        """The replay itself, once the claim is vouched for and the selector valid."""
        if "id" in selector:
            ids, remaining = [selector["id"]], 0
        else:
            handler = selector.get("handler")
            if handler is not None and ledger_handlers(type(self)).get(handler) != selector["event_type"]:
                raise ValidationFailed("Permintaan kirim ulang tidak valid.", fields={"handler": [
                    {"id": INDONESIAN[UNKNOWN_HANDLER], "en": UNKNOWN_HANDLER}]})
            ids = self.storage.dead_event_ids(selector["event_type"], handler, selector["limit"])
            remaining = None
        items = []
        for record_id in ids:
            outcome, error = replay_parked(self, record_id, _by(actor))
            if outcome is None:
                if "id" in selector:
                    raise NotFound(NOT_PARKED_HERE)
                continue  # gone since it was listed
            record = self.storage.dead_event(record_id) or {}
            payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
            items.append({"id": record_id, "event_id": record.get("event_id"), "event_type": record.get("event_type"),
                          "handler": record.get("handler"), "tracking_id": payload.get("tracking_id"),
                          "outcome": outcome, "error": mask_text(error)})
            if outcome == OUTCOME_FAILED and error and error.startswith(f"{Unavailable.__name__}:"):
                break  # a dependency is away: the rest would only fail the same way (and slowly)
        if remaining is None:
            _, remaining = self.storage.find_dead_events(selector["event_type"], selector.get("handler"), PARKED,
                                                         0, 0)
            remaining -= sum(1 for item in items if item["outcome"] == OUTCOME_FAILED)
            remaining = max(remaining, 0)
        counts = {outcome: sum(1 for item in items if item["outcome"] == outcome) for outcome in OUTCOMES}
        return {"service": self.name, "items": items, "counts": counts, "remaining": remaining}
