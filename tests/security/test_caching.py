"""Issue 13, low item: answers that may carry a reporter's contact (the reporter's view with X-Access-Code, every
officer view) are never stored by a browser or a proxy, and every answer says which headers it varies by."""
import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.gateway import web_session
from services.gateway.service import GatewayService
from services.gateway.web_base import WebTools, _environment
from tests.security.samples import ADMIN as OFFICER, REPORT, SECRET, TRACKING_ID

VIEW = dict(REPORT, reporter={"name": "Siti", "phone": "+6281234567890", "email": "siti@example.id", "handle": None})
VARIES_BY = {"authorization", "x-access-code", "cookie"}


@pytest.fixture
def gateway():
    service = worker_factory(GatewayService, pages=WebTools(SECRET, _environment(), {}))
    service.tracking.report.return_value = dict(VIEW)
    service.tracking.timeline.return_value = []
    service.tracking.inbox.return_value = {"items": [], "page": 1, "per_page": 50, "total": 0}
    service.intake.attachments.return_value = []
    service.routing.triage_of.return_value = None
    service.auth.principal.return_value = None
    return service


def _get(path, **headers):
    return EnvironBuilder(path=path, headers=headers).get_request()


def _varies_by(response):
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}


def test_the_reporter_s_own_view_is_not_stored(gateway):
    response = gateway.get_report(_get(f"/api/v1/reports/{TRACKING_ID}", **{"X-Access-Code": "ABCD-EFGH"}),
                                  TRACKING_ID)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert VARIES_BY <= _varies_by(response)


@pytest.mark.parametrize("call", [
    lambda gateway, request: gateway.get_report(request, TRACKING_ID),
    lambda gateway, request: gateway.get_timeline(request, TRACKING_ID),
    lambda gateway, request: gateway.inbox(request),
], ids=["report", "timeline", "inbox"])
def test_officer_views_are_not_stored(gateway, call):
    gateway.auth.principal.return_value = dict(OFFICER)
    response = call(gateway, _get("/api/v1/x", Authorization="Bearer a-token"))
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert VARIES_BY <= _varies_by(response)


def test_a_refusal_to_a_credential_is_not_stored_either(gateway):
    from services.gateway.exceptions import Unauthorized
    gateway.auth.principal.side_effect = Unauthorized("x")
    response = gateway.inbox(_get("/api/v1/inbox", Authorization="Bearer stale"))
    assert response.status_code == 401 and "no-store" in response.headers.get("Cache-Control", "")


def test_the_public_view_varies_by_the_credentials_it_could_have_carried(gateway):
    public = dict(VIEW)
    del public["reporter"]
    gateway.tracking.report.return_value = public
    response = gateway.get_report(_get(f"/api/v1/reports/{TRACKING_ID}"), TRACKING_ID)
    assert response.status_code == 200 and VARIES_BY <= _varies_by(response)


def test_the_console_report_page_is_not_stored(gateway):
    gateway.auth.token_principal.return_value = dict(OFFICER)
    builder = EnvironBuilder(path=f"/konsol/laporan/{TRACKING_ID}")
    builder.headers.add("Cookie", f"{web_session.SESSION_COOKIE}=a-token")
    response = gateway.console_report_page(builder.get_request(), TRACKING_ID)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"] and "cookie" in _varies_by(response)
