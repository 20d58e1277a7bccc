"""The citizen portal: home, submit with its receipt, track (public and reporter views), feed, report, stats."""
import uuid
from urllib.parse import urlencode

from werkzeug.exceptions import RequestEntityTooLarge

from services.common.errors import (
    Forbidden, IdempotencyConflict, IllegalTransition, InvalidTrackingId, NotFound, RateLimited, TooLarge,
    UnsupportedMediaType, ValidationFailed,
)
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway import proof_of_work, web_format, web_session, web_text
from services.gateway.attachments import FORM_ALLOWANCE_BYTES, upload_of
from services.gateway.code_requests import REQUESTED, request_new_code
from services.gateway.http import MAX_BODY_BYTES
from services.gateway.limits import IP, READ
from services.gateway.proxy import http
from services.gateway.web_base import WebBase, error_text, field_errors, is_htmx, redirect, web_page
from services.intake.attachments import Candidate, check_files

ATTACHMENTS_FIELD = "attachments"
FORM_FIELDS_ALLOWANCE = 40  # the submit form's own fields, well above the ~20 it has
FEED_FILTERS = ("status", "agency", "region", "category", "type", "q", "from", "to")
FEED_PER_PAGE = 20
REGION_OPTIONS_LIMIT = 100
RECEIPT_PATH = "/lapor/terkirim"
# The reporter's actions: path segment → (tracking's action, the flash message after it).
REPORTER_ACTIONS = {"balas": ("reply", "track.replied"), "nilai": ("rate", "track.rated"),
                    "buka-kembali": ("reopen", "track.reopened")}


def _checked_id(tracking_id):
    if not is_valid_tracking_id(tracking_id):
        raise InvalidTrackingId("Nomor pelacakan tidak valid (periksa kembali angkanya).")
    return tracking_id


