"""Triage on the real bus and store, with the real tracking service: auto-disposition when confident, a waiting
report with its out-of-scope hint, a linked duplicate counted as support, and a model retrained on a disposition."""
import signal

import eventlet
import pytest
import requests
from nameko.standalone.events import event_dispatcher

from services.routing.dependencies import STOPPING, TriageEngine
from services.routing.service import RoutingService
from services.tracking.service import TrackingService
from tests.support.bus import hook, service_proxy
from tests.support.factories import make_submitted_event
from tests.support.waiting import wait_for

NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional", "scope": None}
POTHOLE = "Jalan berlubang besar di Jalan Pala Iringmulyo depan masjid Al Ikhlas, motor sering jatuh."
SAME_POTHOLE = "Lubang besar di jalan Pala Iringmulyo dekat masjid Al Ikhlas belum ditambal, banyak motor jatuh."


@pytest.fixture
def start(start_service, service_config, routing_repo):
    """start(**routing config) → (submit(tracking_id, **event fields), the routing container)."""

    def start_(**routing_config):
        start_service(TrackingService)
        container = start_service(RoutingService, **routing_config)
        dispatch = event_dispatcher(service_config)

        def submit(tracking_id, **fields):
            dispatch("intake", "report_submitted", make_submitted_event(tracking_id=tracking_id, **fields))

        return submit, container

    return start_


def triaged(routing_repo, tracking_id):
    return wait_for(lambda: routing_repo.triage_of(tracking_id), message=f"triage of {tracking_id}")


