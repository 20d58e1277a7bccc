"""The gateway over real HTTP with real intake and tracking: when the broker is away, 503 and nothing written."""
import pytest
import requests

from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.tracking.service import TrackingService
from tests.support.factories import make_report
from tests.support.proxy import TcpProxy
from tests.support.waiting import wait_for


@pytest.fixture
def proxy():
    proxy = TcpProxy().start()
    yield proxy
    proxy.close()


@pytest.fixture
def gateway_url(start_service, rabbit_config, proxy):
    for cls in (TrackingService, IntakeService):
        start_service(cls)
    gateway = start_service(GatewayService, AMQP_URI=proxy.uri(rabbit_config["vhost"]), RPC_TIMEOUT=3)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


def post_report(url, idempotency_key=None):
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return requests.post(f"{url}/api/v1/reports", json=make_report(), headers=headers, timeout=30)


def test_while_the_broker_is_down_submissions_get_503_and_nothing_is_written(gateway_url, proxy, open_repo):
    submissions = open_repo(IntakeRepository, "lapor_intake").db.submissions
    assert post_report(gateway_url).status_code == 201

    proxy.cut()
    response = post_report(gateway_url)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert submissions.count_documents({}) == 1

    proxy.restore()
    # While the gateway reconnects, a try may time out after intake got it: a client retries with one key.
    retry = lambda: post_report(gateway_url, idempotency_key="retry-after-outage").status_code == 201  # noqa: E731
    wait_for(retry, timeout=30, interval=1, message="201 after reconnect")
    assert submissions.count_documents({}) == 2


def test_health_reports_each_service(gateway_url):
    response = requests.get(f"{gateway_url}/health", timeout=10)
    assert response.status_code == 503  # routing, notifications and sla are not running here
    services = response.json()["services"]
    assert services["intake"] == services["tracking"] == services["gateway"] == "ok"
    assert services["routing"] == services["sla"] == services["notifications"] == "down"
    assert response.json()["status"] == "degraded"
