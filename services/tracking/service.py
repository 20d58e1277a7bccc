"""Tracking: the case file of every report and the only writer of its status (DESIGN §2)."""
import logging
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.events import event_handler
from services.common.entrypoints import rpc
from nameko.timer import timer

from services.common.access_codes import access_code_matches, generate_access_code, hash_access_code
from services.common.caller import GATEWAY, Caller
from services.common.dead_letters import DeadLetters
from services.common.errors import Unavailable
from services.common.field_errors import flatten_field_errors
from services.common.events import DEADLINE_BREACHED, DEADLINE_SET, REPORT_SUBMITTED, REPORT_UPDATED, now
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.outbox import (
    RELAY_GRACE_SECONDS, RELAY_INTERVAL_SECONDS, RELAY_LEASE_SECONDS, OutboxDispatcher, relay_unpublished,
)
from services.common.rpc import TimedRpc
from services.common.secrets import Secrets
from services.common.service_base import ObservedService
from services.tracking import domain
from services.tracking.exceptions import Forbidden, IllegalTransition, NotFound, RateLimited, ValidationFailed
from services.tracking.schemas import (
    ACTION_SCHEMAS, FeedQuerySchema, InboxQuerySchema, Open311QuerySchema, TransitionSchema, ViewerSchema,
    entry_actor,
)
from services.tracking.storage import TrackingRepository

log = logging.getLogger(__name__)

MAX_ID_BLOCK = 100_000
# An entry whose report never reached its version this long after it was written is an orphan.
ORPHAN_AGE_SECONDS = 60
JAKARTA = ZoneInfo("Asia/Jakarta")
NOT_FOUND = "Laporan tidak ditemukan."
OFFICER_INVALID = "Data petugas tidak valid."
STATS_TIMER_SECONDS = 20
COUNTER_PURGE_INTERVAL_SECONDS = 3600
COUNTER_RETENTION = timedelta(days=2)
STATS_REFRESH_LEASE_SECONDS = 300
AUTO_CLOSE_NOTE = "Ditutup otomatis: tidak ada tanggapan pelapor dalam 10 hari kerja."


def _auto_close_change(followup_version):
    """Completion by the system, only if nothing happened since the follow-up whose clock ran out."""
    return {"kind": "completed", "to_status": "completed", "expected_status": "in_progress",
            "expected_version": followup_version, "actor": {"role": "system"}, "automatic": True,
            "note": AUTO_CLOSE_NOTE}


def _load(schema, data, message):
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise ValidationFailed(message, fields=flatten_field_errors(exc.messages))


def _action(actions, name):
    if name not in actions:
        raise ValidationFailed("Tindakan tidak dikenal.", fields={"action": [
            {"id": f"Harus salah satu dari: {', '.join(actions)}.", "en": f"Must be one of: {', '.join(actions)}."}]})
    return actions[name]


