"""Rate limits at the edge over real HTTP, with the real gateway, intake and tracking on the broker and store:
the request after the limit gets 429 with Retry-After and stores nothing; 0 means unlimited."""
from datetime import timedelta

import pytest
import requests

from services.common.errors import RateLimited
from services.common.events import now
from services.gateway.ratelimit import RateLimits
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.intake.storage import IntakeRepository
from services.notifications.service import NotificationsService
from services.notifications.storage import NotificationsRepository
from services.sla.service import SlaService
from services.tracking.storage import TrackingRepository
from tests.support.bus import hook
from tests.support.factories import make_report
from tests.support.waiting import wait_for


@pytest.fixture
def submissions(open_repo):
    return open_repo(IntakeRepository, "lapor_intake").db.submissions


@pytest.fixture
def counters(open_repo):
    return open_repo(GatewayRepository, "lapor_gateway").db.rate_limits


def submit(url, language="id"):
    return requests.post(f"{url}/api/v1/reports", json=make_report(), headers={"Accept-Language": language},
                         timeout=30)


def limiter(gateway):
    """The worker-side object of the running gateway's RateLimits, for the buckets no route uses yet."""
    [provider] = [dependency for dependency in gateway.dependencies if isinstance(dependency, RateLimits)]
    return provider.get_dependency(None)


def test_the_submission_after_the_limit_gets_429_and_stores_nothing(start_gateway, submissions, counters):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=3)

    assert [submit(url).status_code for _ in range(3)] == [201, 201, 201]
    refused = submit(url)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "menit" in refused.json()["error"]["message"]
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 3600
    assert submissions.count_documents({}) == 3
    english = submit(url, language="en")
    assert english.status_code == 429 and english.json()["error"]["message"] == "Too many requests; try again later."
    [counter] = counters.find()
    assert counter["_id"].startswith("ip:") and "127.0.0.1" not in str(counter)


def test_when_the_window_has_passed_the_address_may_submit_again(start_gateway, counters):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=1)
    assert submit(url).status_code == 201
    assert submit(url).status_code == 429

    counters.update_many({}, {"$set": {"window_started_at": now() - timedelta(minutes=61)}})

    assert submit(url).status_code == 201


def test_a_limit_of_zero_never_limits_and_counts_nothing(start_gateway, submissions, counters):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=0)

    assert {submit(url).status_code for _ in range(6)} == {201}
    assert submissions.count_documents({}) == 6
    assert counters.count_documents({}) == 0


def test_phone_and_api_key_buckets_count_apart(start_gateway):
    _, gateway = start_gateway(RATE_LIMIT_PHONE_PER_HOUR=2, RATE_LIMIT_API_KEY_PER_MINUTE=1)
    rate_limits = limiter(gateway)

    rate_limits.check("phone", "081234567890")
    rate_limits.check("phone", "+62 812-3456-7890")  # the same sender, however the SMS gateway writes it
    rate_limits.check("phone", "081298765432")
    rate_limits.check("api_key", "081234567890")
    with pytest.raises(RateLimited) as phone_refused:
        rate_limits.check("phone", "6281234567890")
    with pytest.raises(RateLimited) as api_key_refused:
        rate_limits.check("api_key", "081234567890")

    assert 3500 < phone_refused.value.retry_after <= 3600
    assert 0 < api_key_refused.value.retry_after <= 60


def test_a_bad_limit_stops_the_gateway_from_starting(start_service):
    with pytest.raises(ValueError, match="RATE_LIMIT_IP_PER_HOUR"):
        start_service(GatewayService, RATE_LIMIT_IP_PER_HOUR="lots")


def submit_as(url, forwarded_for):
    return requests.post(f"{url}/api/v1/reports", json=make_report(), headers={"X-Forwarded-For": forwarded_for},
                         timeout=30)


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(start_gateway):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=1, TRUSTED_PROXIES="127.0.0.0/8")

    assert submit_as(url, "203.0.113.7").status_code == 201
    assert submit_as(url, "198.51.100.9").status_code == 201  # another citizen behind the same load balancer
    assert submit_as(url, "198.51.100.9, 127.0.0.2").status_code == 429  # through two of our proxies: the same one


