"""HTTP plumbing for the gateway: JSON bodies within limits, JSON answers, errors in one shape."""
import functools
import json
import logging
import re

from werkzeug.wrappers import Response

from services.common.errors import LaporError, ValidationFailed
from services.gateway import proof_of_work
from services.gateway.exceptions import FILE_HEADLINES, HTTP_STATUS, MESSAGES, TooLarge, UnsupportedMediaType

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_PAGE = 1_000_000
# No body of ours nests a quarter as deep; a deeper one is refused (the parser itself would run out of stack).
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a view may depend on besides its URL; with any of the credentials, the view is one person's.
VARY_HEADERS = ("Authorization", "X-Access-Code", "X-API-Key", "Cookie")
CREDENTIAL_HEADERS = ("Authorization", "X-Access-Code", "X-API-Key")


def language(request):
    """'en' when the client prefers English, else Bahasa Indonesia."""
    best = request.accept_languages.best_match(["id", "en"], default="id")
    return "en" if best == "en" else "id"


def json_response(payload, status=200, headers=None):
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def read_json(request, empty_is_object=False):
    """The request's JSON body; 413 over 1 MiB, 415 for another media type, 400 for broken JSON.

    `empty_is_object`: an action whose every field is optional may be sent with no body at all."""
    raw = read_body(request)
    if empty_is_object and not raw.strip():
        return {}
    return parse_json(raw)


def read_body(request):
    """The raw bytes of a JSON request, for a webhook whose signature is over them; 413 and 415 as read_json."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise TooLarge()
    if request.mimetype not in ("application/json", ""):
        raise UnsupportedMediaType()
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise TooLarge()
    return raw


def parse_json(raw):
    """Bytes read by read_body as JSON; 400 when they are not, when they nest deeper than any body of ours
    (the parser itself would run out of stack), or when a string holds a lone surrogate (`"\\ud800"` is valid
    JSON but no valid text: it would fail later, in the store or on the bus)."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid_body(f"JSON tidak valid: {exc}", f"Invalid JSON: {exc}")
    except RecursionError:
        value = None
        problem = "too_deep"
    else:
        problem = _unfit(value)
    if problem == "too_deep":
        raise _invalid_body(f"JSON bersarang lebih dari {MAX_JSON_DEPTH} tingkat.",
                            f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
    if problem == "surrogate":
        raise _invalid_body("Teks berisi karakter yang tidak valid (surrogate tunggal).",
                            "Text holds an invalid character (a lone surrogate).")
    return value


def _invalid_body(indonesian, english):
    return ValidationFailed("Isi permintaan bukan JSON yang valid.",
                            fields={"_body": [{"id": indonesian, "en": english}]})


def _unfit(value):
    """"too_deep", "surrogate" or None for a parsed body; walked without recursion, so depth costs no stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "surrogate"
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return "too_deep"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return None


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def error_response(exc, lang):
    status = HTTP_STATUS.get(type(exc), 500)
    per_file = exc.code in FILE_HEADLINES and bool(exc.fields)  # an attachment refused: say which file
    headline = FILE_HEADLINES[exc.code] if per_file else MESSAGES.get(exc.code, MESSAGES["internal_error"])
    own = exc.message if lang == "id" else getattr(exc, "english", None)
    message = own if (own and exc.code != "validation_error") else headline[lang]
    error = {"code": exc.code, "message": message}
    if exc.code == "validation_error" or per_file:
        error["fields"] = {
            field: [m[lang] if isinstance(m, dict) else str(m) for m in messages]
            for field, messages in exc.fields.items()
        }
    if exc.code == "rate_limited" and exc.fields.get("challenge"):
        # a soft limit (services.gateway.proof_of_work): solve it and send the proof with the next try
        error["work"] = {"challenge": exc.fields["challenge"], "bits": exc.fields.get("work_bits"),
                         "header": proof_of_work.HEADER}
    headers = {"Retry-After": str(exc.retry_after)} if exc.code == "rate_limited" else None
    return json_response({"error": error}, status=status, headers=headers)


def api(handler):
    """Wrap an HTTP entrypoint so every error leaves in the DESIGN §4 shape, in the client's language."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        try:
            response = handler(self, request, *args, **kwargs)
        except LaporError as exc:
            response = error_response(exc, language(request))
        except Exception:
            log.exception("unexpected error in %s", handler.__name__)
            response = error_response(LaporError(), language(request))
        return kept_private(request, response)

    return wrapper


def kept_private(request, response):
    """Caches told what an answer depends on; an answer to a credential (the reporter's view with its contact,
    an officer's or a system's view) is never stored anywhere, refusals included."""
    if not isinstance(response, Response):
        return response
    response.vary.update(VARY_HEADERS)
    if any(request.headers.get(header) for header in CREDENTIAL_HEADERS):
        cache_control = response.headers.get("Cache-Control") or ""
        if "no-store" not in cache_control:
            response.headers["Cache-Control"] = "no-store"
    return response


def list_envelope(items, request, default_per_page=50, max_per_page=200):
    """Paginate an in-memory list into {items, page, per_page, total}."""
    page = _positive_int(request.args.get("page"), 1, "page")
    per_page = min(_positive_int(request.args.get("per_page"), default_per_page, "per_page"), max_per_page)
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "page": page, "per_page": per_page, "total": len(items)}


def _positive_int(text, default, field):
    if text in (None, ""):
        return default
    # Bounded, so a page's offset stays within what the store's skip takes (a signed 64-bit integer).
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationFailed(
            "Parameter tidak valid.",
            fields={field: [{"id": f"Harus bilangan bulat 1 sampai {MAX_PAGE}.",
                             "en": f"Must be a whole number from 1 to {MAX_PAGE}."}]},
        )
    return int(text)