class PortalPages(WebBase):

    @http("GET", "/")
    @web_page
    def home_page(self, visit):
        return self._render(visit, "home.html")

    # --- submit -------------------------------------------------------------------------------------------

    @http("GET", "/lapor")
    @web_page
    def submit_page(self, visit):
        return self._submit_form(visit, {}, {})

    @http("POST", "/lapor")
    @web_page
    def submit_post(self, visit):
        request = visit.request
        try:
            form, uploads = web_uploads(request, self.attachment_limits)
        except RequestEntityTooLarge:  # the body was not read, so neither were the fields typed
            return self._submit_form(visit, {}, {"attachments": [visit.t("field.attachments_too_large")]}, 413)
        visit.check_csrf(form)
        try:
            self.rate_limits.check(IP, request.remote_addr, proof=form.get(proof_of_work.FORM_FIELD))
            if uploads:
                check_files([Candidate(u.filename, u.head, u.size) for u in uploads], self.attachment_limits)
            receipt = self.intake.submit(web_format.submission_from_form(form), channel="web",
                                         idempotency_key=_idempotency_key(form.get("idempotency_key")),
                                         attachments=self._stage(uploads) if uploads else None)
        except (ValidationFailed, TooLarge, UnsupportedMediaType) as exc:
            return self._submit_form(visit, form, field_errors(exc, visit.lang), 400)
        except RateLimited as exc:
            challenge = exc.fields.get("challenge")
            if not challenge:
                return self._submit_form(visit, form, {"_form": [error_text(exc, visit.lang)]}, 429)
            minutes = max(1, -(-exc.retry_after // 60))
            # past the soft per-address limit: the form again, with a challenge lapor.js solves (proof_of_work)
            return self._submit_form(visit, form, {"_form": [visit.t("submit.work", minutes=minutes)]}, 429,
                                     work={"challenge": challenge, "bits": exc.fields.get("work_bits")})
        except IdempotencyConflict as exc:
            return self._submit_form(visit, form, {"_form": [error_text(exc, visit.lang)]}, 409)
        sealed = web_session.seal(self.pages.secret_key, "receipt",
                                  {"tracking_id": receipt["tracking_id"], "access_code": receipt["access_code"]})
        # In a cookie of this browser, never in the URL: a URL is logged, kept in history and shared, and it showed
        # the code to whoever opened it (issue 13 item 7).
        visit.set_cookie(web_session.RECEIPT_COOKIE, sealed, web_session.RECEIPT_SECONDS, path=RECEIPT_PATH)
        return redirect(RECEIPT_PATH)

    def _submit_form(self, visit, values, errors, status=200, work=None):
        provinces, regencies = self._regions()
        categories = self._categories()
        return self._render(
            visit, "submit.html", status=status, values=values, errors=errors, provinces=provinces,
            regencies=regencies, agencies=self._public_agencies(), categories=categories["categories"]
            if isinstance(categories, dict) else categories,
            idempotency_key=values.get("idempotency_key") or uuid.uuid4().hex, work=work)

    @http("GET", RECEIPT_PATH)
    @web_page
    def receipt_page(self, visit):
        """The receipt once, to the browser that submitted: its cookie is cleared as the page shows it."""
        receipt = web_session.unseal(self.pages.secret_key, "receipt",
                                     visit.request.cookies.get(web_session.RECEIPT_COOKIE), web_session.RECEIPT_SECONDS)
        visit.clear_cookie(web_session.RECEIPT_COOKIE, path=RECEIPT_PATH)
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return self._render(visit, "receipt.html", status=200 if receipt else 410, headers=headers, receipt=receipt)

    # --- region and agency pickers (htmx fragments; the full lists are in the page without JavaScript) ------

    @http("GET", "/fragmen/wilayah")
    @web_page
    def region_options(self, visit):
        provinces, regencies = self._regions()
        province, query = visit.request.args.get("province"), (visit.request.args.get("q") or "").strip().lower()
        pool = regencies.get(province, []) if province else [r for group in regencies.values() for r in group]
        found = [region for region in pool if query in region["name"].lower()][:REGION_OPTIONS_LIMIT]
        return self._render(visit, "fragments/region_options.html", regions=found)

    @http("GET", "/fragmen/instansi")
    @web_page
    def agency_options(self, visit):
        query = (visit.request.args.get("q") or "").strip().lower()
        found = [agency for agency in self._public_agencies() if query in agency["name"].lower()
                 or query in agency["code"].lower()]
        return self._render(visit, "fragments/agency_options.html", agencies=found,
                            empty_label=visit.request.args.get("empty") or "field.agency_auto")

    # --- track --------------------------------------------------------------------------------------------

    @http("GET", "/lacak")
    @web_page
    def track_page(self, visit):
        tracking_id = (visit.request.args.get("id") or "").strip()
        if tracking_id:
            return redirect(f"/lacak/{tracking_id}") if is_valid_tracking_id(tracking_id) else self._render(
                visit, "track.html", status=400, values={"tracking_id": tracking_id},
                errors={"tracking_id": [visit.t("error.invalid_tracking_id")]})
        return self._render(visit, "track.html", values={}, errors={})

    @http("POST", "/lacak")
    @web_page
    def track_post(self, visit):
        """With the access code: remember it (sealed, HttpOnly) for this report, then show the reporter's view."""
        form = visit.request.form
        visit.check_csrf(form)
        tracking_id, code = (form.get("tracking_id") or "").strip(), (form.get("access_code") or "").strip()
        values = {"tracking_id": tracking_id}
        if not is_valid_tracking_id(tracking_id):
            return self._render(visit, "track.html", status=400, values=values,
                                errors={"tracking_id": [visit.t("error.invalid_tracking_id")]})
        if not code:
            return redirect(f"/lacak/{tracking_id}")
        try:
            self.tracking.report(tracking_id, access_code=code, client=visit.request.remote_addr)
        except (Forbidden, NotFound, RateLimited) as exc:
            message = error_text(exc, visit.lang) if isinstance(exc, RateLimited) else visit.t("track.code_wrong")
            return self._render(visit, "track.html", status=403, values=values, errors={"access_code": [message]})
        sealed = web_session.seal(self.pages.secret_key, "access", {"tracking_id": tracking_id, "access_code": code})
        visit.set_cookie(web_session.ACCESS_COOKIE, sealed, web_session.ACCESS_SECONDS, path="/lacak")
        return redirect(f"/lacak/{tracking_id}")

    @http("GET", "/lacak/<tracking_id>")
    @web_page
    def tracked_report_page(self, visit, tracking_id):
        return self._tracked_report(visit, _checked_id(tracking_id))

    def _tracked_report(self, visit, tracking_id, status=200, errors=None, form=None):
        code = self._remembered_code(visit, tracking_id)
        if code:
            try:
                client = visit.request.remote_addr
                report = self._with_attachments(self.tracking.report(tracking_id, access_code=code, client=client),
                                                "reporter")
                timeline = self.tracking.timeline(tracking_id, access_code=code, client=client)
                return self._render(visit, "track_report.html", status=status, report=report, timeline=timeline,
                                    reporter=True, errors=errors or {}, form=form or {})
            except (Forbidden, NotFound):
                visit.clear_cookie(web_session.ACCESS_COOKIE, path="/lacak")  # the code was replaced since
        report = self._with_attachments(self.tracking.report(tracking_id), "public")
        timeline = self.tracking.timeline(tracking_id)
        return self._render(visit, "track_report.html", status=status, report=report, timeline=timeline,
                            reporter=False, errors=errors or {}, form=form or {})

    def _remembered_code(self, visit, tracking_id):
        access = web_session.unseal(self.pages.secret_key, "access",
                                    visit.request.cookies.get(web_session.ACCESS_COOKIE), web_session.ACCESS_SECONDS)
        return access["access_code"] if access and access.get("tracking_id") == tracking_id else None

    @http("GET", "/lacak/<tracking_id>/lampiran/<attachment_id>")
    @web_page
    def tracked_attachment(self, visit, tracking_id, attachment_id):
        """An attachment as the reporter (with the remembered code) or the public may see it."""
        self.rate_limits.check(READ, visit.request.remote_addr)
        tracking_id = _checked_id(tracking_id)
        code = self._remembered_code(visit, tracking_id)
        if code:
            view = self.tracking.report(tracking_id, access_code=code, client=visit.request.remote_addr)
            return self._attachment_download(view, "reporter", attachment_id)
        return self._attachment_download(self.tracking.report(tracking_id), "public", attachment_id)

    @http("GET", "/laporan/<tracking_id>/lampiran/<attachment_id>")
    @web_page
    def public_attachment(self, visit, tracking_id, attachment_id):
        self.rate_limits.check(READ, visit.request.remote_addr)
        tracking_id = _checked_id(tracking_id)
        return self._attachment_download(self.tracking.report(tracking_id), "public", attachment_id)

    @http("POST", "/lacak/<tracking_id>/<action>")
    @web_page
    def reporter_action_post(self, visit, tracking_id, action):
        tracking_id = _checked_id(tracking_id)
        form = visit.request.form
        visit.check_csrf(form)
        if action == "lupakan":
            visit.clear_cookie(web_session.ACCESS_COOKIE, path="/lacak")
            return redirect(f"/lacak/{tracking_id}")
        if action == "kode-baru":
            request_new_code(self.tracking, self.rate_limits, tracking_id, visit.request.remote_addr)
            return redirect(f"/lacak/{tracking_id}?ok={REQUESTED}")
        if action not in REPORTER_ACTIONS:
            raise NotFound("Tindakan tidak dikenal.")
        name, done = REPORTER_ACTIONS[action]
        try:
            self.tracking.reporter_act(tracking_id, self._remembered_code(visit, tracking_id), name,
                                       web_format.action_body(name, form), client=visit.request.remote_addr)
        except ValidationFailed as exc:
            return self._tracked_report(visit, tracking_id, 400, {name: field_errors(exc, visit.lang)}, form)
        except (IllegalTransition, RateLimited) as exc:
            return self._tracked_report(visit, tracking_id, 409, {name: {"_form": [error_text(exc, visit.lang)]}},
                                        form)
        return redirect(f"/lacak/{tracking_id}?ok={done}")

    # --- the public feed and report page ----------------------------------------------------------------

    @http("GET", "/laporan")
    @web_page
    def feed_page(self, visit):
        self.rate_limits.check(READ, visit.request.remote_addr)
        args = visit.request.args
        filters = web_format.clean_query(args, FEED_FILTERS)
        page = web_format.positive_page(args.get("page"))
        errors = {}
        try:
            found = self.tracking.feed(dict(filters, page=page, per_page=FEED_PER_PAGE))
        except ValidationFailed as exc:
            errors = field_errors(exc, visit.lang)
            found = {"items": [], "page": 1, "per_page": FEED_PER_PAGE, "total": 0}
        provinces, regencies = self._regions()
        template = "fragments/feed_results.html" if is_htmx(visit.request) else "feed.html"
        return self._render(
            visit, template, found=found, pager=web_format.pages(page, FEED_PER_PAGE, found["total"]),
            filters=filters, errors=errors, provinces=provinces, regencies=regencies,
            agencies=self._public_agencies(), query_without_page=_query_string(filters))

    @http("GET", "/laporan/<tracking_id>")
    @web_page
    def public_report_page(self, visit, tracking_id):
        tracking_id = _checked_id(tracking_id)
        report = self._with_attachments(self.tracking.report(tracking_id), "public")
        return self._render(visit, "report.html", report=report, timeline=self.tracking.timeline(tracking_id),
                            support=None)

    @http("POST", "/laporan/<tracking_id>/dukung")
    @web_page
    def support_post(self, visit, tracking_id):
        tracking_id = _checked_id(tracking_id)
        visit.check_csrf(visit.request.form)
        support = self.tracking.support(tracking_id, visit.request.remote_addr)
        if is_htmx(visit.request):
            return self._render(visit, "fragments/support.html", report=support, support=support)
        done = "report.supported" if support["supported"] else "report.support_repeat"
        return redirect(f"/laporan/{tracking_id}?ok={done}")

    # --- statistics -----------------------------------------------------------------------------------------

    @http("GET", "/statistik")
    @web_page
    def stats_page(self, visit):
        stats, sla = self._in_parallel([lambda: self._figures("stats", self.tracking.stats),
                                        lambda: self._figures("sla", lambda: self.sla.figures({}))])
        volumes = self._weekly_volumes()
        names = self._agency_names()
        regions = {region["code"]: region["name"] for region in self._regions()[0]}
        for group in self._regions()[1].values():
            regions.update({region["code"]: region["name"] for region in group})
        return self._render(visit, "stats.html", stats=stats, sla=sla, volumes=volumes, agency_names=names,
                            region_names=regions, charts=_stats_charts(visit, stats, sla, volumes, names))

    def _weekly_volumes(self):
        """[(Monday, public reports created that week)], oldest first, as tracking counted them."""
        stats = self._figures("stats", self.tracking.stats)
        return [(row["week"], row["count"]) for row in stats.get("weekly") or []]


def web_uploads(request, limits):
    """(the form, [Upload] of the files chosen) of the submit form, read within the attachment limits: the
    form's own fields are small, the files at most what a report may carry."""
    request.max_content_length = limits.max_total_bytes + FORM_ALLOWANCE_BYTES
    request.max_form_memory_size = MAX_BODY_BYTES
    request.max_form_parts = limits.max_count + FORM_FIELDS_ALLOWANCE
    form = request.form
    uploads = [upload_of(storage) for storage in request.files.getlist(ATTACHMENTS_FIELD)]
    return form, [upload for upload in uploads if upload.filename or upload.size]  # a file input left empty


def _idempotency_key(value):
    """The form's own key (one per rendered form), so a double click or a resent POST files one report."""
    value = (value or "").strip()
    return value if 16 <= len(value) <= 128 and value.isascii() and value.isalnum() else None


def _query_string(filters):
    return urlencode(filters)


def _stats_charts(visit, stats, sla, volumes, names):
    """The data each chart draws (Chart.js reads it from a JSON block; the tables beside show the same)."""
    label = visit.t
    by_status = stats.get("by_status") or {}
    compliance = [(names.get(a["agency"]["code"]) or a["agency"]["name"] or a["agency"]["code"],
                   round((a["compliance_ratio"] or 0) * 100, 1)) for a in (sla.get("agencies") or [])
                  if a.get("compliance_ratio") is not None][:15]
    return {
        "status": {"labels": [web_text.label("status", s, visit.lang) for s in by_status],
                   "values": list(by_status.values()), "title": label("stats.by_status"), "kind": "bar"},
        "type": {"labels": [web_text.label("type", s, visit.lang) for s in (stats.get("by_type") or {})],
                 "values": list((stats.get("by_type") or {}).values()), "title": label("stats.by_type"),
                 "kind": "doughnut"},
        "volume": {"labels": [web_format.format_date(first, visit.lang) for first, _ in volumes],
                   "values": [count for _, count in volumes], "title": label("stats.volume"), "kind": "line"},
        "compliance": {"labels": [name for name, _ in compliance], "values": [value for _, value in compliance],
                       "title": label("stats.compliance") + " (%)", "kind": "bar"},
    }
