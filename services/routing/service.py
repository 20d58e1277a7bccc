"""Routing: agencies and regions, triage of each new report, and disposition through tracking."""
import logging
import re
import unicodedata
from contextlib import contextmanager
from datetime import timedelta

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.events import event_handler
from services.common.entrypoints import rpc
from nameko.timer import timer
from pymongo.errors import PyMongoError

from services.common.caller import Caller
from services.common.dead_letters import DeadLetters
from services.common.events import DEADLINE_BREACHED, REPORT_UPDATED, now
from services.common.field_errors import flatten_field_errors
from services.common.ledger import once_per_event
from services.common.mongo import MongoStore, unavailable_on_store_error
from services.common.rpc import TimedRpc
from services.common.service_base import ObservedService
from services.routing import domain, triage
from services.routing.dependencies import TriageEngine, stops_training
from services.routing.exceptions import Forbidden, IllegalTransition, NotFound, TrainingFailed, ValidationFailed
from services.routing.model import SKLEARN_VERSION, NotEnoughExamples
from services.routing.schemas import (AgencyContactsSchema, DeclineSchema, DisposeSchema, RejectSchema,
                                      RoutingRulesSchema, UnitSchema, VerifySchema)
from services.routing.storage import RoutingRepository

log = logging.getLogger(__name__)

AUTO_DISPOSE_NOTE = "Disposisi otomatis: instansi dipilih oleh pelapor."
TRAINING_LEASE = "triage_training"
TRAINING_LEASE_SECONDS = 600
RETRAIN_INTERVAL_SECONDS = 3600  # hourly; a run with no new disposition since the last model does nothing
# A missed deadline of these stages moves the report up the hierarchy; above the top is the national queue's.
ESCALATED_STAGES = {"response": "tanggapan", "completion": "penyelesaian"}
NATIONAL_QUEUE_AGENCY = "KEMENPANRB"
UNIT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.-]{1,63}$")
SLUG_MAX = 40


def _load(schema, body):
    try:
        return schema.load(body or {})
    except ValidationError as exc:
        raise ValidationFailed("Isian tindakan tidak valid.", fields=flatten_field_errors(exc.messages))


def _field_error(field, indonesian, english):
    return ValidationFailed("Isian tindakan tidak valid.", fields={field: [{"id": indonesian, "en": english}]})


