"""Entrypoints in isolation (nameko's worker_factory): what each does with its dependencies, and what it
must not do when something fails. Storage and RPC are fakes here; the integration tests use the real ones."""
import json
from datetime import datetime, timedelta, timezone
from unittest.mock import MagicMock

import pytest
from cryptography.fernet import Fernet
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.errors import IllegalTransition, Unavailable, ValidationFailed
from services.common.events import REPORT_SUBMITTED, REPORT_UPDATED
from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.routing.dependencies import TriageApi
from services.routing.service import RoutingService
from services.routing.triage import default_engine
from services.tracking.service import TrackingService
from tests.support.factories import make_report, make_updated_event


def fake_secrets():
    secrets = MagicMock()
    secrets.secret_key = "unit-secret"
    secrets.cipher = Fernet(Fernet.generate_key())
    return secrets


def intake_worker():
    tracking_ids = MagicMock()
    tracking_ids.return_value.next.return_value = "10000004"
    return worker_factory(IntakeService, secrets=fake_secrets(), tracking_ids=tracking_ids)


def test_submit_stores_then_queues_the_event_for_after_the_reply():
    service = intake_worker()
    service.storage.insert_submission.return_value = True

    receipt = service.submit(make_report())

    assert receipt["tracking_id"] == "10000004" and receipt["status"] == "received"
    [submission] = service.storage.insert_submission.call_args.args
    assert "081234567890" not in json.dumps(submission, default=str)
    assert service.secrets.cipher.decrypt(submission["contact_encrypted"].encode())
    event_type, event = service.outbox.after_reply.call_args.args
    assert event_type == REPORT_SUBMITTED and event["reporter_ref"] == submission["reporter_ref"]
    assert event["access_code_hash"] != receipt["access_code"]


def test_submit_refuses_bad_input_before_touching_anything():
    service = intake_worker()
    with pytest.raises(ValidationFailed):
        service.submit(make_report(title=""))
    service.storage.insert_submission.assert_not_called()
    service.outbox.after_reply.assert_not_called()
    service.tracking_ids.assert_not_called()


def test_a_second_insert_of_the_same_submission_publishes_nothing_more():
    service = intake_worker()
    service.storage.insert_submission.return_value = False
    # The one stored is this submission replayed (same access code): a receipt, and nothing published again.
    service.storage.get_submission.side_effect = lambda tracking_id: service.storage.insert_submission.call_args[0][0]
    assert service.submit(make_report())["status"] == "received"
    service.outbox.after_reply.assert_not_called()


def test_no_receipt_when_the_tracking_id_holds_another_submission():
    service = intake_worker()
    service.storage.insert_submission.return_value = False
    service.storage.get_submission.return_value = {"event": {"access_code_hash": "f" * 64}}
    with pytest.raises(Unavailable):
        service.submit(make_report())
    service.outbox.after_reply.assert_not_called()


def tracking_report(**overrides):
    report = {"_id": "10000004", "tracking_id": "10000004", "status": "received", "version": 1,
              "agency_code": None, "agency_name": None, "case_class": None, "channel": "web",
              "anonymous": False, "confidential": False, "reporter_ref": "rep_1", "region_hint": None,
              "type": "complaint", "title": "Jalan rusak", "body": "Jalan rusak di depan pasar", "location": {},
              "created_at": datetime.now(timezone.utc), "updated_at": datetime.now(timezone.utc)}
    report.update(overrides)
    return report


def test_a_lost_compare_and_set_removes_its_entry_and_publishes_nothing():
    service = worker_factory(TrackingService)
    service.storage.get_report.return_value = tracking_report()
    service.storage.insert_entry.return_value = True
    service.storage.compare_and_set.return_value = False

    with pytest.raises(IllegalTransition):
        service.transition("10000004", {"kind": "verified", "to_status": "verified", "actor": {"role": "national_admin"}})

    service.storage.delete_entry.assert_called_once_with("10000004", 2)
    service.outbox.after_reply.assert_not_called()


def test_a_transition_announces_the_entry_it_wrote():
    service = worker_factory(TrackingService)
    service.storage.get_report.return_value = tracking_report()
    service.storage.insert_entry.return_value = True
    service.storage.compare_and_set.return_value = True
    service.storage.get_entry.return_value = {"tracking_id": "10000004", "version": 2, "published": False,
                                              "event": {"kind": "verified"}}
    view = service.transition("10000004", {"kind": "verified", "to_status": "verified",
                                           "actor": {"role": "national_admin"}})
    assert (view["status"], view["version"]) == ("verified", 2)
    assert service.outbox.after_reply.call_args.args[:2] == (REPORT_UPDATED, {"kind": "verified"})


