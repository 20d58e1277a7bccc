"""The national admins' console pages: agencies and units, notification templates, the working-day calendar,
failed notifications with resend, and officer accounts. Every change goes through the gateway's audited
`_admin_task`, with the same role checks as the API."""
from eventlet import tpool
from nameko.web.handlers import http

from services.common.errors import IllegalTransition, NotFound, ValidationFailed
from services.common.events import now
from services.common.field_errors import translate_message
from services.gateway import accounts, web_format
from services.gateway.admin import AccountError, checked_fields
from services.gateway.web_base import WebBase, error_text, field_errors, redirect, web_page

AGENCIES_PER_PAGE = 50
MESSAGES_PER_PAGE = 20
ACCOUNTS_PER_PAGE = 50
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
        self._require(visit, "agency_admin_pages")
        return self._agency(visit, code)

    def _agency(self, visit, code, status=200, errors=None, values=None):
        agency = self.routing.agency(code)
        if agency is None:
            raise NotFound("Instansi tidak ditemukan.")
        return self._render(visit, "admin_agency.html", status=status, agency=agency,
                            units=self.routing.agencies(parent_code=code), errors=errors or {},
                            contacts=values if values is not None else self.routing.agency_contacts(code),
                            agency_names=self._agency_names())

    @http("POST", "/konsol/instansi/<code>/kontak")
    @web_page
    def agency_contacts_post(self, visit, code):
        form = visit.request.form
        visit.check_csrf(form)
        contacts = {key: (form.get(key) or "").strip() or None for key in ("email", "webhook_url",
                                                                           "webhook_secret_ref")}
        try:
            self._task(visit, "set_agency_contacts", {"agency_code": code},
                       lambda principal: self.routing.set_agency_contacts(code, contacts))
        except ValidationFailed as exc:
            return self._agency(visit, code, 400, field_errors(exc, visit.lang), contacts)
        return redirect(f"/konsol/instansi/{code}?ok=common.done")

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
                           lambda principal: self.notifications.reset_template(name, language))
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