def _slug(name):
    """An uppercase ASCII slug of a name ("Dinas Pendidikan" -> "DINAS-PENDIDIKAN"), cut at a word."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Z0-9]+", "-", ascii_name.upper()).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0]
    return slug or "UNIT"


def _entry_actor(actor):
    """What a timeline entry records of the officer: never their scope."""
    return {key: actor.get(key) for key in ("role", "username", "name", "agency_code", "agency_name")}


class RoutingService(DeadLetters, ObservedService):
    name = "routing"

    storage = MongoStore("lapor_routing", RoutingRepository)
    tracking = TimedRpc("tracking")
    triage = TriageEngine()
    config = Config()
    caller = Caller()  # officers' claims come from the gateway only

    @event_handler("tracking", REPORT_UPDATED, requeue_on_error=True)
    @once_per_event(REPORT_UPDATED)
    def on_report_updated(self, event):
        if event["kind"] == "opened":
            self._triage(event)
        else:
            self.storage.record_status(event["tracking_id"], event["version"], event["status"])
        self._record_queue_length()

    @rpc
    @stops_training
    @unavailable_on_store_error
    def retrain(self):
        """Train the triage model now on the corpus and every disposition so far; returns what was trained.
        An operator's call, through the gateway's broker user (make run's after_start): seconds of CPU each."""
        self.caller.require()
        return self._train(only_if_due=False)

    @timer(interval=RETRAIN_INTERVAL_SECONDS)
    @stops_training
    @unavailable_on_store_error
    def retrain_on_schedule(self):
        self._train(only_if_due=True)

    @event_handler("sla", DEADLINE_BREACHED, requeue_on_error=True)
    @once_per_event(DEADLINE_BREACHED)
    def on_deadline_breached(self, event):
        """A missed response or completion deadline: up to the parent agency, if the report is still there."""
        if event["stage"] in ESCALATED_STAGES and event.get("agency_code"):
            self._escalate(event)

    @rpc
    @unavailable_on_store_error
    def agencies(self, q=None, parent_code=None, tree=False):
        agencies = self.storage.find_agencies(q=q, parent_code=parent_code)
        return domain.agency_tree(agencies) if tree else agencies

    @rpc
    @unavailable_on_store_error
    def agency(self, code):
        return self.storage.agency(code)

    @rpc
    @unavailable_on_store_error
    def agency_contacts(self, code):
        """{email, webhook_url, webhook_secret_ref} for notifications; {} when the agency has none (or is unknown)."""
        return self.storage.agency_contacts(code) or {}

    @rpc
    @unavailable_on_store_error
    def set_agency_contacts(self, code, contacts, actor=None):
        """Set where notifications reaches an agency (e-mail, webhook); a seeded agency has none. Only through the
        gateway (a national admin's task there): a webhook set here receives the agency's notifications."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("set_agency_contacts", actor, details={"agency_code": code}):
            contacts = _load(AgencyContactsSchema(), contacts)
            if not self.storage.set_agency_contacts(code, contacts):
                raise NotFound("Instansi tidak ditemukan.")
            return contacts

    @rpc
    @unavailable_on_store_error
    def add_unit(self, parent_code, unit, actor):
        """A unit (dinas, kantor) under an agency, by a national admin or an admin of that agency's scope."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("add_unit", actor, details={"parent_code": parent_code}):
            return self._add_unit(parent_code, unit, actor)

    def _add_unit(self, parent_code, unit, actor):
        parent = self._known_agency(parent_code)
        if not (actor.get("role") == "national_admin" or (
                actor.get("role") == "agency_admin" and parent_code in (actor.get("scope") or []))):
            raise Forbidden("Anda hanya dapat menambah unit di bawah instansi Anda sendiri.")
        unit = _load(UnitSchema(), unit)
        self._check_categories("categories", unit["categories"])
        if unit["code"] is not None and not UNIT_CODE.match(unit["code"]):
            raise _field_error("code", "Gunakan 2-64 huruf kapital, angka, '.' atau '-'.",
                               "Use 2-64 uppercase letters, digits, '.' or '-'.")
        code = unit["code"] or self._free_code(f"{parent_code}-{_slug(unit['name'])}")
        record = {"code": code, "name": unit["name"].strip(), "kind": "unit", "parent_code": parent_code,
                  "region_code": parent.get("region_code"), "categories": unit["categories"]}
        contacts = {"email": unit["email"], "webhook_url": None, "webhook_secret_ref": None}
        if not self.storage.insert_agency(record, contacts):
            raise _field_error("code", "Kode instansi sudah dipakai.", "This agency code is already taken.")
        return self.storage.agency(code)

    @rpc
    @unavailable_on_store_error
    def routing_rules(self):
        """The current routing rules {version, rules: [{category, target}], saved_by, saved_at, defaults}."""
        return self._rules_view(self.storage.routing_rules())

    @rpc
    @unavailable_on_store_error
    def routing_rules_history(self):
        """Every saved version, newest first, down to version 0 (the taxonomy's own targets)."""
        return [self._rules_view(stored, defaults=False) for stored in self.storage.routing_rules_history()] + [
            self._rules_view(None, defaults=False)]

    @rpc
    @unavailable_on_store_error
    def save_routing_rules(self, rules, actor):
        """A national admin's new version of the rules (the whole set); triage follows it from its next report."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited("save_routing_rules", actor):
            return self._save_routing_rules(rules, actor)

    def _save_routing_rules(self, rules, actor):
        if actor.get("role") != "national_admin":
            raise Forbidden("Hanya admin nasional yang dapat mengubah aturan disposisi.")
        rules = self._checked_rules(_load(RoutingRulesSchema(), rules)["rules"])
        saved = self.storage.save_routing_rules(rules, _entry_actor(actor))
        if saved is None:
            raise IllegalTransition("Aturan disposisi baru saja diubah orang lain; muat ulang lalu simpan lagi.")
        return self._rules_view(saved)

    @rpc
    @unavailable_on_store_error
    def scope_of(self, code):
        """An agency and every unit below it: what its admins may see and act on."""
        agency = self._known_agency(code)
        return dict(agency, scope=[code] + self.storage.units_under(code))

    @rpc
    @unavailable_on_store_error
    def regions(self, q=None, level=None, parent_code=None):
        return self.storage.find_regions(q=q, level=level, parent_code=parent_code)

    @rpc
    @unavailable_on_store_error
    def triage_of(self, tracking_id):
        return self.storage.triage_of(tracking_id)

    @rpc
    @unavailable_on_store_error
    def verify(self, tracking_id, actor, body):
        with self._officer_change("verify", tracking_id, actor) as actor:
            action = _load(VerifySchema(), body)
            return self._transition(tracking_id, actor, action, kind="verified", to_status="verified",
                                    note=action["note"])

    @rpc
    @unavailable_on_store_error
    def reject(self, tracking_id, actor, body):
        with self._officer_change("reject", tracking_id, actor) as actor:
            action = _load(RejectSchema(), body)
            return self._transition(tracking_id, actor, action, kind="rejected", to_status="rejected",
                                    reason=action["reason"], note=action["note"])

    @rpc
    @unavailable_on_store_error
    def dispose(self, tracking_id, actor, body):
        with self._officer_change("dispose", tracking_id, actor) as actor:
            return self._dispose(tracking_id, actor, body)

    def _dispose(self, tracking_id, actor, body):
        action = _load(DisposeSchema(), body)
        agency = self._disposable_agency(actor, action["agency_code"])
        view = self._transition(tracking_id, actor, action, kind="disposed", to_status="disposed",
                                agency_code=agency["code"], agency_name=agency["name"],
                                case_class=action["case_class"], note=action["note"])
        if actor["role"] == "national_admin":
            self._learn_from(tracking_id, agency)
        return view

    @rpc
    @unavailable_on_store_error
    def decline(self, tracking_id, actor, body):
        """Bukan wewenang: on to the suggested agency, or back to the national queue; never dropped."""
        with self._officer_change("decline", tracking_id, actor) as actor:
            return self._decline(tracking_id, actor, body)

    def _decline(self, tracking_id, actor, body):
        action = _load(DeclineSchema(), body)
        report = self.tracking.report(tracking_id, viewer=actor)
        if report["agency"] is None:
            raise IllegalTransition("Laporan ini tidak sedang didisposisikan ke instansi mana pun.")
        suggested = self._suggested_agency(action["suggested_agency_code"])
        status, agency = domain.decline_destination(report["agency"]["code"], suggested, report["hops"])
        self.metrics.counter("lapor_declines", "Reports declined by an agency (bukan wewenang)", ("outcome",)).labels(
            "rerouted" if agency else "national_queue").inc()
        if action["version"] is None:
            action["version"] = report["version"]
        return self._transition(
            tracking_id, actor, action, kind="declined", to_status=status,
            agency_code=agency["code"] if agency else None, agency_name=agency["name"] if agency else None,
            reason=action["reason"], note=domain.decline_note(suggested, agency, report["hops"] + 1),
        )

    @contextmanager
    def _officer_change(self, action, tracking_id, actor):
        """An officer's change of a report: the claim vouched for (from the gateway only), audited here whatever
        the outcome; the block gets the actor."""
        actor = self.caller.vouch(actor if actor is not None else {})
        with self.caller.audited(action, actor, tracking_id):
            yield actor

    def _transition(self, tracking_id, actor, action, kind, to_status, **details):
        change = dict(kind=kind, to_status=to_status, expected_version=action["version"], actor=_entry_actor(actor),
                      **details)
        if actor.get("scope") is not None:
            change["expected_agency_scope"] = actor["scope"]
        return self.tracking.transition(tracking_id, change)

    def _escalate(self, event):
        breached = self.storage.agency(event["agency_code"]) or {"code": event["agency_code"], "name": None}
        target = self.storage.agency(breached.get("parent_code") or NATIONAL_QUEUE_AGENCY) or self.storage.agency(
            NATIONAL_QUEUE_AGENCY)
        if target is None or target["code"] == breached["code"]:
            return  # nobody above it
        note = (f"Eskalasi otomatis: tenggat {ESCALATED_STAGES[event['stage']]} terlewati oleh "
                f"{breached['name'] or breached['code']}; diteruskan ke {target['name']}.")
        try:
            report = self.tracking.report(event["tracking_id"], viewer={"role": "system"})
            # Only while the breached agency still holds it and nothing changed since we looked.
            self.tracking.transition(event["tracking_id"], {
                "kind": "escalated", "to_status": report["status"], "expected_status": report["status"],
                "expected_version": report["version"], "expected_agency_scope": [breached["code"]],
                "actor": {"role": "system"}, "automatic": True, "agency_code": target["code"],
                "agency_name": target["name"], "note": note})
        except (IllegalTransition, NotFound) as exc:
            log.info("escalation of %s skipped: %s", event["tracking_id"], exc)
            return
        self.metrics.counter("lapor_escalations", "Reports escalated after a missed deadline", ("stage",)).labels(
            event["stage"]).inc()

    def _free_code(self, code):
        """`code`, or `code-2`, `code-3`... : the first no agency has yet."""
        candidates = [code] + [f"{code}-{n}" for n in range(2, 21)]
        taken = self.storage.existing_agency_codes(candidates)
        return next((candidate for candidate in candidates if candidate not in taken), candidates[-1])

    def _check_categories(self, field, categories):
        known = self.triage.engine.taxonomy.by_name
        unknown = sorted(set(categories) - set(known))
        if unknown:
            raise _field_error(field, f"Kategori tidak dikenal: {', '.join(unknown)}.",
                               f"Unknown categories: {', '.join(unknown)}.")

    def _checked_rules(self, rules):
        """{category: target} of valid rules, with a bilingual error for each bad one."""
        known, problems = self.triage.engine.taxonomy.by_name, {}
        codes = {rule["target"] for rule in rules if rule["target"] not in triage.RULE_TARGETS}
        agencies = self.storage.existing_agency_codes(codes) if codes else set()
        seen = set()
        for index, rule in enumerate(rules):
            if rule["category"] not in known:
                problems[f"rules.{index}.category"] = [{"id": "Kategori tidak dikenal.", "en": "Unknown category."}]
            elif rule["category"] in seen:
                problems[f"rules.{index}.category"] = [{"id": "Kategori ini sudah punya aturan.",
                                                        "en": "This category already has a rule."}]
            seen.add(rule["category"])
            if rule["target"] not in triage.RULE_TARGETS and rule["target"] not in agencies:
                problems[f"rules.{index}.target"] = [{
                    "id": "Harus local_regency, local_province, atau kode instansi yang dikenal.",
                    "en": "Must be local_regency, local_province or a known agency code."}]
        if problems:
            raise ValidationFailed("Aturan disposisi tidak valid.", fields=problems)
        return {rule["category"]: rule["target"] for rule in rules}

    def _rules_view(self, stored, defaults=True):
        """A version as callers see it; `defaults`: the taxonomy's own target of each category, for reference."""
        stored = stored or {"version": 0, "rules": {}, "saved_by": None, "saved_at": None}
        saved_at = stored["saved_at"].isoformat() if stored["saved_at"] else None
        view = {"version": stored["version"], "saved_by": stored["saved_by"], "saved_at": saved_at,
                "rules": [{"category": category, "target": target}
                          for category, target in sorted(stored["rules"].items())]}
        if defaults:
            view["defaults"] = [{"category": category.name, "label": category.label,
                                 "target": triage.rule_target(category.target)}
                                for category in self.triage.engine.taxonomy.categories]
        return view

    def _known_agency(self, code):
        agency = self.storage.agency(code) if code else None
        if agency is None:
            raise NotFound("Instansi tidak ditemukan.")
        return agency

    def _disposable_agency(self, actor, code):
        agency = self.storage.agency(code)
        if agency is None:
            raise _field_error("agency_code", "Instansi tidak dikenal.", "Unknown agency.")
        scope = actor.get("scope") or []
        if not domain.may_dispose_to(actor, code, scope):
            raise _field_error("agency_code", "Instansi hanya dapat mendisposisikan ke unit di bawahnya.",
                               "An agency may only dispose to its own units.")
        return agency

    def _suggested_agency(self, code):
        if not code:
            return None
        agency = self.storage.agency(code)
        if agency is None:
            raise _field_error("suggested_agency_code", "Instansi yang disarankan tidak dikenal.",
                               "The suggested agency is unknown.")
        return agency

    def _triage(self, event):
        """Triage a newly opened report; auto-dispose it or link it as a duplicate when the record says so."""
        requested = self._requested_agency(event)
        settings = self._triage_settings()
        at = now()
        since = at - timedelta(days=settings.duplicate_window_days)
        record = self.triage.engine.assess(
            event, requested_agency=requested, model=self.triage.current_model(self.storage),
            open_reports=lambda region_code: self.storage.open_reports(region_code, since),
            settings=settings, now=at, overrides=self.triage.current_overrides(self.storage),
        )
        # A confidential report's words stay out of routing's index: it is never an original nor an example.
        text = "" if event["confidential"] else record.pop("text")
        record.pop("text", None)
        record = self.storage.save_triage(record)  # a redelivered `opened` acts on the first triage, not a new one
        self.storage.index_report(event["tracking_id"], record["region_code"], text, event["confidential"],
                                  event["at"])
        outcome, version = record["outcome"], event["version"]
        if record["duplicate_of"]:
            version = self._link_duplicate(event, record["duplicate_of"])
        if record["auto_dispose"] and not self._auto_dispose(event, record, version):
            outcome = "auto_dispose_refused"
        self.metrics.counter("lapor_triage_outcomes", "Triage of new reports by outcome", ("outcome",)).labels(
            outcome).inc()

    def _triage_settings(self):
        defaults = triage.TriageSettings()
        return triage.TriageSettings(
            threshold=float(self.config.get("AUTO_DISPOSE_THRESHOLD", defaults.threshold)),
            duplicate_similarity=float(self.config.get("DUPLICATE_SIMILARITY", defaults.duplicate_similarity)),
            duplicate_window_days=int(self.config.get("DUPLICATE_WINDOW_DAYS", defaults.duplicate_window_days)),
        )

    def _requested_agency(self, event):
        """The agency the reporter named, if it exists (an SMS prefix names a region for triage, not an agency)."""
        requested_code = (event.get("content") or {}).get("agency_code")
        return self.storage.agency(requested_code) if requested_code else None

    def _auto_dispose(self, event, record, version):
        """Dispose through tracking as the system (expecting `version`); False when the agency is unknown or
        tracking refuses."""
        agency = self.storage.agency(record["dispose_to"])
        if agency is None:
            log.warning("triage of %s named %s, not a known agency", event["tracking_id"], record["dispose_to"])
            return False
        change = {
            "kind": "disposed",
            "to_status": "disposed",
            "expected_status": "received",
            "expected_version": version,
            "change_key": f"{event['event_id']}:disposed",
            "actor": {"role": "system"},
            "automatic": True,
            "agency_code": agency["code"],
            "agency_name": agency["name"],
            "note": AUTO_DISPOSE_NOTE if record["requested_agency"] else _triage_note(record),
        }
        try:
            self.tracking.transition(event["tracking_id"], change)
        except IllegalTransition as exc:
            # The report moved on (a redelivered event, or an admin was faster): nothing to do.
            log.info("auto-disposition of %s skipped: %s", event["tracking_id"], exc)
            return False
        self.metrics.counter("lapor_auto_dispositions", "Reports disposed without a verifier").inc()
        return True

    def _link_duplicate(self, event, original):
        """Tell the newer reporter (a `duplicate_linked` entry) and count them once as the original's support,
        unless the newer report is confidential: a public count that moves would show it exists.

        Returns the report's version after the link (the event's own when the report had moved on already)."""
        counted = not event["confidential"]
        change = {
            "kind": "duplicate_linked",
            "to_status": event["status"],
            "expected_status": event["status"],
            "expected_version": event["version"],
            "change_key": f"{event['event_id']}:duplicate_linked",
            "actor": {"role": "system"},
            "automatic": True,
            "note": (f"Laporan ini serupa dengan laporan {original} yang masih ditangani di wilayah yang sama. "
                     + ("Keduanya ditautkan (tidak digabung) dan laporan ini dihitung sebagai dukungan." if counted
                        else "Keduanya ditautkan (tidak digabung); laporan rahasia tidak dihitung sebagai dukungan "
                             "publik.")),
        }
        version = event["version"]
        try:
            version = self.tracking.transition(event["tracking_id"], change)["version"]
        except IllegalTransition as exc:
            log.info("duplicate link of %s skipped: %s", event["tracking_id"], exc)
        try:
            if counted:
                self.tracking.support(original, f"duplicate:{event['tracking_id']}")
        except NotFound:
            log.info("original %s of duplicate %s is not visible; no support counted", original, event["tracking_id"])
        self.metrics.counter("lapor_duplicates_linked", "New reports linked to an open one as its duplicate").inc()
        return version

    def _record_queue_length(self):
        self.metrics.gauge("lapor_verification_queue", "Triaged reports waiting for a national admin").set(
            self.storage.count_queued())

    def _learn_from(self, tracking_id, agency):
        """A national admin's disposition becomes a training example (never a confidential report's text).

        Best effort: the disposition is done by now, and a lost example must not turn it into an error."""
        try:
            indexed = self.storage.indexed_report(tracking_id)
            if not indexed or not indexed.get("text") or indexed.get("confidential"):
                return
            target = triage.target_of_agency(agency, self._ancestors(agency))
            if target is not None:
                self.storage.save_training_example(tracking_id, indexed["text"], target, agency["code"])
        except PyMongoError as exc:
            log.warning("training example from %s not kept: %s", tracking_id, exc)

    def _ancestors(self, agency, limit=5):
        chain, parent_code = [], agency.get("parent_code")
        while parent_code and len(chain) < limit:
            parent = self.storage.agency(parent_code)
            if parent is None:
                break
            chain.append(parent)
            parent_code = parent.get("parent_code")
        return chain

    def _train(self, only_if_due):
        """Train under a lease so one replica trains at a time; the fit itself runs in a process of its own."""
        holder = self.triage.holder
        if not self.storage.claim_lease(TRAINING_LEASE, holder, TRAINING_LEASE_SECONDS):
            return {"trained": False, "reason": "another replica is training"}
        try:
            if only_if_due and not self._training_due():
                return {"trained": False, "reason": "no new disposition since the last model"}
            dispositions = self.storage.training_examples()
            try:
                fitted = self.triage.fit(dispositions)
            except NotEnoughExamples as exc:
                return {"trained": False, "reason": str(exc)}
            except TrainingFailed as exc:
                log.warning("triage model not trained: %s", exc)
                return {"trained": False, "reason": str(exc)}
            version = self.storage.save_model(
                fitted["blob"], classes=fitted["classes"], examples=fitted["examples"],
                temperature=fitted["temperature"], seconds=fitted["seconds"], dispositions=len(dispositions),
                sklearn_version=SKLEARN_VERSION,
            )
        finally:
            self.storage.release_lease(TRAINING_LEASE, holder)
        self.metrics.gauge("lapor_triage_model_version", "Version of the learned triage model in use").set(version)
        log.info("triage model %s trained on %s examples (%s dispositions) in %ss", version, fitted["examples"],
                 len(dispositions), fitted["seconds"])
        return {"trained": True, "version": version, "examples": fitted["examples"],
                "dispositions": len(dispositions), "classes": fitted["classes"], "seconds": fitted["seconds"]}

    def _training_due(self):
        stored = self.storage.model_version()
        if stored is None or stored.get("sklearn_version") != SKLEARN_VERSION:
            return True
        latest = self.storage.latest_example_at()
        return latest is not None and latest > stored["trained_at"]


def _triage_note(record):
    """The timeline's plain account of an automatic disposition by triage."""
    where = f" di {record['region_name']}" if record.get("region_name") else ""
    return (f"Disposisi otomatis oleh triase{where}: {record.get('category_label') or 'kategori tidak dikenali'}, "
            f"keyakinan {record['confidence']:.0%}.")