def routing_worker():
    """Fake storage and tracking, but the real triage engine (issue 5): no model stored, nothing to link."""
    triage = TriageApi(MagicMock(engine=default_engine(), model=None, corpus=None, holder="unit"))
    service = worker_factory(RoutingService, triage=triage)
    service.storage.model_version.return_value = None
    service.storage.open_reports.return_value = []
    service.storage.save_triage.side_effect = lambda record: record
    return service


@pytest.mark.parametrize("agency, disposes", [(None, False), ({"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}, True)])
def test_routing_disposes_only_to_an_agency_that_exists(agency, disposes):
    service = routing_worker()
    service.storage.agency.return_value = agency
    event = make_updated_event(content={"agency_code": "KOTA-18.72", "location": None}, version=1)
    service._triage(event)
    assert service.tracking.transition.called is disposes
    if disposes:
        change = service.tracking.transition.call_args.args[1]
        assert change["expected_version"] == 1 and change["automatic"] and change["agency_code"] == "KOTA-18.72"


def test_routing_ignores_a_disposition_the_report_has_moved_past():
    service = routing_worker()
    service.storage.agency.return_value = {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
    service.tracking.transition.side_effect = IllegalTransition("moved on")
    service._triage(make_updated_event(content={"agency_code": "KOTA-18.72"}))  # no exception: nothing to do


def request(method, path, **kwargs):
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


def test_the_gateway_answers_503_when_intake_is_unavailable():
    service = worker_factory(GatewayService)
    service.intake.submit.side_effect = Unavailable("layanan intake tidak menjawab")
    response = service.submit_report(request("POST", "/api/v1/reports", json=make_report()))
    assert response.status_code == 503
    assert json.loads(response.get_data())["error"]["code"] == "unavailable"


def test_the_gateway_checks_the_check_digit_before_asking_tracking():
    service = worker_factory(GatewayService)
    response = service.get_report(request("GET", "/api/v1/reports/10000005"), "10000005")
    assert response.status_code == 400
    service.tracking.report.assert_not_called()


@pytest.mark.parametrize("written_seconds_ago, deleted", [(5, False), (600, True)])
def test_the_relay_leaves_a_fresh_entry_whose_report_lags_and_drops_an_old_orphan(written_seconds_ago, deleted):
    service = worker_factory(TrackingService)
    entry = {"_id": "10000004:0000002", "tracking_id": "10000004", "version": 2, "event": {},
             "written_at": datetime.now(timezone.utc) - timedelta(seconds=written_seconds_ago)}
    service.storage.claim_unpublished_entry.side_effect = [entry, None]
    service.storage.get_report.return_value = tracking_report(version=1)
    service.storage.count_unpublished.return_value = 1

    service.relay()

    assert service.storage.delete_entry.called is deleted
    service.outbox.publish_now.assert_not_called()


@pytest.mark.parametrize("key", ["1", "short-key", "x" * 129, "ключ-идемпотентности-1234"])
def test_the_gateway_refuses_idempotency_keys_that_could_collide(key):
    service = worker_factory(GatewayService)
    response = service.submit_report(request("POST", "/api/v1/reports", json=make_report(),
                                             headers={"Idempotency-Key": key}))
    assert response.status_code == 400
    assert "Idempotency-Key" in json.loads(response.get_data())["error"]["fields"]
    service.intake.submit.assert_not_called()


class _LedgerHost:
    """Just enough of a service for `once_per_event`: a name, a storage fake, a metrics fake."""

    name = "sla"

    def __init__(self, attempts):
        self.storage = MagicMock()
        self.storage.event_processed.return_value = False
        self.storage.count_event_failure.return_value = attempts
        self.metrics = MagicMock()


@pytest.mark.parametrize("error, parked", [(Unavailable("tracking is away"), False), (KeyError("bug"), True)])
def test_after_every_retry_only_non_transient_failures_are_parked(monkeypatch, error, parked):
    from services.common import ledger

    monkeypatch.setattr(ledger.eventlet, "sleep", lambda seconds: None)

    @ledger.once_per_event(REPORT_UPDATED)
    def handler(self, event):
        raise error

    host = _LedgerHost(attempts=ledger.MAX_ATTEMPTS)
    if parked:
        handler(host, make_updated_event())
        host.storage.park_event.assert_called_once()
    else:
        with pytest.raises(Unavailable):  # back to the queue: the report must not be dropped
            handler(host, make_updated_event())
        host.storage.park_event.assert_not_called()
    host.storage.mark_event_processed.assert_not_called()
