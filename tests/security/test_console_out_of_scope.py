"""Issue 13 item 10: a report whose out-of-scope hint fired (routing's `[{reason, words}]`) no longer breaks the
national console: the verification queue and the report page render, naming the reason and the words."""
import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.gateway import web_session, web_text
from services.gateway.service import GatewayService
from services.gateway.web_base import WebTools, _environment
from tests.security.samples import ADMIN, REPORT, SECRET, TRACKING_ID

# What routing's triage keeps for "pilkada … paslon" (services/routing/triage.py, out_of_scope).
TRIAGE = {"region_code": "18.72", "suggested_agency": None, "confidence": 0.1, "duplicate_of": None,
          "out_of_scope": [{"reason": "elections", "words": ["pilkada", "paslon"]}]}


@pytest.fixture
def console():
    service = worker_factory(GatewayService, pages=WebTools(SECRET, _environment(), {}))
    service.auth.token_principal.return_value = dict(ADMIN)
    service.tracking.inbox.return_value = {"items": [dict(REPORT)], "page": 1, "per_page": 20, "total": 1}
    service.tracking.report.return_value = dict(REPORT)
    service.tracking.timeline.return_value = []
    service.routing.triage_of.return_value = dict(TRIAGE)
    service.routing.regions.return_value = []
    service.routing.agencies.return_value = []
    service.intake.attachments.return_value = []
    return service


def _signed_in(path, language="id"):
    builder = EnvironBuilder(path=path, query_string={"lang": language})
    builder.headers.add("Cookie", f"{web_session.SESSION_COOKIE}=a-token")
    return builder.get_request()


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_verification_queue_shows_the_hint(console, language):
    response = console.inbox_page(_signed_in("/konsol", language))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-2000:]
    assert web_text.label("reason", "elections", language) in html and "pilkada" in html


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_report_page_shows_the_hint(console, language):
    response = console.console_report_page(_signed_in(f"/konsol/laporan/{TRACKING_ID}", language), TRACKING_ID)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-2000:]
    assert web_text.label("reason", "elections", language) in html and "paslon" in html


@pytest.mark.parametrize("hint", [{"reason": "elections", "words": ["pilkada"]}, ["elections"], None, 7])
def test_a_label_never_breaks_on_what_it_is_given(hint):
    assert isinstance(web_text.label("reason", hint, "id"), str)



def test_the_hint_words_are_the_reporter_s_text_and_escaped(console):
    console.routing.triage_of.return_value = dict(TRIAGE, out_of_scope=[
        {"reason": "elections", "words": ["<script>alert(1)</script>"]}])
    html = console.inbox_page(_signed_in("/konsol")).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
