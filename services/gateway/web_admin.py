"""The admins' console pages: agencies and units (an agency admin adds units under its own agency), routing rules,
notification templates, the working-day calendar, failed notifications with resend, and officer accounts. Every
change goes through the gateway's audited `_admin_task`, with the same role checks as the API."""
from eventlet import tpool

from services.common.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from services.common.events import now
from services.common.field_errors import translate_message
from services.gateway import accounts, policy, web_format
from services.gateway.admin import AccountError, checked_fields
from services.gateway.proxy import http
from services.gateway.web_base import WebBase, error_text, field_errors, redirect, web_page

AGENCIES_PER_PAGE = 50
MESSAGES_PER_PAGE = 20
ACCOUNTS_PER_PAGE = 50
RULE_VERSIONS_PER_PAGE = 20
RULE_FIELD = "target-"  # + a taxonomy category: the form field of that category's target
LOCAL_TARGETS = ("local_regency", "local_province")
MESSAGE_STATUSES = ("dead", "failed", "pending", "held", "sent")
ACCOUNT_FIELDS = ("username", "role", "agency_code", "name", "password")


def page_of(items, page, per_page):
    """One page of a short list kept whole by its owner (agencies, accounts)."""
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "page": page, "per_page": per_page, "total": len(items)}


class AdminPages(WebBase):

    def _task(self, visit, task, details, call):
        """Run an administrative change as the API does (role check, audit), for the signed-in officer."""
        return self._admin_task(visit.request, task, details, call, principal=self._require(visit))

    # --- agencies and units ----------------------------------------------------------------------------

    @http("GET", "/konsol/instansi")
    @web_page
    def agencies_page(self, visit):
        self._require(visit, "agency_admin_pages")
        args = visit.request.args
        query = (args.get("q") or "").strip()
        agencies = self.routing.agencies(q=query or None)
        page = web_format.positive_page(args.get("page"))
        return self._render(visit, "admin_agencies.html", found=page_of(agencies, page, AGENCIES_PER_PAGE), q=query,
                            pager=web_format.pages(page, AGENCIES_PER_PAGE, len(agencies)),
                            agency_names=self._agency_names())

    @http("GET", "/konsol/instansi/<code>")
    @web_page
    def agency_page(self, visit, code):
        self._require_agency(visit, code)
        return self._agency(visit, code)

    def _require_agency(self, visit, code):
        """National admins open every agency; an agency admin its own and the units under it."""
        principal = self._require(visit)
        if not _may_open_agency(principal, code):
            raise Forbidden("Peran Anda tidak berhak melihat ini.")
        return principal

    def _agency(self, visit, code, status=200, errors=None, values=None, unit_errors=None, unit_values=None):
        agency = self.routing.agency(code)
        if agency is None:
            raise NotFound("Instansi tidak ditemukan.")
        principal = visit.principal
        if values is None and policy.may_do(principal["role"], "set_agency_contacts"):
            values = self.routing.agency_contacts(code)
        return self._render(visit, "admin_agency.html", status=status, agency=agency,
                            units=self.routing.agencies(parent_code=code), errors=errors or {},
                            contacts=values or {}, agency_names=self._agency_names(),
                            unit_errors=unit_errors or {}, unit=unit_values or {},
                            categories=self._rule_categories() if policy.may_do(principal["role"], "add_unit") else [],
                            may_open=lambda other: _may_open_agency(principal, other))

    @http("POST", "/konsol/instansi/<code>/unit")
    @web_page
    def unit_create_post(self, visit, code):
        form = visit.request.form
        visit.check_csrf(form)
        unit = unit_from_form(form)
        try:
            self._task(visit, "add_unit", {"agency_code": code, "name": unit["name"]},
                       lambda principal: self.routing.add_unit(code, unit, principal))
        except ValidationFailed as exc:
            return self._agency(visit, code, 400, unit_errors=top_level_errors(field_errors(exc, visit.lang)),
                                unit_values=unit)
        self.pages.cache.pop("agencies", None)  # dispose targets and names list it now, not in five minutes
        return redirect(f"/konsol/instansi/{code}?ok=admin.unit_added#units-title")

    def _rule_categories(self):
        """The triage taxonomy's categories [{category, label, target}]: what rules and units name."""
        return self._reference("rule_categories", lambda: self.routing.routing_rules()["defaults"])

    @http("POST", "/konsol/instansi/<code>/kontak")
    @web_page
    def agency_contacts_post(self, visit, code):
        form = visit.request.form
        visit.check_csrf(form)
        contacts = {key: (form.get(key) or "").strip() or None for key in ("email", "webhook_url",
                                                                           "webhook_secret_ref")}
        try:
            self._task(visit, "set_agency_contacts", {"agency_code": code},
                       lambda principal: self.routing.set_agency_contacts(code, contacts, principal))
        except ValidationFailed as exc:
            return self._agency(visit, code, 400, field_errors(exc, visit.lang), contacts)
        return redirect(f"/konsol/instansi/{code}?ok=common.done")

    # --- routing rules --------------------------------------------------------------------------------------

    @http("GET", "/konsol/aturan-rute")
    @web_page
    def routing_rules_page(self, visit):
        self._require(visit, "routing_rules")
        return self._routing_rules(visit)

    def _routing_rules(self, visit, status=200, errors=None, rules=None):
        """The current version as a form (or `rules` sent back with their errors beside each row), and history."""
        current, history = self._in_parallel([self.routing.routing_rules, self.routing.routing_rules_history])
        shown = current["rules"] if rules is None else rules
        categories = [row["category"] for row in current["defaults"]]
        page = web_format.positive_page(visit.request.args.get("page"))
        names, errors = self._agency_names(), rule_errors(errors or {}, shown, categories)
        return self._render(
            visit, "admin_rules.html", status=status, current=current, chosen=rule_choices(shown), errors=errors,
            invalid=[row for row in current["defaults"] if RULE_FIELD + row["category"] in errors],
            field_prefix=RULE_FIELD,
            targets=rule_targets(self._agencies(), [rule["target"] for rule in shown]),
            history=page_of(history, page, RULE_VERSIONS_PER_PAGE),
            history_pager=web_format.pages(page, RULE_VERSIONS_PER_PAGE, len(history)),
            category_labels={row["category"]: row["label"] for row in current["defaults"]},
            target_label=lambda target: rule_target_label(target, names, visit.t))

    @http("POST", "/konsol/aturan-rute")
    @web_page
    def routing_rules_post(self, visit):
        form = visit.request.form
        visit.check_csrf(form)
        rules = rules_from_form(form)
        expected_version = form.get("version")

        def save(principal):
            if str(self.routing.routing_rules()["version"]) != expected_version:
                raise IllegalTransition("Aturan disposisi sudah diubah orang lain; muat ulang lalu simpan lagi.")
            return self.routing.save_routing_rules({"rules": rules}, principal)
        try:
            self._task(visit, "save_routing_rules", {}, save)
        except ValidationFailed as exc:
            return self._routing_rules(visit, 400, field_errors(exc, visit.lang), rules)
        except IllegalTransition:
            return self._routing_rules(visit, 409, {"_form": [visit.t("admin.rules_stale")]})
        return redirect("/konsol/aturan-rute?ok=admin.rules_saved")

    # --- notification templates -----------------------------------------------------------------------

    @http("GET", "/konsol/templat")
    @web_page
    def templates_page(self, visit):
        self._require(visit, "notification_templates")
        return self._templates(visit)

    def _templates(self, visit, status=200, errors=None):
        return self._render(visit, "admin_templates.html", status=status, templates=self.notifications.templates(),
                            errors=errors or {})

    @http("POST", "/konsol/templat/<name>/<language>")
    @web_page
    def template_post(self, visit, name, language):
        form = visit.request.form
        visit.check_csrf(form)
        details = {"template": name, "language": language}
        try:
            if form.get("reset") == "1":
                self._task(visit, "reset_notification_template", details,
                           lambda principal: self.notifications.reset_template(name, language, principal))
            else:
                self._task(visit, "update_notification_template", details,
                           lambda principal: self.notifications.update_template(name, language, form.get("text"),
                                                                                principal))
        except ValidationFailed as exc:
            messages = [text for texts in field_errors(exc, visit.lang).values() for text in texts]
            return self._templates(visit, 400, {f"{name}/{language}": messages})
        return redirect(f"/konsol/templat?ok=common.done#{name}-{language}")

    # --- the working-day calendar -------------------------------------------------------------------------

    @http("GET", "/konsol/kalender")
    @web_page
    def calendar_page(self, visit):
        self._require(visit, "calendar")
        return self._calendar(visit, _year(visit.request.args.get("tahun"), visit))

    def _calendar(self, visit, year, status=200, errors=None, values=None):
        return self._render(visit, "admin_calendar.html", status=status, calendar=self.sla.calendar(year),
                            year=year, errors=errors or {}, values=values or {})

    @http("POST", "/konsol/kalender")
    @web_page
    def calendar_post(self, visit):
        form = visit.request.form
        visit.check_csrf(form)
        day, kind, note = (form.get("day") or "").strip(), form.get("kind"), (form.get("note") or "").strip() or None
        year = _year(day[:4], visit)
        if kind not in ("holiday", "working_day"):
            return self._calendar(visit, year, 400, {"kind": [visit.t("field.choose")]}, form)
        add = self.sla.add_holiday if kind == "holiday" else self.sla.add_working_day
        try:
            self._task(visit, "change_calendar", {"day": day, "kind": kind},
                       lambda principal: add(day, note, principal))
        except ValidationFailed as exc:
            return self._calendar(visit, year, 400, field_errors(exc, visit.lang), form)
        return redirect(f"/konsol/kalender?tahun={year}&ok=common.done")

    @http("POST", "/konsol/kalender/<day>/hapus")
    @web_page
    def calendar_remove_post(self, visit, day):
        visit.check_csrf(visit.request.form)
        self._task(visit, "change_calendar", {"day": day, "kind": None},
                   lambda principal: self.sla.remove_override(day, principal))
        return redirect(f"/konsol/kalender?tahun={_year(day[:4], visit)}&ok=common.done")

    # --- notifications that failed ------------------------------------------------------------------------

    @http("GET", "/konsol/notifikasi")
    @web_page
    def notifications_page(self, visit):
        self._require(visit, "notifications")
        args = visit.request.args
        status = args.get("status") if args.get("status") in MESSAGE_STATUSES else "dead"
        page = web_format.positive_page(args.get("page"))
        found = self.notifications.messages(tracking_id=(args.get("tracking_id") or "").strip() or None,
                                            status=status, page=page, per_page=MESSAGES_PER_PAGE)
        return self._render(visit, "admin_notifications.html", found=found, message_status=status,
                            statuses=MESSAGE_STATUSES, pager=web_format.pages(page, MESSAGES_PER_PAGE,
                                                                              found["total"]))

    @http("POST", "/konsol/notifikasi/<message_id>/kirim-ulang")
    @web_page
    def resend_post(self, visit, message_id):
        visit.check_csrf(visit.request.form)
        try:
            self._task(visit, "resend_notification", {"message_id": message_id},
                       lambda principal: self.notifications.resend(message_id, principal))
        except IllegalTransition as exc:
            return self._error_page(visit, 409, error_text(exc, visit.lang))
        return redirect("/konsol/notifikasi?ok=common.done")

    # --- officer accounts -----------------------------------------------------------------------------------

    @http("GET", "/konsol/akun")
    @web_page
    def accounts_page(self, visit):
        self._require(visit, "accounts")
        return self._accounts(visit)

    def _accounts(self, visit, status=200, errors=None, values=None):
        page = web_format.positive_page(visit.request.args.get("page"))
        everyone = self.storage.accounts()
        return self._render(visit, "admin_accounts.html", status=status,
                            found=page_of(everyone, page, ACCOUNTS_PER_PAGE), pager=web_format.pages(page, ACCOUNTS_PER_PAGE, len(everyone)), roles=accounts.ROLES,
                            errors=errors or {}, values=values or {}, agency_names=self._agency_names())

    @http("POST", "/konsol/akun")
    @web_page
    def account_create_post(self, visit):
        form = visit.request.form
        visit.check_csrf(form)
        fields = {key: (form.get(key) or "").strip() or None for key in ACCOUNT_FIELDS}
        fields["password"] = form.get("password") or ""
        try:
            self._task(visit, "create_account", {"account": fields["username"], "role": fields["role"]},
                       lambda principal: self._create_account(fields))
        except ValidationFailed as exc:
            values = {key: value for key, value in fields.items() if key != "password"}
            return self._accounts(visit, 400, field_errors(exc, visit.lang), values)
        return redirect("/konsol/akun?ok=common.done")

    def _create_account(self, fields):
        """The CLI's checks (services/gateway/admin.py), the password hashed off the event loop."""
        try:
            loaded = checked_fields(fields, self.routing.agency)
        except AccountError as exc:
            raise ValidationFailed("Isian akun tidak valid.", fields=_account_problems(str(exc)))
        account = accounts.new_account(loaded, tpool.execute(accounts.hash_password, loaded["password"]), now())
        if not self.storage.insert_account(account):
            raise ValidationFailed("Nama pengguna sudah dipakai.", fields={"username": [
                {"id": "Nama pengguna sudah dipakai.", "en": "This username is taken."}]})
        return {"username": account["_id"]}

    @http("POST", "/konsol/akun/<username>/<change>")
    @web_page
    def account_state_post(self, visit, username, change):
        visit.check_csrf(visit.request.form)
        if change not in ("nonaktifkan", "aktifkan"):
            raise NotFound("Tindakan tidak dikenal.")
        disable = change == "nonaktifkan"
        task = "disable_account" if disable else "enable_account"

        def apply(principal):
            if not self.storage.set_disabled(username, now() if disable else None):
                raise NotFound("Akun tidak ditemukan.")
        self._task(visit, task, {"account": username}, apply)
        return redirect("/konsol/akun?ok=common.done")


