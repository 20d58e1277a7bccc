"""Issue 13 item 9: no public figure counts a confidential report. An agency whose only disposition of the day was
confidential showed `disposed: 1, open: 1` in /api/v1/stats/sla; like /api/v1/stats (breakdowns over
non-confidential reports only), the public SLA figures and the statistics page leave it out, while the officers'
oversight keeps it. Sla's own code on the real store, at a fixed instant, behind the gateway's routes."""
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.gateway import web_base, web_session
from services.gateway.service import GatewayService
from services.gateway.web_base import WebTools, _environment
from services.sla.dependencies import FiguresCache
from services.sla.domain import jakarta_day
from services.sla.service import SlaService
from services.sla.storage import SlaRepository
from tests.security.samples import ADMIN, SECRET
from tests.support.factories import make_updated_event

METRO, METRO_NAME = "KOTA-18.72", "Pemerintah Kota Metro"
LAMPUNG, LAMPUNG_NAME = "PROV-18", "Pemerintah Provinsi Lampung"
AT = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
DAY = jakarta_day(AT).isoformat()
NO_STATS = {"total": 1, "confidential_total": 1, "median_first_response_hours": None, "by_status": {},
            "by_type": {}, "by_channel": {}, "by_agency": [], "by_region": [], "weekly": []}


def _opened_and_disposed(tracking_id, agency_code, agency_name, confidential):
    common = {"tracking_id": tracking_id, "confidential": confidential, "at": AT.isoformat(),
              "emitted_at": AT.isoformat()}
    return [make_updated_event(version=1, kind="opened", status="received", **common),
            make_updated_event(version=2, kind="disposed", status="disposed", previous_status="received",
                               agency_code=agency_code, agency_name=agency_name, **common)]


@pytest.fixture
def sla(open_repo):
    """Sla with two dispositions that day: Kota Metro's only one confidential, Lampung's public."""
    sla = worker_factory(SlaService, storage=open_repo(SlaRepository, "lapor_sla"),
                         clock=SimpleNamespace(now=lambda: AT), config={}, figures_cache=FiguresCache())
    for event in (_opened_and_disposed("10000004", METRO, METRO_NAME, True)
                  + _opened_and_disposed("10000011", LAMPUNG, LAMPUNG_NAME, False)):
        sla.on_report_updated(event)
    return sla


@pytest.fixture
def gateway(sla, monkeypatch):
    monkeypatch.setattr(web_base, "now", lambda: AT)
    gateway = worker_factory(GatewayService, sla=sla, pages=WebTools(SECRET, _environment(), {}))
    gateway.tracking.stats.return_value = dict(NO_STATS)
    gateway.auth.token_principal.return_value = None
    return gateway


def _answer(response):
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def test_an_agency_s_only_confidential_report_is_no_public_figure(gateway):
    request = EnvironBuilder(path="/api/v1/stats/sla", query_string={"agency": METRO, "from": DAY, "to": DAY})
    [metro] = _answer(gateway.sla_stats(request.get_request()))["agencies"]
    assert {key: metro[key] for key in ("disposed", "answered_in_time", "late", "open", "overdue")} == {
        "disposed": 0, "answered_in_time": 0, "late": 0, "open": 0, "overdue": 0}
    assert metro["compliance_ratio"] is None and metro["agency"]["name"] is None


def test_the_public_figures_of_every_agency_leave_it_out(gateway):
    request = EnvironBuilder(path="/api/v1/stats/sla", query_string={"from": DAY, "to": DAY})
    agencies = _answer(gateway.sla_stats(request.get_request()))["agencies"]
    assert [(row["agency"]["code"], row["disposed"], row["open"]) for row in agencies] == [(LAMPUNG, 1, 1)]


def test_the_statistics_page_leaves_it_out(gateway):
    page = gateway.stats_page(EnvironBuilder(path="/statistik").get_request()).get_data(as_text=True)
    assert LAMPUNG_NAME in page
    assert METRO_NAME not in page and METRO not in page


def test_the_officers_oversight_keeps_it(gateway):
    gateway.auth.token_principal.return_value = dict(ADMIN)
    builder = EnvironBuilder(path="/konsol/pengawasan")
    builder.headers.add("Cookie", f"{web_session.SESSION_COOKIE}=a-token")
    response = gateway.oversight_page(builder.get_request())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert METRO_NAME in page and LAMPUNG_NAME in page
