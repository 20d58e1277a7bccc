"""The officer console: sign-in, the inbox by role, a report with the actions the role may take, oversight."""
from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlencode

from services.common.errors import IllegalTransition, NotFound, RateLimited, ValidationFailed
from services.gateway import policy, web_format, web_session
from services.gateway.attachments import OFFICER_AUDIENCES
from services.gateway.exceptions import Unauthorized
from services.gateway.proxy import http
from services.gateway.web_base import WebBase, error_text, field_errors, redirect, web_page
from services.gateway.web_format import JAKARTA
from services.gateway.web_portal import _checked_id

INBOX_PER_PAGE = 20
DRILL_PER_PAGE = 20
OVERSIGHT_DAYS = 30
# Where each action makes sense, to show only the buttons that can work now (tracking decides for real:
# a stale page still gets its 409). Which roles may act is policy's alone.
ACTION_STATUSES = {
    "verify": ("received",), "reject": ("received",), "dispose": ("received", "verified", "disposed"),
    "decline": ("disposed",), "followups": ("disposed", "in_progress"), "request-info": ("disposed", "in_progress"),
    "complete": ("disposed", "in_progress"), "reopen": ("completed",),
    "archive": ("received", "verified", "disposed", "in_progress", "completed", "rejected"),
}
INBOX_STATUSES = {
    "national_admin": ("received", "verified"), "agency_admin": ("disposed", "in_progress"),
    "agency_officer": ("disposed", "in_progress"),
    "supervisor": ("received", "verified", "disposed", "in_progress"),
}


def allowed_actions(role, status):
    """The action segments to show: the role may take them (policy) and the status admits them."""
    return [segment for segment in policy.OFFICER_ACTIONS
            if policy.may_act(role, segment) and status in ACTION_STATUSES[segment]]


def province_of(region_code):
    return region_code.split(".")[0] if region_code else None


def compliance_by_province(agencies_figures, agency_regions):
    """Per province: the agencies' response figures added up, with the compliance ratio over the decided ones."""
    totals = defaultdict(lambda: {"disposed": 0, "answered_in_time": 0, "late": 0, "open": 0, "overdue": 0})
    for figures in agencies_figures:
        province = province_of(agency_regions.get(figures["agency"]["code"]))
        if province is None:
            continue
        for key in totals[province]:
            totals[province][key] += figures.get(key) or 0
    rows = []
    for province, row in sorted(totals.items()):
        decided = row["answered_in_time"] + row["late"] + row["overdue"]
        rows.append(dict(row, code=province, compliance_ratio=row["answered_in_time"] / decided if decided else None))
    return rows