def _year(text, visit):
    return int(text) if text and text.isdigit() and 2000 <= int(text) <= 2100 else visit.now.year


def _account_problems(message):
    """The CLI's 'field: problem; field: problem' (English) as bilingual field errors."""
    problems = {}
    for part in message.split("; "):
        field, _, problem = part.partition(": ")
        problems.setdefault(field if problem else "_form", []).append(translate_message(problem or part))
    return problems


def _may_open_agency(principal, code):
    """Who opens an agency's console page: readers of every agency, or one who may add units within its scope."""
    role = principal["role"]
    return policy.may_read(role, "agency_admin_pages") or (
        policy.may_do(role, "add_unit") and code in (principal.get("scope") or []))


def unit_from_form(form):
    """The `add_unit` body from the unit form: blanks left out as None, the code in capitals."""
    code = (form.get("code") or "").strip().upper()
    email = (form.get("email") or "").strip()
    return {"name": (form.get("name") or "").strip(), "code": code or None, "email": email or None,
            "categories": [category for category in form.getlist("categories") if category]}


def top_level_errors(errors):
    """Errors on `categories.3` and the like, shown beside the field they belong to."""
    shown = {}
    for path, texts in errors.items():
        shown.setdefault(path.split(".")[0], []).extend(texts)
    return shown


