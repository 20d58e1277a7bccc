"""Routing with the real tracking service: a valid requested agency is disposed automatically."""
import pytest
from nameko.standalone.events import event_dispatcher

from services.routing.service import RoutingService
from services.tracking.service import TrackingService
from tests.support.bus import hook
from tests.support.factories import UNROUTABLE, make_submitted_event
from tests.support.waiting import wait_for


@pytest.fixture
def services(start_service, service_config, routing_repo):
    for cls in (TrackingService, RoutingService):
        start_service(cls)
    return event_dispatcher(service_config)


def test_a_valid_requested_agency_is_disposed_automatically(services, tracking_repo, routing_repo):
    services("intake", "report_submitted", make_submitted_event(tracking_id="10000004", agency_code="KOTA-18.72"))

    report = wait_for(lambda: (r := tracking_repo.get_report("10000004")) and r["status"] == "disposed" and r,
                      message="auto-disposition")
    assert report["agency_code"] == "KOTA-18.72" and report["agency_name"] == "Pemerintah Kota Metro"
    disposed = tracking_repo.entries("10000004", 2)[-1]
    assert disposed["kind"] == "disposed" and disposed["automatic"] and disposed["actor"]["role"] == "system"
    triage = routing_repo.triage_of("10000004")
    assert triage["suggested_agency"] == "KOTA-18.72" and triage["region_code"] == "18.72"


@pytest.mark.parametrize("agency_code", [None, "NO-SUCH-AGENCY"])
def test_without_a_valid_agency_the_report_waits_for_verification(services, tracking_repo, routing_repo, agency_code):
    # Nothing triage could route on its own either: no matter named, so no suggestion (issue 5).
    services("intake", "report_submitted", make_submitted_event(tracking_id="10000004", agency_code=agency_code,
                                                                **UNROUTABLE))

    triage = wait_for(lambda: routing_repo.triage_of("10000004"), message="triage stored")
    assert triage["suggested_agency"] is None and triage["auto_dispose"] is False
    report = tracking_repo.get_report("10000004")
    assert report["status"] == "received" and report["agency_code"] is None


def test_agencies_and_regions_are_served_from_the_seed(start_service, routing_repo):
    container = start_service(RoutingService)
    with hook(container, "regions") as regions:
        assert len(regions(level=1)) == 38
        assert len(regions(level=2)) == 514
        assert [r["name"] for r in regions(q="metro", level=2)] == ["Kota Metro"]
    with hook(container, "agencies") as agencies:
        lampung = agencies(parent_code="PROV-18")
        assert "KOTA-18.72" in {a["code"] for a in lampung}
        tree = agencies(tree=True)
        kemendagri = next(a for a in tree if a["code"] == "KEMENDAGRI")
        assert len([c for c in kemendagri["children"] if c["kind"] == "province"]) == 38
