"""What every web page shares: the templates, the visitor's language and session, CSRF, errors and responses."""
import functools
import logging
import time
from pathlib import Path
from urllib.parse import urlencode

import eventlet
from jinja2 import Environment, FileSystemLoader
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.common.errors import (
    Forbidden, IllegalTransition, InvalidTrackingId, LaporError, NotFound, RateLimited, Unavailable, ValidationFailed,
)
from services.common.events import now
from services.gateway import policy, web_format, web_session, web_text
from services.gateway.dependencies import secret_key
from services.gateway.exceptions import MESSAGES, Unauthorized

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
REFERENCE_TTL_SECONDS = 300
# Statistics count over every report; a page view should not start those counts again each time.
FIGURES_TTL_SECONDS = 120
SECURITY_HEADERS = {
    # No inline script anywhere: every user-supplied string is escaped, and this stops whatever might slip by.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
ERROR_PAGES = {  # error → (HTTP status, catalogue key of the page's message)
    NotFound: (404, "error.not_found"), InvalidTrackingId: (400, None), Forbidden: (403, "error.forbidden"),
    Unavailable: (503, "error.unavailable"), IllegalTransition: (409, None), RateLimited: (429, None),
    ValidationFailed: (400, None),
}


class CsrfRefused(Exception):
    """A POST whose form token does not match the browser's session."""


class SignInNeeded(Exception):
    """A console page opened without a valid session: go to the sign-in page."""


def _environment():
    environment = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)
    environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return environment


class WebContext(DependencyProvider):
    """Per container: the signing secret, the templates, and a short-lived cache of reference data."""

    def setup(self):
        self.secret_key = secret_key(self.container.config)
        self.environment = _environment()
        self.cache = {}

    def get_dependency(self, worker_ctx):
        return WebTools(self.secret_key, self.environment, self.cache)


class WebTools:
    def __init__(self, secret_key_, environment, cache):
        self.secret_key = secret_key_
        self.environment = environment
        self.cache = cache

    def cached(self, key, load, ttl_seconds=REFERENCE_TTL_SECONDS):
        """Regions, agencies and categories change rarely, figures need not be to the second: kept a while
        rather than asked on every page."""
        hit = self.cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        self.cache[key] = (time.monotonic() + ttl_seconds, value)
        return value


class Visit:
    """One request as the pages see it: language, the officer signed in (if any), CSRF and cookies to set."""

    def __init__(self, request, tools):
        self.request = request
        self.tools = tools
        args, cookies = request.args, request.cookies
        self.lang = web_text.choose_language(args.get("lang"), cookies.get(web_session.LANGUAGE_COOKIE))
        self.remember_lang = args.get("lang") in web_text.LANGUAGES
        self.browser = cookies.get(web_session.BROWSER_COOKIE)
        self.new_browser = None if self.browser else web_session.new_browser_value()
        self.session_token = cookies.get(web_session.SESSION_COOKIE)
        self.principal = None
        self.secure = web_session.is_https(request.scheme, request.headers.get("X-Forwarded-Proto"))
        self.cookie_changes = []
        self.now = now()

    @property
    def binding(self):
        """What the CSRF token is bound to: the officer's session once signed in, else the browser cookie."""
        return self.session_token if self.principal else (self.browser or self.new_browser)

    def csrf(self):
        return web_session.csrf_token(self.tools.secret_key, self.binding)

    def check_csrf(self, form):
        bound_to = self.session_token if self.principal else self.browser  # a cookie the browser really sent
        if not web_session.csrf_ok(self.tools.secret_key, bound_to, form.get("csrf_token")):
            raise CsrfRefused()

    def t(self, key, **values):
        return web_text.text(key, self.lang, **values)

    def set_cookie(self, name, value, max_age=None, path="/"):
        self.cookie_changes.append((name, value, web_session.cookie_options(self.secure, max_age, path)))

    def clear_cookie(self, name, path="/"):
        self.cookie_changes.append((name, None, {"path": path}))

    def lang_url(self, language):
        """This page in another language (the choice is then remembered in a cookie)."""
        args = self.request.args.to_dict()
        args["lang"] = language
        return f"{self.request.path}?{urlencode(args)}"

    def finish(self, response):
        """The response with the visit's cookies and the pages' security headers."""
        if self.remember_lang:
            self.set_cookie(web_session.LANGUAGE_COOKIE, self.lang, web_session.LANGUAGE_SECONDS)
        if self.new_browser:
            self.set_cookie(web_session.BROWSER_COOKIE, self.new_browser)
        for name, value, options in self.cookie_changes:
            if value is None:
                response.delete_cookie(name, path=options["path"], samesite="Strict", secure=self.secure,
                                       httponly=True)
            else:
                response.set_cookie(name, value, **options)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        # An officer's page, or a reporter's with the sealed access cookie, may show a reporter's contact.
        personal = self.principal or self.request.cookies.get(web_session.ACCESS_COOKIE)
        response.headers.setdefault("Cache-Control", "no-store" if personal else "no-cache")
        response.vary.add("Cookie")
        return response