class TrackingService(DeadLetters, ObservedService):
    name = "tracking"

    storage = MongoStore("lapor_tracking", TrackingRepository)
    outbox = OutboxDispatcher()
    intake = TimedRpc("intake")
    notifications = TimedRpc("notifications")
    secrets = Secrets()
    config = Config()
    # Officers' claims come from the gateway, and from routing, which passes an officer's (or its own) on.
    caller = Caller(claimants=(GATEWAY, "routing"))

    @event_handler("intake", REPORT_SUBMITTED, requeue_on_error=True)
    @once_per_event(REPORT_SUBMITTED)
    def on_report_submitted(self, event):
        report = domain.new_case(event)
        entry = domain.new_entry(report, "opened", "received", {"role": "system"}, event["submitted_at"])
        content = domain.case_content(report)
        self.storage.insert_entry(entry, domain.report_updated_event(report, entry, str(uuid.uuid4()), content))
        if self.storage.insert_report(report):
            self.metrics.counter("lapor_cases_opened", "Reports opened by tracking", ("channel",)).labels(
                report["channel"]
            ).inc()
        self._publish_after_reply(self.storage.get_entry(report["tracking_id"], 1))

    @event_handler("sla", DEADLINE_SET, requeue_on_error=True)
    @once_per_event(DEADLINE_SET)
    def on_deadline_set(self, event):
        report = self.storage.get_report(event["tracking_id"])
        if report is None:
            raise NotFound(f"report {event['tracking_id']} not opened yet")  # retried: the case opens first
        clock_version = event.get("version") or 0
        if clock_version >= report["due_version"]:
            self.storage.set_due(report, event["due_at"], clock_version)

    @event_handler("sla", DEADLINE_BREACHED, requeue_on_error=True)
    @once_per_event(DEADLINE_BREACHED)
    def on_deadline_breached(self, event):
        """The automatic close: ten working days after a follow-up with no reply from the reporter."""
        report = self.storage.get_report(event["tracking_id"])
        if event["stage"] != "auto_close" or report is None or event.get("version") is None:
            return
        change = _load(TransitionSchema(), _auto_close_change(event["version"]), "Penutupan otomatis tidak valid.")
        try:
            self._record(report, change)
        except IllegalTransition as exc:
            # The report moved on since the follow-up (a reply, another follow-up): a stale breach.
            log.info("automatic close of %s skipped: %s", event["tracking_id"], exc)
            return
        self.metrics.counter("lapor_auto_closed", "Reports completed by the automatic close").inc()

    @rpc
    @unavailable_on_store_error
    def reserve_id_block(self, size=1000):
        if not isinstance(size, int) or not 1 <= size <= MAX_ID_BLOCK:
            raise ValidationFailed("block size out of range", fields={"size": [f"1..{MAX_ID_BLOCK}"]})
        return self.storage.reserve_id_block(size)

    @rpc
    @unavailable_on_store_error
    def transition(self, tracking_id, change):
        """The one way to change a report: compare-and-set on status and version, then `report_updated`."""
        self.caller.vouch((change or {}).get("actor") if isinstance(change, dict) else {}, "actor")
        change = _load(TransitionSchema(), change, "Permintaan perubahan tidak valid.")
        viewer = dict(change["actor"], scope=change.pop("expected_agency_scope"))
        report = self._within_scope(self._get(tracking_id), viewer["scope"])
        return self._view_after(report, self._record(report, change), viewer)

    @rpc
    @unavailable_on_store_error
    def act(self, tracking_id, action, actor, body):
        """An officer's follow-up, request for information, completion, reopening or archiving."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited(str(action), actor, tracking_id):
            action = _action(domain.OFFICER_ACTIONS, action)
            viewer = _load(ViewerSchema(), actor, OFFICER_INVALID)
            body = _load(ACTION_SCHEMAS[action.name](), body, "Isian tindakan tidak valid.")
            report = self._get(tracking_id)
            self._officer_audience(report, viewer)
            return self._view_after(report, self._take(report, action, viewer, body), viewer)

    @rpc
    @unavailable_on_store_error
    def reporter_act(self, tracking_id, access_code, action, body, client=None):
        """The reporter's reply, rating or reopening, with the access code (`client`: the caller's address)."""
        action = _action(domain.REPORTER_ACTIONS, action)
        body = _load(ACTION_SCHEMAS[action.name](), body, "Isian tidak valid.")
        report = self._require_access_code(tracking_id, access_code, client)
        updated = self._take(report, action, {"role": "reporter"}, body, guard=self._reporter_guard)
        return self._view(updated, "reporter")

    @rpc
    @unavailable_on_store_error
    def support(self, tracking_id, client_address):
        """Dukungan: one per report and client address; a repeat changes nothing."""
        key = self._supporter_key(tracking_id, client_address)
        self._audience(self._get(tracking_id), None)  # the public's: a confidential report is 404
        legacy = domain.legacy_supporter_key(self.secrets.secret_key, tracking_id, client_address)
        supported = self.storage.add_support(key, tracking_id, also_known_as=legacy)
        return {"tracking_id": tracking_id, "support_count": self._get(tracking_id)["support_count"],
                "supported": supported}

    @rpc
    @unavailable_on_store_error
    def reissue_access_code(self, tracking_id):
        """A new code to the contact on file (by RPC, never on the bus); answers None whatever happens."""
        report = self.storage.get_report(tracking_id)
        if report is not None and report.get("reporter_ref") and self._within_reissue_limit(tracking_id):
            self._reissue(report)
        return None

    @rpc
    @unavailable_on_store_error
    def report(self, tracking_id, access_code=None, viewer=None, client=None):
        """The report as an officer (`viewer`), its reporter (`access_code`, from the address `client`) or the
        public sees it."""
        return self._view(*self._seen(tracking_id, access_code, self.caller.vouch(viewer, "viewer"), client))

    @rpc
    @unavailable_on_store_error
    def timeline(self, tracking_id, access_code=None, viewer=None, client=None):
        report, audience = self._seen(tracking_id, access_code, self.caller.vouch(viewer, "viewer"), client)
        return domain.timeline_view(self.storage.entries(tracking_id, report["version"]), audience)

    @rpc
    @unavailable_on_store_error
    def inbox(self, viewer, query):
        """An officer's work list: the national queue, an agency's open reports, or every open report."""
        viewer = self.caller.vouch(viewer if viewer is not None else {}, "viewer")
        query = _load(InboxQuerySchema(), query, "Parameter kotak masuk tidak valid.")
        audience, statuses, agency_codes, sort = self._inbox_of(_load(ViewerSchema(), viewer, OFFICER_INVALID), query)
        reports, total = self.storage.find_inbox(statuses, agency_codes, sort, query["page"], query["per_page"],
                                                 region=query.get("region"))
        return domain.views_page(reports, now(), audience, query["page"], query["per_page"], total)

    @rpc
    @unavailable_on_store_error
    def stats(self):
        """Counts of non-confidential reports by status, channel, type, agency, region and week; one confidential
        total. Served from the last count while it is younger than LAPOR_STATS_MAX_AGE_SECONDS (recounted in
        the background), because counting 100k reports takes seconds."""
        max_age = self._stats_max_age()
        snapshot = self.storage.stats_snapshot()
        if snapshot is not None and domain.is_fresh(snapshot[1], now(), max_age):
            return snapshot[0]
        if snapshot is None or max_age <= 0:
            return self._count_stats()
        if self.storage.claim_stats_refresh(STATS_REFRESH_LEASE_SECONDS):
            return self._count_stats_under_lease()
        return snapshot[0]  # being recounted by another worker: the older figures rather than a second count

    @timer(interval=COUNTER_PURGE_INTERVAL_SECONDS)
    def purge_access_counters(self):
        """Forget wrong-code and reissue counters two days on (their windows are 15 minutes and a day)."""
        removed = self.storage.purge_access_counters(now() - COUNTER_RETENTION)
        if removed:
            log.info("purged %s expired access-code counters", removed)

    @timer(interval=STATS_TIMER_SECONDS, eager=True)
    def refresh_stats(self):
        """Recount before the snapshot gets too old to serve, so no page waits for the count."""
        max_age = self._stats_max_age()
        snapshot = self.storage.stats_snapshot()
        if max_age <= 0 or (snapshot and domain.is_fresh(snapshot[1], now(), max_age / 2)):
            return
        if self.storage.claim_stats_refresh(STATS_REFRESH_LEASE_SECONDS):
            self._count_stats_under_lease()

    @rpc
    @unavailable_on_store_error
    def feed(self, query):
        """The public feed: non-confidential reports, newest first, in the list envelope."""
        filters = _load(FeedQuerySchema(), query, "Parameter pencarian tidak valid.")
        page, per_page = filters.pop("page"), filters.pop("per_page")
        reports, total = self.storage.find_public(filters, page, per_page)
        return domain.views_page(reports, now(), "public", page, per_page, total)

    @rpc
    @unavailable_on_store_error
    def open311_requests(self, query):
        """Open311's GET requests: public views of non-confidential reports, newest first, at most `limit`.

        query: {ids} alone, or {statuses?, categories?, created_from?, created_until?}, each with `limit`."""
        query = _load(Open311QuerySchema(), query, "Parameter Open311 tidak valid.")
        filters = {"ids": query.get("ids"), "status": query.get("statuses"), "category": query.get("categories"),
                   "from": query.get("created_from"), "until": query.get("created_until")}
        reports, _ = self.storage.find_public(filters, 1, query["limit"], count=False)
        current = now()
        return [domain.report_view(report, current, audience="public") for report in reports]

    @timer(interval=RELAY_INTERVAL_SECONDS)
    def relay(self):
        """Publish timeline entries whose `report_updated` did not go out when they were written."""
        relay_unpublished(
            claim=lambda: self.storage.claim_unpublished_entry(RELAY_GRACE_SECONDS, RELAY_LEASE_SECONDS),
            skip=self._not_yet_part_of_the_case,
            publish=lambda entry: self.outbox.publish_now(REPORT_UPDATED, entry["event"]),
            mark_published=lambda entry: self.storage.mark_entry_published(entry["tracking_id"], entry["version"]),
        )
        self.record_outbox_backlog(self.storage.count_unpublished())

    def _not_yet_part_of_the_case(self, entry):
        """An entry whose report has not reached its version: wait, or drop it once it is an old orphan."""
        report = self.storage.get_report(entry["tracking_id"])
        if report is not None and report["version"] >= entry["version"]:
            return False
        if entry["written_at"] < now() - timedelta(seconds=ORPHAN_AGE_SECONDS):
            # The write after this entry never happened: it is not part of the case.
            self.storage.delete_entry(entry["tracking_id"], entry["version"])
        return True

    def _get(self, tracking_id):
        report = self.storage.get_report(tracking_id)
        if report is None:
            raise NotFound(NOT_FOUND)
        return report

    def _within_scope(self, report, scope):
        if scope is not None and report.get("agency_code") not in scope:
            raise NotFound(NOT_FOUND)  # outside the officer's agency: the ID reveals nothing
        return report

    def _supporter_key(self, tracking_id, client_address):
        if not isinstance(client_address, str) or not client_address:
            raise ValidationFailed("Alamat klien tidak diketahui.", fields={"client_address": [
                {"id": "Wajib diisi.", "en": "Missing data for required field."}]})
        return domain.supporter_key(self.secrets.secret_key, tracking_id, client_address)

    def _stats_max_age(self):
        return float(self.config.get("STATS_MAX_AGE_SECONDS", domain.DEFAULT_STATS_MAX_AGE_SECONDS))

    def _count_stats_under_lease(self):
        try:
            return self._count_stats()
        finally:
            self.storage.release_stats_refresh()

    def _count_stats(self):
        current = now()
        counts = {field: self.storage.count_public_by(field) for field in domain.STATS_FIELDS + domain.STATS_BUCKETS}
        names = self.storage.agency_names()
        mondays = domain.stats_weeks(current.astimezone(JAKARTA).date())
        stats = domain.stats_view(counts, names, counts["first_response_tenths"], self.storage.count_confidential(),
                                  domain.weekly_counts(counts["created_day"], mondays), current)
        self.storage.save_stats_snapshot(stats, current)
        return stats

    def _inbox_of(self, viewer, query):
        try:
            return domain.inbox_selection(viewer, query.get("status"), query.get("agency"))
        except domain.NotVisible:
            raise Forbidden("Peran ini tidak memiliki kotak masuk.")

    def _take(self, report, action, actor, body, guard=None):
        """An action through the one change path: role, status, the action's own rule, then `_record`."""
        if actor["role"] not in action.roles:
            raise Forbidden("Peran Anda tidak dapat melakukan tindakan ini.")
        try:
            change = domain.action_change(action, report, entry_actor(actor), body)
        except domain.TransitionNotAllowed:
            raise IllegalTransition(domain.refusal(action, report["status"]))
        extra = guard(report, action, body) if guard else {}
        return self._record(report, change, extra)

    def _reporter_guard(self, report, action, body):
        """A rating once per report; a reopening only within the window after completion."""
        if action.kind == "rated":
            if report.get("rating"):
                raise IllegalTransition("Laporan ini sudah dinilai; penilaian hanya dapat diberikan sekali.")
            return {"rating": {"score": body["score"], "comment": body.get("comment"), "at": now()}}
        if action.kind == "reopened":
            days = float(self.config.get("REOPEN_WINDOW_DAYS", domain.DEFAULT_REOPEN_WINDOW_DAYS))
            if not domain.within_reopen_window(report, now(), days):
                raise IllegalTransition(
                    f"Laporan hanya dapat dibuka kembali dalam {days:g} hari setelah dinyatakan selesai.")
        return {}

    def _within_reissue_limit(self, tracking_id):
        day = now().astimezone(JAKARTA).date().isoformat()
        return self.storage.count_reissue(tracking_id, day) <= domain.REISSUES_PER_DAY

    def _reissue(self, report):
        code = generate_access_code()
        if self._record_reissue(report, hash_access_code(self.secrets.secret_key, code)):
            self._send_access_code(report, code)

    def _record_reissue(self, report, code_hash):
        try:
            self._record(report, domain.reissue_change(report), {"pending_access_code_hash": code_hash})
        except IllegalTransition as exc:
            log.info("access code for %s not reissued: %s", report["tracking_id"], exc)
            return False
        return True

    def _send_access_code(self, report, code):
        try:
            self.notifications.send_access_code(report["tracking_id"], report["reporter_ref"], report["channel"], code)
        except Unavailable as exc:
            # The answer reveals nothing either way; the reporter may ask again (the old code still works).
            log.warning("new access code for %s not sent: %s", report["tracking_id"], exc)

    def _record(self, report, change, extra=None):
        """Check, claim the entry's version, compare-and-set the report, then announce the entry."""
        self._check_expectations(report, change)
        entry = self._claim_entry(report, change)
        updated = self._apply(report, entry, extra or {})
        self._publish_after_reply(self.storage.get_entry(report["tracking_id"], entry["version"]))
        return updated

    def _check_expectations(self, report, change):
        if change["expected_version"] is not None and change["expected_version"] != report["version"]:
            raise IllegalTransition(
                f"Laporan sudah berubah (versi {report['version']}, bukan {change['expected_version']}); "
                "muat ulang dan coba lagi."
            )
        if change["expected_status"] is not None and change["expected_status"] != report["status"]:
            raise IllegalTransition(f"Status laporan kini {domain.label(report['status'])}, "
                                    f"bukan {domain.label(change['expected_status'])}.")
        try:
            domain.check_transition(change["kind"], report["status"], change["to_status"])
        except domain.TransitionNotAllowed:
            raise IllegalTransition(f"Perubahan '{change['kind']}' dari status {domain.label(report['status'])} "
                                    f"ke {domain.label(change['to_status'])} tidak diizinkan.")

    def _claim_entry(self, report, change):
        details = {key: change[key] for key in ("agency_code", "agency_name", "case_class") if key in change}
        entry = domain.new_entry(
            report, change["kind"], change["to_status"], change["actor"], now(),
            automatic=change["automatic"], reason=change["reason"], note=change["note"], **details,
        )
        key = change.get("change_key")
        if key:
            entry["change_key"] = key
        event = domain.report_updated_event(report, entry, str(uuid.uuid4()))
        if not self.storage.insert_entry(entry, event):
            claimed = self.storage.get_entry(report["tracking_id"], entry["version"])
            if self._resumable(claimed, key):
                return claimed
            raise IllegalTransition("Laporan sedang diubah oleh pihak lain; muat ulang dan coba lagi.")
        return entry

    @staticmethod
    def _resumable(claimed, key):
        """The entry a first try of this very change claimed before the store or the broker went away (the report
        never reached it): the retry carries it on. Not once it is near the age at which the relay drops orphans."""
        return bool(key and claimed and claimed.get("change_key") == key
                    and claimed["written_at"] >= now() - timedelta(seconds=ORPHAN_AGE_SECONDS / 2))

    def _apply(self, report, entry, extra):
        changes = dict(domain.changes_for(report, entry), **extra)
        if not self.storage.compare_and_set(report, changes):
            self.storage.delete_entry(report["tracking_id"], entry["version"])
            raise IllegalTransition("Laporan sudah berubah; muat ulang dan coba lagi.")
        self.metrics.counter("lapor_transitions", "Status changes by kind", ("kind", "status")).labels(
            entry["kind"], entry["status"]
        ).inc()
        return dict(report, **changes)

    def _publish_after_reply(self, entry):
        if entry is None or entry.get("published"):
            return
        tracking_id, version = entry["tracking_id"], entry["version"]
        self.outbox.after_reply(
            REPORT_UPDATED, entry["event"], on_published=lambda: self.storage.mark_entry_published(tracking_id, version)
        )

    def _view(self, report, audience, may_see_contact=True):
        shown = may_see_contact and domain.shows_reporter(report, audience)
        reporter = self._reporter_contact(report) if shown else None
        return domain.report_view(report, now(), reporter=reporter, audience=audience)

    def _view_after(self, before, after, viewer):
        """The changed report as the officer who changed it sees it (no contact once it has left their scope)."""
        audience, may_see_contact = domain.audience_after(before, after, viewer)
        return self._view(after, audience, may_see_contact)

    def _seen(self, tracking_id, access_code, viewer, client):
        """(report, audience): an officer's with a viewer; else 'reporter' with the right code, 'public' with none."""
        if viewer is None and access_code is not None:
            return self._with_right_code(tracking_id, access_code, client), "reporter"
        report = self._get(tracking_id)
        return report, self._audience(report, viewer)

    def _audience(self, report, viewer):
        """An officer's audience with a viewer, else the public's (to whom a confidential report is 404)."""
        if viewer is not None:
            return self._officer_audience(report, _load(ViewerSchema(), viewer, OFFICER_INVALID))
        if report["confidential"]:
            raise NotFound(NOT_FOUND)
        return "public"

    def _officer_audience(self, report, viewer):
        try:
            return domain.audience_of(report, viewer)
        except domain.NotVisible:
            raise NotFound(NOT_FOUND)

    def _require_access_code(self, tracking_id, access_code, client):
        if not access_code:
            if self._get(tracking_id)["confidential"]:
                raise NotFound(NOT_FOUND)
            raise Forbidden("Kode akses diperlukan.")
        return self._with_right_code(tracking_id, access_code, client)

    def _with_right_code(self, tracking_id, access_code, client):
        """The report, for the holder of its code. A wrong code counts against this report from this client and
        against the client on any report, never against the report alone (a stranger would lock the reporter
        out). Locked, or wrong on an ID no report holds, the answer is a confidential report's: checked and
        counted before the lookup, so neither the lock nor the 404 tells that a hidden report exists."""
        counters = domain.access_failure_counters(self.secrets.secret_key, tracking_id, client)
        self._check_not_locked(counters)
        report = self.storage.get_report(tracking_id)
        if report is not None and self._code_matches(report, access_code):
            return report
        for counter_id, _ in counters:
            self.storage.count_access_failure(counter_id, domain.ACCESS_FAILURE_WINDOW)
        if report is None or report["confidential"]:
            raise NotFound(NOT_FOUND)
        raise Forbidden("Kode akses salah.")

    def _code_matches(self, report, access_code):
        """The current code, or a reissued one, which on first use replaces the old."""
        key = self.secrets.secret_key
        if access_code_matches(key, access_code, report["access_code_hash"]):
            return True
        pending = report.get("pending_access_code_hash")
        if pending and access_code_matches(key, access_code, pending):
            self.storage.promote_access_code(report["_id"], pending)
            return True
        return False

    def _check_not_locked(self, counters):
        """RateLimited while any counter is at its limit, with the wait until the last of them reopens."""
        waits = []
        for counter_id, limit in counters:
            failures, window_started_at = self.storage.access_failures(counter_id, domain.ACCESS_FAILURE_WINDOW)
            if failures >= limit:
                waits.append(int((window_started_at + domain.ACCESS_FAILURE_WINDOW - now()).total_seconds()) + 1)
        if waits:
            raise RateLimited("Terlalu banyak percobaan kode akses; coba lagi nanti.",
                              fields={"retry_after": max(waits)})

    def _reporter_contact(self, report):
        """The contact from intake; None (the view leaves `reporter` out) while intake cannot answer."""
        if not report.get("reporter_ref"):
            return {}
        try:
            return self.intake.contact(report["reporter_ref"]) or {}
        except Unavailable as exc:
            # The report is worth showing without it; a decline or an inbox must not wait on intake.
            log.warning("contact for %s not shown: %s", report["tracking_id"], exc)
            return None
