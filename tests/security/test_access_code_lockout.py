"""Issue 13 item 8: wrong access codes are counted per report and client, and per client across reports, so a
stranger's guesses never lock the reporter out, and the lockout tells nothing: an unknown tracking ID, a
confidential report and a locked one answer alike (status, body, headers, Retry-After). The gateway's routes
over tracking's own code on the real store, at a fixed instant."""
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.access_codes import hash_access_code
from services.common.events import REPORT_SUBMITTED, load_event
from services.common.tracking_ids import make_tracking_id
from services.gateway.service import GatewayService
from services.tracking import domain, service as tracking_service, storage as tracking_storage
from services.tracking.service import TrackingService
from services.tracking.storage import TrackingRepository
from tests.security.samples import SECRET
from tests.support.bus import trusted_caller
from tests.support.factories import make_submitted_event

CODE = "ABCD-EFGH"
WRONG = "WXYZ-2345"
REPORTER, STRANGER, OTHER_STRANGER = "10.1.0.7", "10.66.0.1", "10.66.0.2"
# As README documents them: ten wrong codes per report and client, thirty per client, within 15 minutes.
PER_REPORT, PER_CLIENT = 10, 30
AT = datetime(2026, 11, 25, 7, 30, 12, 400000, tzinfo=timezone.utc)

PUBLIC_ID, CONFIDENTIAL_ID, UNKNOWN_ID = make_tracking_id(1_000_100), make_tracking_id(1_000_101), make_tracking_id(
    1_000_102)


@pytest.fixture
def repository(open_repo, monkeypatch):
    for module in (tracking_service, tracking_storage):
        monkeypatch.setattr(module, "now", lambda: AT)
    repository = open_repo(TrackingRepository, "lapor_tracking")
    for tracking_id, confidential in ((PUBLIC_ID, False), (CONFIDENTIAL_ID, True)):
        event = make_submitted_event(tracking_id=tracking_id, confidential=confidential, reporter_ref=None,
                                     access_code_hash=hash_access_code(SECRET, CODE), submitted_at=AT.isoformat())
        repository.insert_report(domain.new_case(load_event(REPORT_SUBMITTED, event)))
    return repository


@pytest.fixture
def gateway(repository):
    tracking = worker_factory(TrackingService, storage=repository, secrets=SimpleNamespace(secret_key=SECRET),
                              caller=trusted_caller(repository, "tracking"))
    gateway = worker_factory(GatewayService, tracking=tracking)
    gateway.auth.principal.return_value = None
    gateway.intake.attachments.return_value = []
    return gateway


def _get(gateway, tracking_id, client, code):
    request = EnvironBuilder(path=f"/api/v1/reports/{tracking_id}", headers={"X-Access-Code": code},
                             environ_base={"REMOTE_ADDR": client}).get_request()
    return gateway.get_report(request, tracking_id)


def _seen(response):
    """Everything a client sees of an answer."""
    return response.status_code, json.loads(response.get_data(as_text=True)), sorted(response.headers.items())


def test_a_stranger_s_wrong_codes_do_not_lock_the_reporter_out(gateway):
    answers = [_get(gateway, PUBLIC_ID, STRANGER, WRONG).status_code for _ in range(PER_REPORT + 2)]
    assert answers == [403] * PER_REPORT + [429, 429]

    for tracking_id in (PUBLIC_ID, CONFIDENTIAL_ID):
        for _ in range(PER_REPORT + 2):
            _get(gateway, tracking_id, OTHER_STRANGER, WRONG)
        reporter = _get(gateway, tracking_id, REPORTER, CODE)
        assert reporter.status_code == 200
        assert json.loads(reporter.get_data(as_text=True))["tracking_id"] == tracking_id
    assert _get(gateway, PUBLIC_ID, STRANGER, CODE).status_code == 429  # the locked client itself stays locked


def test_an_unknown_a_confidential_and_a_locked_report_answer_alike(gateway):
    """Two strangers with the same history, one on a confidential report, one on an ID no report holds."""
    for attempt in range(PER_REPORT + 3):
        hidden = _seen(_get(gateway, CONFIDENTIAL_ID, STRANGER, WRONG))
        unknown = _seen(_get(gateway, UNKNOWN_ID, OTHER_STRANGER, WRONG))
        assert hidden == unknown, f"attempt {attempt + 1}"
    status, body, headers = hidden
    assert status == 429 and body["error"]["code"] == "rate_limited" and int(dict(headers)["Retry-After"]) > 0
    # The right code changes nothing for the locked client: it could otherwise test codes on.
    assert _seen(_get(gateway, CONFIDENTIAL_ID, STRANGER, CODE)) == _seen(_get(gateway, UNKNOWN_ID, OTHER_STRANGER,
                                                                               CODE))


def test_a_client_guessing_across_reports_is_locked_out_of_every_report(gateway):
    ids = [make_tracking_id(1_000_200 + number) for number in range(PER_CLIENT)]
    answers = [_get(gateway, tracking_id, STRANGER, WRONG).status_code for tracking_id in ids]
    assert answers == [404] * PER_CLIENT
    assert _get(gateway, make_tracking_id(1_000_999), STRANGER, WRONG).status_code == 429
    assert _get(gateway, PUBLIC_ID, STRANGER, CODE).status_code == 429
    assert _get(gateway, PUBLIC_ID, REPORTER, CODE).status_code == 200  # another client is not concerned
