"""Open311 GeoReport v2 under /open311/v2/ (DESIGN §4): a mixin of GatewayService, errors in the spec's shape."""
import functools
import logging

from nameko.dependency_providers import Config
from werkzeug.exceptions import RequestEntityTooLarge

from services.common.errors import LaporError, NotFound, ValidationFailed
from services.common.events import now
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway import limits, open311
from services.gateway.exceptions import HTTP_STATUS, MESSAGES, TooLarge, Unauthorized, UnsupportedMediaType
from services.gateway.http import MAX_BODY_BYTES, json_response, language
from services.gateway.proxy import http

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_ONLY = open311.text("Kirim sebagai formulir (application/x-www-form-urlencoded).",
                         "Send a form (application/x-www-form-urlencoded).")


def open311_api(handler):
    """Like http.api, for Open311: `.json` only, and every error as [{"code": status, "description"}]."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, fmt=None, **kwargs):
        lang = language(request)
        try:
            if fmt != "json":
                raise open311.Open311Error(404, [open311.ONLY_JSON])
            return handler(self, request, *args, **kwargs)
        except open311.Open311Error as exc:
            return _errors(exc.status, exc.descriptions, lang)
        except LaporError as exc:
            return _lapor_error(exc, lang)
        except Exception:
            log.exception("unexpected error in %s", handler.__name__)
            return _errors(500, [MESSAGES["internal_error"]], lang)

    return wrapper


def _errors(status, descriptions, lang, headers=None):
    return json_response(open311.error_body(status, descriptions, lang), status=status, headers=headers)


def _lapor_error(exc, lang):
    # A bad API key is 403 in Open311, whatever the REST API says about sessions.
    status = 403 if isinstance(exc, Unauthorized) else HTTP_STATUS.get(type(exc), 500)
    if isinstance(exc, ValidationFailed) and exc.fields:
        descriptions = open311.field_problems(exc.fields)
    else:
        headline = MESSAGES.get(exc.code, MESSAGES["internal_error"])
        descriptions = [open311.text(exc.message or headline["id"], headline["en"])]
    headers = {"Retry-After": str(exc.retry_after)} if exc.code == "rate_limited" else None
    return _errors(status, descriptions, lang, headers)


def _read_form(request):
    """The POST form as {field: [values]}; 413 over 1 MiB, 415 when it is not a form."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise TooLarge()
    if request.mimetype not in FORM_TYPES:
        raise UnsupportedMediaType(FORM_ONLY["id"])
    request.max_content_length = MAX_BODY_BYTES  # a chunked body has no length to check beforehand
    try:
        return request.form.to_dict(flat=False)
    except RequestEntityTooLarge:
        raise TooLarge()


class Open311Routes:
    """GeoReport v2 over the gateway's own dependencies: intake, tracking, auth and rate_limits."""

    config = Config()

    @http("GET", f"{PREFIX}/discovery.<fmt>")
    @open311_api
    def open311_discovery(self, request):
        # The configured address, not the Host header: a client must not be able to make us name another site.
        public_url = (self.config.get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")
        return json_response(open311.discovery(f"{public_url}{PREFIX}"))

    @http("GET", f"{PREFIX}/services.<fmt>")
    @open311_api
    def open311_services(self, request):
        lang = language(request)
        return json_response([open311.service_item(category, lang) for category in self.intake.categories()])

    @http("GET", f"{PREFIX}/services/<service_code>.<fmt>")
    @open311_api
    def open311_service_definition(self, request, service_code):
        category = open311.find_category(self._categories_by_code(), service_code)
        return json_response(open311.service_definition(category, language(request)))

    @http("GET", f"{PREFIX}/requests.<fmt>")
    @open311_api
    def open311_list_requests(self, request):
        self.rate_limits.check(limits.READ, request.remote_addr)
        query = open311.list_query(request.args.to_dict(flat=False), now())
        return self._open311_requests(request, self.tracking.open311_requests(query))

    @http("POST", f"{PREFIX}/requests.<fmt>")
    @open311_api
    def open311_create_request(self, request):
        """A report from another government system's client: form-encoded, with its `api_key`."""
        form = _read_form(request)
        key = open311.first_value(form, "api_key") or request.headers.get("X-API-Key")
        actor = self.auth.api_client(key)
        self.rate_limits.check(limits.API_KEY, key)
        report = open311.submission(form, self._categories_by_code())
        receipt = self.intake.submit(report, channel="open311", idempotency_key=None, client=actor["username"])
        self.auth.record(actor, "open311_submit", receipt["tracking_id"], "ok", request.remote_addr)
        return json_response(open311.created_answer(receipt, language(request)))

    @http("GET", f"{PREFIX}/requests/<service_request_id>.<fmt>")
    @open311_api
    def open311_get_request(self, request, service_request_id):
        return self._open311_requests(request, [self._open311_public_view(service_request_id)])

    @http("GET", f"{PREFIX}/tokens/<token>.<fmt>")
    @open311_api
    def open311_token(self, request, token):
        self._open311_public_view(token)
        return json_response(open311.token_answer(token))

    def _open311_public_view(self, tracking_id):
        """The public view; 404 alike for a malformed ID, an unknown one and a confidential report."""
        if not is_valid_tracking_id(tracking_id):
            raise open311.Open311Error(404, [open311.REQUEST_NOT_FOUND])
        try:
            return self.tracking.report(tracking_id)
        except NotFound:
            raise open311.Open311Error(404, [open311.REQUEST_NOT_FOUND])

    def _open311_requests(self, request, views):
        categories, lang = self._categories_by_code(), language(request)
        return json_response([open311.request_view(view, categories, lang) for view in views])

    def _categories_by_code(self):
        return {category["code"]: category for category in self.intake.categories()}
