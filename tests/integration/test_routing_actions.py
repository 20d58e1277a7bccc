"""Routing's officer actions with the real tracking service on the real bus: verify, reject, dispose on to
units, decline (bukan wewenang) with its hop limit, and the scope an agency's admins act within."""
import pytest
from nameko.standalone.events import event_dispatcher

from services.common.errors import IllegalTransition, NotFound, ValidationFailed
from services.routing.service import RoutingService
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.factories import UNROUTABLE, make_submitted_event
from tests.support.waiting import wait_for

TRACKING_ID = "10000004"
NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional", "scope": None}


def agency_admin(code, scope):
    return {"role": "agency_admin", "username": f"admin.{code}", "name": f"Admin {code}", "agency_code": code,
            "agency_name": code, "scope": scope}


@pytest.fixture
def routing(start_service, service_config, routing_repo, tracking_repo):
    for cls in (TrackingService, RoutingService):
        start_service(cls)
    with service_proxy("routing", service_config) as proxy:
        yield proxy


@pytest.fixture
def received(service_config, tracking_repo, routing):
    """A report waiting in the national queue (no agency requested, nothing triage could route on its own)."""
    event_dispatcher(service_config)("intake", "report_submitted",
                                     make_submitted_event(tracking_id=TRACKING_ID, **UNROUTABLE))
    wait_for(lambda: tracking_repo.get_report(TRACKING_ID), message="case opened")
    return TRACKING_ID


def status_and_agency(tracking_repo):
    report = tracking_repo.get_report(TRACKING_ID)
    return report["status"], report["agency_code"]


def test_the_scope_of_an_agency_is_itself_and_its_units(routing):
    metro = routing.scope_of("KOTA-18.72")
    assert metro["name"] == "Pemerintah Kota Metro"
    assert metro["scope"] == ["KOTA-18.72", "KOTA-18.72-DPUPR"]
    with pytest.raises(NotFound):
        routing.scope_of("NO-SUCH-AGENCY")


def test_verify_then_dispose_with_a_case_class(routing, received, tracking_repo):
    routing.verify(received, NATIONAL_ADMIN, {"note": "Lengkap"})
    assert status_and_agency(tracking_repo) == ("verified", None)
    view = routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72", "case_class": "dispute"})
    assert view["status"] == "disposed" and view["agency"]["code"] == "KOTA-18.72"
    entry = tracking_repo.entries(received, 3)[-1]
    assert entry["kind"] == "disposed" and entry["case_class"] == "dispute"
    assert entry["actor"]["role"] == "national_admin" and entry["actor"]["name"] == "Admin Nasional"


def test_reject_needs_a_known_out_of_scope_reason(routing, received, tracking_repo):
    with pytest.raises(ValidationFailed) as refused:
        routing.reject(received, NATIONAL_ADMIN, {"reason": "boring"})
    assert "reason" in refused.value.fields
    assert status_and_agency(tracking_repo) == ("received", None)
    view = routing.reject(received, NATIONAL_ADMIN, {"reason": "elections", "note": "Ranah Bawaslu"})
    assert view["status"] == "rejected"
    assert tracking_repo.entries(received, 2)[-1]["reason"] == "elections"


def test_a_stale_version_changes_nothing(routing, received, tracking_repo):
    with pytest.raises(IllegalTransition):
        routing.verify(received, NATIONAL_ADMIN, {"version": 7})
    assert tracking_repo.get_report(received)["version"] == 1


def test_dispose_refuses_an_unknown_agency_and_an_agency_admin_outside_its_units(routing, received, tracking_repo):
    with pytest.raises(ValidationFailed) as unknown:
        routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "NO-SUCH-AGENCY"})
    assert "agency_code" in unknown.value.fields
    routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    metro = agency_admin("KOTA-18.72", ["KOTA-18.72", "KOTA-18.72-DPUPR"])
    with pytest.raises(ValidationFailed):
        routing.dispose(received, metro, {"agency_code": "PROV-18"})
    view = routing.dispose(received, metro, {"agency_code": "KOTA-18.72-DPUPR"})
    assert view["agency"]["code"] == "KOTA-18.72-DPUPR" and view["status"] == "disposed"


def test_an_agency_cannot_act_on_a_report_it_does_not_hold(routing, received, tracking_repo):
    routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    bandar_lampung = agency_admin("KOTA-18.71", ["KOTA-18.71"])
    with pytest.raises(NotFound):
        routing.decline(received, bandar_lampung, {"reason": "Bukan wilayah kami"})
    with pytest.raises(NotFound):
        routing.dispose(received, dict(bandar_lampung, scope=["KOTA-18.71", "KOTA-18.72-DPUPR"]),
                        {"agency_code": "KOTA-18.72-DPUPR"})
    assert status_and_agency(tracking_repo) == ("disposed", "KOTA-18.72")


def test_decline_goes_to_the_suggested_agency_and_the_third_hop_goes_to_a_national_admin(routing, received,
                                                                                      tracking_repo):
    routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    routing.decline(received, agency_admin("KOTA-18.72", ["KOTA-18.72"]),
                    {"reason": "Jalan provinsi", "suggested_agency_code": "PROV-18"})
    assert status_and_agency(tracking_repo) == ("disposed", "PROV-18")
    routing.decline(received, agency_admin("PROV-18", ["PROV-18"]),
                    {"reason": "Jalan nasional", "suggested_agency_code": "KEMENPU"})
    assert status_and_agency(tracking_repo) == ("disposed", "KEMENPU")
    routing.decline(received, agency_admin("KEMENPU", ["KEMENPU"]),
                    {"reason": "Jalan kota", "suggested_agency_code": "KOTA-18.72"})

    report = tracking_repo.get_report(received)
    assert (report["status"], report["agency_code"], report["hops"]) == ("received", None, 3)
    assert report["flagged"]
    kinds = [entry["kind"] for entry in tracking_repo.entries(received, report["version"])]
    assert kinds == ["opened", "disposed", "declined", "declined", "declined"]


def test_decline_without_a_usable_suggestion_returns_to_the_national_queue(routing, received, tracking_repo):
    routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "KOTA-18.72"})
    metro = agency_admin("KOTA-18.72", ["KOTA-18.72"])
    with pytest.raises(ValidationFailed) as refused:
        routing.decline(received, metro, {"reason": "x"})
    assert "reason" in refused.value.fields
    routing.decline(received, metro, {"reason": "Bukan kewenangan kami", "suggested_agency_code": "KOTA-18.72"})
    assert status_and_agency(tracking_repo) == ("received", None)
    # Back in the national queue, it can be disposed again: it was never dropped.
    routing.dispose(received, NATIONAL_ADMIN, {"agency_code": "PROV-18"})
    assert status_and_agency(tracking_repo) == ("disposed", "PROV-18")


def test_an_sms_addressed_to_a_city_is_disposed_to_its_government(routing, service_config, tracking_repo):
    event = make_submitted_event(tracking_id=TRACKING_ID, channel="sms", region_hint="18.72", location=None)
    event_dispatcher(service_config)("intake", "report_submitted", event)
    report = wait_for(lambda: (r := tracking_repo.get_report(TRACKING_ID)) and r["status"] == "disposed" and r,
                      message="auto-disposition by region")
    assert report["agency_code"] == "KOTA-18.72"