def redirect(location, status=303):
    return Response("", status=status, headers={"Location": location})


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def web_page(handler):
    """Wrap a page: build the visit, turn errors into pages in the visitor's language, finish the response."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        visit = Visit(request, self.pages)
        self._sign_in_from_cookie(visit)
        try:
            response = handler(self, visit, *args, **kwargs)
        except SignInNeeded:
            response = redirect("/masuk?" + urlencode({"next": request.full_path.rstrip("?")}))
        except CsrfRefused:
            response = self._error_page(visit, 403, visit.t("error.csrf"))
        except LaporError as exc:
            status, key = ERROR_PAGES.get(type(exc), (500, "error.internal"))
            response = self._error_page(visit, status, visit.t(key) if key else _message(exc, visit.lang))
        except Exception:
            log.exception("unexpected error in page %s", handler.__name__)
            response = self._error_page(visit, 500, visit.t("error.internal"))
        return visit.finish(response)

    return wrapper


def _message(exc, language):
    """A service's message (Indonesian) or the gateway's headline in English."""
    if language == "id" and exc.message:
        return exc.message
    return MESSAGES.get(exc.code, MESSAGES["internal_error"])[language]


def error_text(exc, language):
    """What to show for a refused form or action, in the visitor's language."""
    if isinstance(exc, RateLimited):
        minutes = max(1, -(-exc.retry_after // 60))
        return web_text.text("error.rate_limited", language, minutes=minutes)
    return _message(exc, language)


class WebBase:
    """The helpers every page mixin uses; the service class provides the RPC proxies and `auth`."""

    pages = WebContext()

    def _sign_in_from_cookie(self, visit):
        """The officer behind the session cookie; a stale or revoked session is simply dropped."""
        if not visit.session_token:
            return
        try:
            visit.principal = self.auth.token_principal(visit.session_token)
        except Unauthorized:
            visit.session_token = None
            visit.clear_cookie(web_session.SESSION_COOKIE)

    def _require(self, visit, reader=None):
        """The signed-in officer, allowed to read `reader` (a policy.READERS key) when given."""
        if visit.principal is None or visit.principal["role"] not in policy.OFFICER_ROLES:
            raise SignInNeeded()
        if reader is not None and not policy.may_read(visit.principal["role"], reader):
            raise Forbidden("Peran Anda tidak berhak melihat ini.")
        return visit.principal

    def _render(self, visit, template, status=200, headers=None, **context):
        page = self.pages.environment.get_template(template).render(**self._base_context(visit), **context)
        return Response(page, status=status, headers=headers, mimetype="text/html")

    def _error_page(self, visit, status, message):
        return self._render(visit, "error.html", status=status, message=message)

    def _base_context(self, visit):
        lang = visit.lang
        return {
            "lang": lang, "t": visit.t, "visit": visit, "principal": visit.principal, "csrf": visit.csrf(),
            "path": visit.request.path, "may_read": lambda what: bool(visit.principal) and policy.may_read(
                visit.principal["role"], what),
            "may_do": lambda task: bool(visit.principal) and policy.may_do(visit.principal["role"], task),
            "label": lambda group, code: web_text.label(group, code, lang),
            "choices": lambda group: web_text.choices(group, lang),
            "dt": lambda value: web_format.format_datetime(value, lang),
            "day": lambda value: web_format.format_date(value, lang),
            "age": lambda value: web_format.format_age(value, visit.now, lang),
            "badge": lambda report: web_format.sla_badge(report, visit.now),
            "flash": self._flash(visit),
        }

    @staticmethod
    def _flash(visit):
        """A message after a redirect (`?ok=<catalogue key>`): only keys of the catalogue, so a link cannot
        make the site say anything else."""
        key = visit.request.args.get("ok")
        return visit.t(key) if key in web_text.MESSAGES else None

    def _reference(self, name, load):
        return self.pages.cached(name, load)

    def _figures(self, name, load):
        return self.pages.cached(name, load, FIGURES_TTL_SECONDS)

    def _regions(self):
        """(provinces, {province code: [regencies/cities]}) from routing, cached."""
        def load():
            provinces = self.routing.regions(level=1)
            regencies = {}
            for region in self.routing.regions(level=2):
                regencies.setdefault(region["parent_code"], []).append(region)
            return provinces, regencies
        return self._reference("regions", load)

    def _agencies(self):
        """Every agency (units included), cached: [agency], sorted by code."""
        return self._reference("agencies", lambda: self.routing.agencies())

    def _agency_names(self):
        return {agency["code"]: agency["name"] for agency in self._agencies()}

    def _public_agencies(self):
        """What a citizen or a national admin chooses from: agencies, not their internal units."""
        return [agency for agency in self._agencies() if agency.get("kind") != "unit"]

    def _categories(self):
        return self._reference("categories", lambda: self.intake.categories())

    def _in_parallel(self, calls):
        """Run independent RPCs at once (a page's figures): [result] in the order given."""
        pool = eventlet.GreenPool(min(len(calls), 10) or 1)
        return list(pool.imap(lambda call: call(), calls))


def field_errors(exc, language):
    return web_format.field_messages(exc.fields, language)