def test_a_client_cannot_pick_its_address_when_the_peer_is_not_a_trusted_proxy(start_gateway):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=1)  # no trusted proxies: the header means nothing

    assert submit_as(url, "203.0.113.7").status_code == 201
    assert submit_as(url, "198.51.100.9").status_code == 429


def test_a_malformed_trusted_proxies_setting_stops_the_gateway_at_start(start_service):
    with pytest.raises(ValueError, match="not an IP address"):
        start_service(GatewayService, TRUSTED_PROXIES="10.0.0.0/8, lb.internal")


def test_counters_are_forgotten_a_day_after_their_window_opened(start_gateway, counters):
    url, gateway = start_gateway(RATE_LIMIT_IP_PER_HOUR=5)
    assert submit(url).status_code == 201
    counters.insert_one({"_id": "ip:someone-from-last-week", "window_started_at": now() - timedelta(days=7),
                         "count": 5})

    with hook(gateway, "purge_counters") as purge:
        purge()

    remaining = [counter["_id"] for counter in counters.find()]
    assert len(remaining) == 1 and remaining[0].startswith("ip:")  # this hour's stays, last week's is gone
    assert remaining[0] != "ip:someone-from-last-week"


def test_a_new_access_code_goes_out_without_the_gateway_waiting_and_is_limited_per_client(
        start_gateway, start_service, open_repo):
    """Issue 13 item 13 over the real broker: the request is handed to tracking without waiting for the reply,
    the code still reaches the reporter, and the client's next request is refused."""
    start_service(NotificationsService)
    url, _ = start_gateway(RATE_LIMIT_ACCESS_CODE_PER_DAY=1)
    tracking_id = submit(url).json()["tracking_id"]
    tracking = open_repo(TrackingRepository, "lapor_tracking")
    wait_for(lambda: tracking.get_report(tracking_id), message="case opened")

    answer = requests.post(f"{url}/api/v1/reports/{tracking_id}/access-code", timeout=30)

    assert answer.status_code == 202
    messages = open_repo(NotificationsRepository, "lapor_notifications")
    wait_for(lambda: [m for m in messages.find_messages(tracking_id=tracking_id)[0]
                      if m["template"] == "access_code_reissued"], message="the new code sent")
    again = requests.post(f"{url}/api/v1/reports/{tracking_id}/access-code", timeout=30)
    assert again.status_code == 429 and again.json()["error"]["code"] == "rate_limited"


def test_public_reads_that_cost_the_store_are_limited_per_address(start_gateway, start_service, counters):
    """Issue 13 item 12: lists, searches, SLA figures and Open311 lists had no read limit, so one client could
    keep the store busy for everyone. A single report view is not counted (reporters poll their own)."""
    start_service(SlaService)
    url, _ = start_gateway(RATE_LIMIT_READS_PER_MINUTE=3)
    reads = [f"{url}/api/v1/reports?q=pohon", f"{url}/api/v1/stats/sla", f"{url}/open311/v2/requests.json"]
    assert [requests.get(read, timeout=30).status_code for read in reads] == [200, 200, 200]
    assert requests.get(f"{url}/api/v1/reports/10000004", timeout=30).status_code == 404  # not counted

    refused = requests.get(f"{url}/api/v1/reports?q=jalan", timeout=30)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) <= 60
    open311 = requests.get(f"{url}/open311/v2/requests.json", timeout=30)
    assert open311.status_code == 429 and open311.json()[0]["code"] == 429
    assert requests.get(f"{url}/laporan", timeout=30).status_code == 429
    assert submit(url).status_code == 201  # submissions count in a bucket of their own
    [counter] = counters.find({"_id": {"$regex": "^read:"}})
    assert "127.0.0.1" not in str(counter)
