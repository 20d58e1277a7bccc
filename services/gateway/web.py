"""The web (issue 7): the citizen portal and the officer console, server-rendered on the gateway.

`WebPages` is a mixin of GatewayService: Nameko collects the `@http` routes of its bases, so the pages
reuse the service's RPC proxies, `auth`, rate limits and the same audited action paths as the JSON API."""
import mimetypes
from pathlib import Path

from werkzeug.utils import safe_join
from werkzeug.wrappers import Response

from services.gateway.proxy import http
from services.gateway.web_admin import AdminPages
from services.gateway.web_console import ConsolePages
from services.gateway.web_portal import PortalPages

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MAX_AGE = 24 * 3600
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
                ".ico": "image/x-icon", ".md": "text/plain"}


def static_file(request, filename):
    """A file under static/ with caching headers (a day, then revalidated by ETag); 404 outside it."""
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not Path(path).is_file():
        return Response("Not found", status=404, mimetype="text/plain")
    suffix = Path(path).suffix
    mimetype = STATIC_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    response = Response(Path(path).read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.add_etag()
    return response.make_conditional(request)


class WebPages(PortalPages, ConsolePages, AdminPages):
    """Every page of the web; the pages themselves live in web_portal, web_console and web_admin."""

    @http("GET", "/static/<path:filename>")
    def static_files(self, request, filename):
        return static_file(request, filename)