def metrics_of(container):
    return requests.get(f"http://{container.config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text


def test_a_confident_road_complaint_in_kota_metro_is_auto_disposed(start, routing_repo, tracking_repo):
    submit, container = start()
    submit("10000004", title="Jalan berlubang", body="Jalan berlubang besar di depan pasar, sudah dua bulan.")

    report = wait_for(lambda: (r := tracking_repo.get_report("10000004")) and r["status"] == "disposed" and r,
                      message="auto-disposition by triage")
    assert report["agency_code"] == "KOTA-18.72"
    entry = tracking_repo.entries("10000004", 2)[-1]
    assert entry["automatic"] and entry["actor"]["role"] == "system" and "triase" in entry["note"]
    record = routing_repo.triage_of("10000004")
    assert (record["suggested_agency"], record["region_code"], record["outcome"]) == ("KOTA-18.72", "18.72",
                                                                                      "confident")
    assert record["candidates"][0]["agency"] == "KOTA-18.72" and record["out_of_scope"] == []
    exposition = wait_for(lambda: (text := metrics_of(container)) and "lapor_verification_queue 0.0" in text
                          and text, message="the queue gauge after the disposition")
    assert 'lapor_triage_outcomes_total{outcome="confident"} 1.0' in exposition
    assert "lapor_auto_dispositions_total 1.0" in exposition


def test_an_election_complaint_waits_with_its_hint(start, routing_repo, tracking_repo):
    submit, container = start()
    submit("10000004", title="Politik uang", body="Tim sukses calon bupati membagikan amplop, serangan fajar "
                                                  "menjelang pilkada di Kota Metro.")

    record = triaged(routing_repo, "10000004")
    assert record["out_of_scope"][0]["reason"] == "elections"
    assert {"serangan fajar", "pilkada"} <= set(record["out_of_scope"][0]["words"])
    assert (record["auto_dispose"], record["outcome"]) == (False, "out_of_scope")
    report = tracking_repo.get_report("10000004")
    assert (report["status"], report["agency_code"]) == ("received", None)
    assert wait_for(lambda: "lapor_verification_queue 1.0" in metrics_of(container), message="queue of one")


def test_a_duplicate_is_linked_and_counted_as_support_never_merged(start, routing_repo, tracking_repo):
    submit, _ = start()
    submit("10000004", title="Jalan berlubang di Iringmulyo", body=POTHOLE)
    triaged(routing_repo, "10000004")
    submit("10000005", title="Lubang di jalan Pala", body=SAME_POTHOLE)

    record = triaged(routing_repo, "10000005")
    assert record["duplicate_of"] == "10000004"
    # Linked, not merged: the newer report keeps its own history and is routed like any other.
    newer = wait_for(lambda: (r := tracking_repo.get_report("10000005")) and r["version"] == 3 and r,
                     message="duplicate_linked, then disposed")
    linked, disposed = tracking_repo.entries("10000005", 3)[1:]
    assert linked["kind"] == "duplicate_linked" and "10000004" in linked["note"] and linked["status"] == "received"
    assert disposed["kind"] == "disposed" and newer["agency_code"] == "KOTA-18.72"
    assert wait_for(lambda: tracking_repo.get_report("10000004")["support_count"] == 1, message="support counted")


def test_a_confidential_report_is_never_the_original_of_a_duplicate(start, routing_repo, tracking_repo):
    submit, _ = start()
    submit("10000004", title="Jalan berlubang di Iringmulyo", body=POTHOLE, confidential=True)
    triaged(routing_repo, "10000004")
    submit("10000005", title="Lubang di jalan Pala", body=SAME_POTHOLE)
    assert triaged(routing_repo, "10000005")["duplicate_of"] is None


def test_retrain_learns_from_a_national_admins_disposition(start, service_config, routing_repo):
    submit, container = start(AUTO_DISPOSE_THRESHOLD=1.01)  # everything waits for a national admin here
    text = "Perajin rotan kesulitan bahan baku dan mesin produksi, mohon pembinaan sentra industri kecil."
    submit("10000004", title="Sentra industri rotan", body=text, location=None)
    triaged(routing_repo, "10000004")

    with service_proxy("routing", service_config) as routing:
        routing.dispose("10000004", NATIONAL_ADMIN, {"agency_code": "KEMENPERIN"})
        assert routing_repo.training_examples()[0]["target"] == "KEMENPERIN"
        trained = routing.retrain()
        assert trained["trained"] and trained["version"] == 1 and trained["dispositions"] == 1
        assert "KEMENPERIN" in trained["classes"]
        submit("10000005", title="Industri rotan", body=text, location=None)
        record = triaged(routing_repo, "10000005")
    assert record["model_version"] == 1
    assert "KEMENPERIN" in {candidate["agency"] for candidate in record["candidates"]}


def test_the_hourly_run_trains_only_when_there_is_something_new(start, service_config, routing_repo):
    submit, container = start(AUTO_DISPOSE_THRESHOLD=1.01)
    with hook(container, "retrain_on_schedule") as scheduled:
        scheduled()  # no model yet: the first one is trained from the bundled corpus
        assert routing_repo.model_version()["version"] == 1
        scheduled()  # nothing new since
        assert routing_repo.model_version()["version"] == 1
        submit("10000004", body="Sentra industri rotan kekurangan bahan baku", location=None)
        triaged(routing_repo, "10000004")
        with service_proxy("routing", service_config) as routing:
            routing.dispose("10000004", NATIONAL_ADMIN, {"agency_code": "KEMENPERIN"})
        scheduled()
        assert routing_repo.model_version()["version"] == 2


def test_only_the_holder_of_the_lease_trains(start, service_config, routing_repo):
    start()
    assert routing_repo.claim_lease("triage_training", "another-replica", 60)
    with service_proxy("routing", service_config) as routing:
        assert routing.retrain() == {"trained": False, "reason": "another replica is training"}
    assert routing_repo.model_version() is None


def test_a_stop_during_a_retrain_ends_the_training_and_frees_the_lease(start, service_config, routing_repo):
    """A stop waits for running workers; a fit takes seconds, so without this the stop outlasted honcho's and
    compose's grace, routing was killed, and the lease it held kept every replica from training for 10 minutes."""
    _, container = start()
    provider = next(d for d in container.dependencies if isinstance(d, TriageEngine))
    with service_proxy("routing", service_config) as routing:
        retrain = eventlet.spawn(routing.retrain)
        training = wait_for(lambda: next(iter(provider.trainings), None), message="a training process")
        container.stop()
        assert retrain.wait() == {"trained": False, "reason": STOPPING}
    assert training.returncode == -signal.SIGKILL
    assert routing_repo.model_version() is None
    assert routing_repo.claim_lease("triage_training", "another-replica", 60)


def test_a_confidential_near_duplicate_moves_no_public_count(start, routing_repo, tracking_repo):
    """Issue 13 (low): a confidential report linked to a public original added +1 to its public support_count,
    which showed that a hidden report about the same thing exists. It is linked, and not counted."""
    submit, container = start(AUTO_DISPOSE_THRESHOLD=1.01)
    submit("10000004", title="Jalan berlubang di Iringmulyo", body=POTHOLE)
    triaged(routing_repo, "10000004")
    submit("10000005", title="Lubang di jalan Pala", body=SAME_POTHOLE, confidential=True)
    assert triaged(routing_repo, "10000005")["duplicate_of"] == "10000004"
    linked = wait_for(lambda: [e for e in tracking_repo.entries("10000005", 2) if e["kind"] == "duplicate_linked"],
                      message="the confidential reporter told of the link")
    assert "tidak dihitung" in linked[0]["note"]
    submit("10000006", title="Lubang jalan Pala", body=SAME_POTHOLE)  # a public one is counted, as before
    assert triaged(routing_repo, "10000006")["duplicate_of"] == "10000004"
    wait_for(lambda: "lapor_duplicates_linked_total 2.0" in metrics_of(container), message="both links made")
    assert tracking_repo.db.supports.count_documents({"tracking_id": "10000004"}) == 1
    assert tracking_repo.get_report("10000004")["support_count"] == 1