class ConsolePages(WebBase):

    # --- sign in and out --------------------------------------------------------------------------------

    @http("GET", "/masuk")
    @web_page
    def login_page(self, visit):
        if visit.principal:
            return redirect(web_session.safe_next(visit.request.args.get("next")))
        return self._render(visit, "login.html", values={}, errors={}, next=visit.request.args.get("next") or "")

    @http("POST", "/masuk")
    @web_page
    def login_post(self, visit):
        form = visit.request.form
        visit.check_csrf(form)
        values = {"username": form.get("username") or ""}
        try:
            token = self.auth.login({"username": form.get("username") or "", "password": form.get("password") or ""},
                                    visit.request.remote_addr, self.routing.scope_of)
        except ValidationFailed as exc:
            return self._login_refused(visit, values, field_errors(exc, visit.lang), 400)
        except Unauthorized as exc:
            return self._login_refused(visit, values, {"_form": [error_text(exc, visit.lang)]}, 401)
        except RateLimited as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            response = self._login_refused(visit, values, {"_form": [visit.t("login.locked", minutes=minutes)]}, 429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        visit.set_cookie(web_session.SESSION_COOKIE, token["access_token"], token["expires_in"])
        return redirect(web_session.safe_next(form.get("next")))

    def _login_refused(self, visit, values, errors, status):
        return self._render(visit, "login.html", status=status, values=values, errors=errors,
                            next=visit.request.form.get("next") or "")

    @http("POST", "/keluar")
    @web_page
    def logout_post(self, visit):
        visit.check_csrf(visit.request.form)
        if visit.principal:
            try:
                self.auth.logout(visit.session_token, visit.request.remote_addr)
            except Unauthorized:
                pass  # signed out elsewhere meanwhile: nothing left to revoke
        visit.clear_cookie(web_session.SESSION_COOKIE)
        return redirect("/")

    # --- inbox and report ---------------------------------------------------------------------------------

    @http("GET", "/konsol")
    @web_page
    def inbox_page(self, visit):
        principal = self._require(visit, "officer_views")
        args = visit.request.args
        page = web_format.positive_page(args.get("page"))
        status = args.get("status") if args.get("status") in INBOX_STATUSES[principal["role"]] else None
        provinces = self._regions()[0]
        province = args.get("region") if args.get("region") in {p["code"] for p in provinces} else None
        filters = {key: value for key, value in (("status", status), ("region", province)) if value}
        found = self.tracking.inbox(principal, dict(filters, page=page, per_page=INBOX_PER_PAGE))
        triage = self._triage_of_all(found["items"]) if principal["role"] == "national_admin" else {}
        return self._render(visit, "console_inbox.html", found=found, triage=triage, status=status,
                            province=province, provinces=provinces, statuses=INBOX_STATUSES[principal["role"]],
                            agency_names=self._agency_names(), filters_query=urlencode(filters),
                            pager=web_format.pages(page, INBOX_PER_PAGE, found["total"]))

    def _triage_of_all(self, reports):
        """Routing's suggestion for each report of the page, asked at once."""
        ids = [report["tracking_id"] for report in reports]
        return dict(zip(ids, self._in_parallel([lambda i=i: self.routing.triage_of(i) for i in ids])))

    @http("GET", "/konsol/laporan/<tracking_id>")
    @web_page
    def console_report_page(self, visit, tracking_id):
        self._require(visit, "officer_views")
        return self._console_report(visit, _checked_id(tracking_id))

    def _console_report(self, visit, tracking_id, status=200, errors=None, form=None):
        principal = visit.principal
        report = self._with_attachments(self._officer_view(tracking_id, principal),
                                        OFFICER_AUDIENCES[principal["role"]])
        timeline = self.tracking.timeline(tracking_id, viewer=principal)
        actions = allowed_actions(principal["role"], report["status"])
        return self._render(
            visit, "console_report.html", status=status, report=report, timeline=timeline, actions=actions,
            errors=errors or {}, form=form or {}, agency_names=self._agency_names(),
            dispose_targets=self._dispose_targets(principal) if "dispose" in actions else [],
            decline_targets=self._public_agencies() if "decline" in actions else [])

    def _dispose_targets(self, principal):
        """A national admin disposes to any agency; an agency admin on to its own units."""
        if principal["role"] == "agency_admin":
            return [agency for agency in self._agencies() if agency.get("parent_code") == principal["agency_code"]
                    and agency.get("kind") == "unit"]
        return self._public_agencies()

    @http("GET", "/konsol/laporan/<tracking_id>/lampiran/<attachment_id>")
    @web_page
    def console_attachment(self, visit, tracking_id, attachment_id):
        principal = self._require(visit, "officer_views")
        tracking_id = _checked_id(tracking_id)
        return self._attachment_download(self._officer_view(tracking_id, principal),
                                         OFFICER_AUDIENCES[principal["role"]], attachment_id)

    @http("POST", "/konsol/laporan/<tracking_id>/<segment>")
    @web_page
    def console_action_post(self, visit, tracking_id, segment):
        principal = self._require(visit, "officer_views")
        tracking_id = _checked_id(tracking_id)
        form = visit.request.form
        visit.check_csrf(form)
        if segment not in policy.OFFICER_ACTIONS:
            raise NotFound("Tindakan tidak dikenal.")
        try:
            self._officer_action(visit.request, principal, tracking_id, segment,
                                 body=web_format.action_body(segment, form))
        except ValidationFailed as exc:
            return self._console_report(visit, tracking_id, 400, {segment: field_errors(exc, visit.lang)}, form)
        except IllegalTransition as exc:
            return self._console_report(visit, tracking_id, 409, {segment: {"_form": [error_text(exc, visit.lang)]}},
                                        form)
        try:
            self._officer_view(tracking_id, principal)
        except NotFound:
            return redirect("/konsol?ok=console.left_scope")  # declined on: no longer the officer's to see
        return redirect(f"/konsol/laporan/{tracking_id}?ok=console.done")

    # --- oversight (supervisors and national admins) --------------------------------------------------------

    @http("GET", "/konsol/pengawasan")
    @web_page
    def oversight_page(self, visit):
        self._require(visit, "oversight")
        today = visit.now.astimezone(JAKARTA).date()
        period = {"from": (today - timedelta(days=OVERSIGHT_DAYS - 1)).isoformat(), "to": today.isoformat()}
        # Officers' figures, confidential reports included: never under the public page's cache key.
        figures = self._figures(f"sla-oversight:{period['from']}",
                                lambda: self.sla.figures(period, include_confidential=True))
        agencies = figures.get("agencies") or []
        regions = {agency["code"]: agency.get("region_code") for agency in self._agencies()}
        provinces = {region["code"]: region["name"] for region in self._regions()[0]}
        ranked = sorted(agencies, key=lambda row: (row["compliance_ratio"] is None, row["compliance_ratio"] or 0))
        breaches = sorted([row for row in agencies if (row.get("late") or 0) + (row.get("overdue") or 0)],
                          key=lambda row: -((row.get("late") or 0) + (row.get("overdue") or 0)))
        volumes = self._weekly_volumes()
        return self._render(visit, "console_oversight.html", figures=figures, agencies=ranked, breaches=breaches,
                            by_province=compliance_by_province(agencies, regions), province_names=provinces,
                            volumes=volumes, agency_names=self._agency_names())

    @http("GET", "/konsol/pengawasan/instansi/<agency_code>")
    @web_page
    def oversight_agency_page(self, visit, agency_code):
        """Drill-down: the agency's open reports, overdue first, confidential ones too (never a reporter's
        identity: the list shows none)."""
        principal = self._require(visit, "oversight")
        names = self._agency_names()
        if agency_code not in names:
            raise NotFound("Instansi tidak ditemukan.")
        page = web_format.positive_page(visit.request.args.get("page"))
        found = self.tracking.inbox(principal, {"agency": agency_code, "page": page, "per_page": DRILL_PER_PAGE})
        return self._render(visit, "console_drill.html", found=found, agency_code=agency_code,
                            agency_name=names[agency_code], pager=web_format.pages(page, DRILL_PER_PAGE,
                                                                                    found["total"]))
