"""Issue 13 item 7: the web receipt (tracking ID and access code) is shown once, to the browser that submitted the
report, from a cookie set on submit: no URL carries it (`/lapor/terkirim?tanda=…` opened in a browser with no
cookies showed a confidential report's code for 15 minutes), and the gateway's access log never holds a `tanda`."""
import logging

import pytest
import requests
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.gateway import web_session
from services.gateway.service import GatewayService
from services.gateway.web_base import WebTools, _environment
from services.intake.attachments import DEFAULT_LIMITS
from tests.security.samples import SECRET, TRACKING_ID

CODE = "ABCD-EFGH"
BROWSER = "browser-cookie-value"
RECEIPT = {"tracking_id": TRACKING_ID, "access_code": CODE, "status": "received"}


@pytest.fixture
def gateway():
    gateway = worker_factory(GatewayService, pages=WebTools(SECRET, _environment(), {}),
                             attachment_limits=DEFAULT_LIMITS)
    gateway.intake.submit.return_value = dict(RECEIPT)
    gateway.auth.token_principal.return_value = None
    return gateway


def _submit(gateway):
    builder = EnvironBuilder(path="/lapor", method="POST", data={
        "csrf_token": web_session.csrf_token(SECRET, BROWSER), "type": "complaint", "title": "Pungli di kantor desa",
        "body": "Petugas meminta uang untuk surat keterangan.", "confidential": "1"})
    builder.headers.add("Cookie", f"{web_session.BROWSER_COOKIE}={BROWSER}")
    return gateway.submit_post(builder.get_request())


def _receipt_page(gateway, query=None, cookies=None):
    builder = EnvironBuilder(path="/lapor/terkirim", query_string=query)
    if cookies:
        builder.headers.add("Cookie", "; ".join(f"{name}={value}" for name, value in cookies.items()))
    response = gateway.receipt_page(builder.get_request())
    return response, response.get_data(as_text=True)


def _set_cookies(response):
    """{name: (value, the Set-Cookie line)} of a response."""
    found = {}
    for line in response.headers.getlist("Set-Cookie"):
        name, value = line.split(";", 1)[0].split("=", 1)
        found[name] = (value, line)
    return found


def test_the_receipt_goes_to_the_submitting_browser_only_and_is_shown_once(gateway):
    submitted = _submit(gateway)

    assert submitted.status_code == 303
    location = submitted.headers["Location"]
    assert "tanda" not in location and "?" not in location
    set_cookies = _set_cookies(submitted)
    [receipt_cookie] = [name for name in set_cookies if name not in (web_session.BROWSER_COOKIE,)]
    value, line = set_cookies[receipt_cookie]
    assert "HttpOnly" in line and "SameSite=Strict" in line and "Path=/lapor/terkirim" in line
    assert CODE not in value and value not in location

    shown, page = _receipt_page(gateway, cookies={receipt_cookie: value})
    assert shown.status_code == 200 and CODE in page and TRACKING_ID in page
    assert "no-store" in shown.headers["Cache-Control"]
    assert _set_cookies(shown)[receipt_cookie][0] in ("", '""')  # cleared: shown once

    again, page = _receipt_page(gateway)
    assert again.status_code == 410 and CODE not in page


def test_an_old_receipt_link_shows_nothing_to_a_browser_without_the_cookie(gateway):
    sealed = web_session.seal(SECRET, "receipt", {"tracking_id": TRACKING_ID, "access_code": CODE})
    response, page = _receipt_page(gateway, query={"tanda": sealed})
    assert response.status_code == 410
    assert CODE not in page and TRACKING_ID not in page


def test_the_access_log_never_holds_tanda(start_service, caplog):
    gateway = start_service(GatewayService)
    sealed = web_session.seal(SECRET, "receipt", {"tracking_id": TRACKING_ID, "access_code": CODE})
    caplog.set_level(logging.INFO, logger="nameko.web.server")

    requests.get(f"http://{gateway.config['WEB_SERVER_ADDRESS']}/lapor/terkirim",
                 params={"tanda": sealed, "lang": "id"}, timeout=30)

    logged = [record.getMessage() for record in caplog.records if record.name == "nameko.web.server"]
    assert any("/lapor/terkirim" in line and "lang=id" in line for line in logged), logged
    assert not any(sealed in line or sealed[:24] in line for line in logged), logged
