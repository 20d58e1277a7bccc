"""Issue 12 item 1: training the triage model while events and RPCs flow never wedges routing.

Before the fix, scikit-learn's fit ran in an `eventlet.tpool` thread while the event loop triaged with
the same libraries; a monkey-patched (green) lock shared by the two threads raised `greenlet.error:
Cannot switch to a different thread` in a hub timer, and routing stopped consuming for good."""
import eventlet
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

from services.routing.service import RoutingService
from services.tracking.service import TrackingService
from tests.support.bus import cluster_proxy
from tests.support.factories import make_submitted_event
from tests.support.waiting import wait_for

REPORTS = 60
RETRAINS = 4


@pytest.fixture
def stack(start_service, service_config, routing_repo):
    start_service(TrackingService)
    return start_service(RoutingService), event_dispatcher(service_config)


def test_routing_keeps_disposing_and_answering_while_it_retrains(stack, service_config, tracking_repo):
    _, dispatch = stack
    ids = [str(10000000 + n) for n in range(REPORTS)]  # plain strings: tracking takes the event's id as given
    trained = []

    def retrain_repeatedly():
        with cluster_proxy(service_config, timeout=120) as cluster:  # as the gateway's broker user would
            for _ in range(RETRAINS):
                trained.append(cluster.routing.retrain())

    trainer = eventlet.spawn(retrain_repeatedly)
    answered = 0
    with ClusterRpcProxy(service_config, timeout=10) as cluster:
        for n, tracking_id in enumerate(ids):
            dispatch("intake", "report_submitted",
                     make_submitted_event(tracking_id=tracking_id, agency_code="KOTA-18.72"))
            if n % 10 == 0:  # RPCs keep being answered during training too
                assert cluster.routing.agency("KOTA-18.72")["code"] == "KOTA-18.72"
                answered += 1
            eventlet.sleep(0.05)
    trainer.wait()

    assert len(trained) == RETRAINS and all(result["trained"] for result in trained), trained
    assert answered == REPORTS // 10
    wait_for(lambda: all((r := tracking_repo.get_report(t)) and r["status"] == "disposed" for t in ids),
             timeout=60, message="every report disposed while routing trained")
