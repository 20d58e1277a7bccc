"""Issue 13 item 13: asking for a new access code (an SMS or e-mail at LAPOR's cost) is limited per client as well
as per report, through the API and the web page alike, and its answer is no oracle: an unknown ID, a report
without a contact, one over its daily limit, an anonymous or a confidential one, and one whose message fails all
get the same 202. The gateway's routes with its rate limiter and tracking's own code on the real store."""
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.events import REPORT_SUBMITTED, load_event
from services.common.tracking_ids import make_tracking_id
from services.gateway import limits, ratelimit, storage as gateway_storage, web_session
from services.gateway.ratelimit import RateLimiter
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.gateway.web_base import WebTools, _environment
from services.tracking import domain, service as tracking_service, storage as tracking_storage
from services.tracking.service import TrackingService
from services.tracking.storage import TrackingRepository
from tests.security.samples import SECRET
from tests.support.factories import make_submitted_event

PER_CLIENT = 4
AT = datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc)
CLIENT, OTHER_CLIENT = "10.66.0.1", "10.1.0.7"
BROWSER = "browser-cookie-value"


class AsRpc:
    """A worker called as through the gateway's RPC proxy: `method(...)` waits, `method.call_async(...)` does
    not, and its failure stays in the reply (nameko raises it from `result()` only)."""

    def __init__(self, worker):
        self.worker = worker

    def __getattr__(self, name):
        method = getattr(self.worker, name)

        def call_async(*args, **kwargs):
            try:
                value, error = method(*args, **kwargs), None
            except Exception as exc:  # noqa: BLE001 - kept for result(), as in a real reply
                value, error = None, exc
            return SimpleNamespace(result=lambda: _raise(error) if error else value)

        def call(*args, **kwargs):
            return method(*args, **kwargs)

        call.call_async = call_async
        return call


def _raise(error):
    raise error


@pytest.fixture
def tracking_repository(open_repo, monkeypatch):
    for module in (tracking_service, tracking_storage, ratelimit, gateway_storage):
        monkeypatch.setattr(module, "now", lambda: AT)
    return open_repo(TrackingRepository, "lapor_tracking")


@pytest.fixture
def tracking(tracking_repository):
    return worker_factory(TrackingService, storage=tracking_repository, secrets=SimpleNamespace(secret_key=SECRET))


@pytest.fixture
def gateway(tracking, open_repo):
    repository = open_repo(GatewayRepository, "lapor_gateway")
    configured = limits.limits_from_config({"RATE_LIMIT_ACCESS_CODE_PER_DAY": PER_CLIENT})
    return worker_factory(GatewayService, tracking=AsRpc(tracking), storage=repository,
                          rate_limits=RateLimiter(repository, configured, SECRET),
                          pages=WebTools(SECRET, _environment(), {}))


def add_report(repository, sequence, **overrides):
    tracking_id = make_tracking_id(sequence)
    event = make_submitted_event(tracking_id=tracking_id, submitted_at=AT.isoformat(), **overrides)
    repository.insert_report(domain.new_case(load_event(REPORT_SUBMITTED, event)))
    return tracking_id


def ask(gateway, tracking_id, client, language="id"):
    request = EnvironBuilder(path=f"/api/v1/reports/{tracking_id}/access-code", method="POST",
                             headers={"Accept-Language": language}, environ_base={"REMOTE_ADDR": client})
    return gateway.report_action(request.get_request(), tracking_id, "access-code")


def ask_on_the_web(gateway, tracking_id, client):
    builder = EnvironBuilder(path=f"/lacak/{tracking_id}/kode-baru", method="POST",
                             data={"csrf_token": web_session.csrf_token(SECRET, BROWSER)},
                             environ_base={"REMOTE_ADDR": client})
    builder.headers.add("Cookie", f"{web_session.BROWSER_COOKIE}={BROWSER}")
    return gateway.reporter_action_post(builder.get_request(), tracking_id, "kode-baru")


def _seen(response):
    return response.status_code, json.loads(response.get_data(as_text=True)), sorted(response.headers.items())


def test_one_client_cannot_have_a_code_sent_to_every_reporter(gateway, tracking, tracking_repository):
    ids = [add_report(tracking_repository, 1_000_300 + number) for number in range(PER_CLIENT + 2)]

    answers = [ask(gateway, tracking_id, CLIENT).status_code for tracking_id in ids]

    assert answers == [202] * PER_CLIENT + [429, 429]
    assert tracking.notifications.send_access_code.call_count == PER_CLIENT
    refused = ask(gateway, ids[0], CLIENT)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert ask_on_the_web(gateway, ids[0], CLIENT).status_code == 429  # the web page counts alike
    assert tracking.notifications.send_access_code.call_count == PER_CLIENT
    assert ask(gateway, ids[-1], OTHER_CLIENT).status_code == 202  # another client is not concerned
    assert tracking.notifications.send_access_code.call_count == PER_CLIENT + 1


def test_the_web_page_counts_against_the_same_limit(gateway, tracking, tracking_repository):
    tracking_id = add_report(tracking_repository, 1_000_400)
    for _ in range(PER_CLIENT):
        assert ask_on_the_web(gateway, tracking_id, CLIENT).status_code == 303
    assert ask(gateway, tracking_id, CLIENT).status_code == 429


def test_the_answer_is_the_same_whatever_the_report(gateway, tracking, tracking_repository):
    over_limit = add_report(tracking_repository, 1_000_500)
    for _ in range(domain.REISSUES_PER_DAY):
        tracking.reissue_access_code(over_limit)
    failing = add_report(tracking_repository, 1_000_501, reporter_ref="rep_failing")
    tracking.notifications.send_access_code.side_effect = (
        lambda tracking_id, reporter_ref, *args: _raise(RuntimeError("smsc refused")) if reporter_ref == "rep_failing"
        else True)
    reports = {
        "plain": add_report(tracking_repository, 1_000_502),
        "unknown": make_tracking_id(1_000_599),
        "no contact": add_report(tracking_repository, 1_000_503, reporter_ref=None),
        "over its daily limit": over_limit,
        "anonymous": add_report(tracking_repository, 1_000_504, anonymous=True),
        "confidential": add_report(tracking_repository, 1_000_505, confidential=True),
        "its message fails": failing,
    }
    for language in ("id", "en"):
        seen = {name: _seen(ask(gateway, tracking_id, f"10.2.{number}.1" if language == "id" else f"10.3.{number}.1",
                                language)) for number, (name, tracking_id) in enumerate(reports.items())}
        assert all(answer == seen["plain"] for answer in seen.values()), seen
        status, body, _ = seen["plain"]
        assert status == 202 and set(body) == {"message"}
    assert "Kode lama tetap berlaku" in _seen(ask(gateway, reports["plain"], "10.4.0.1"))[1]["message"]
    assert "old code keeps working" in _seen(ask(gateway, reports["plain"], "10.4.0.2", "en"))[1]["message"]