def rules_from_form(form):
    """The rules from the rules form, in its order: one per category given a target (a blank keeps the default)."""
    return [{"category": field[len(RULE_FIELD):], "target": value.strip()}
            for field, value in form.items(multi=True) if field.startswith(RULE_FIELD) and value.strip()]


def rule_choices(rules):
    return {rule["category"]: rule["target"] for rule in rules}


def rule_errors(errors, rules, categories):
    """Routing's `rules.<i>.<field>` errors beside the row of rule i's category; the rest above the form."""
    shown = {}
    for path, texts in errors.items():
        parts = path.split(".")
        index = int(parts[1]) if len(parts) == 3 and parts[0] == "rules" and parts[1].isdigit() else None
        category = rules[index]["category"] if index is not None and index < len(rules) else None
        key = RULE_FIELD + category if category in categories else "_form"
        shown.setdefault(key, []).extend(texts)
    return shown


def rule_targets(agencies, chosen):
    """The agencies a rule may name: national ones (no region), by name, plus any target already chosen."""
    national = sorted((agency for agency in agencies if not agency.get("region_code")),
                      key=lambda agency: agency["name"])
    listed, names = {agency["code"] for agency in national}, {agency["code"]: agency["name"] for agency in agencies}
    extra = [{"code": code, "name": names.get(code, code)} for code in dict.fromkeys(chosen)
             if code not in listed and code not in LOCAL_TARGETS]
    return national + extra


def rule_target_label(target, agency_names, t):
    if target in LOCAL_TARGETS:
        return t(f"admin.rules_{target}")
    name = agency_names.get(target)
    return f"{name} ({target})" if name else target
