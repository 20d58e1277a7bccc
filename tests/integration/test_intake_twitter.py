"""Twitter/X mentions over real HTTP, through the gateway, intake, tracking and notifications on the real broker
and store: the CRC, the signature, one report per mention, the access code kept out of the public answer and the
bus and sent once by direct message (to a local stand-in for the X API), 503 while notifications is away."""
import base64
import hashlib
import hmac
import json

import pytest
import requests

from services.common.errors import ValidationFailed
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.intake.storage import IntakeRepository
from services.notifications.service import NotificationsService
from services.notifications.storage import NotificationsRepository
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.peers import HttpReceiver
from tests.support.recorder import make_recorder
from tests.support.waiting import wait_for

CONSUMER_SECRET = "test-consumer-secret"
DM_TOKEN = "lapor-account-user-token"
HANDLE = "siti_warga"
USER_ID = "4242"


def make_tweet(tweet_id="1850000000000000001", text=None, screen_name=HANDLE, **overrides):
    tweet = {
        "id_str": tweet_id,
        "text": text or "@lapor1708 KOTA METRO jalan berlubang di depan pasar Cendrawasih #jalanrusak",
        "created_at": "Wed Nov 25 02:30:00 +0000 2026",
        "user": {"id_str": USER_ID, "screen_name": screen_name, "name": "Siti"},
        "entities": {"hashtags": [{"text": "jalanrusak"}],
                     "user_mentions": [{"screen_name": "lapor1708", "id_str": "1708"}]},
        "in_reply_to_status_id_str": None,
        "favorite_count": 0,
    }
    tweet.update(overrides)
    return tweet


def payload(*tweets):
    return {"for_user_id": "1708", "tweet_create_events": list(tweets)}


def raw_body(data):
    # Deliberately not how requests would serialise it: the signature must be checked over these very bytes.
    return json.dumps(data, indent=1, ensure_ascii=False).encode()


def sign(body, secret=CONSUMER_SECRET):
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def recorder(start_service):
    recorder = make_recorder(("intake", "report_submitted"))
    start_service(recorder)
    return recorder


@pytest.fixture
def x_api():
    """Stands in for api.twitter.com: records each direct message request."""
    peer = HttpReceiver().start()
    yield peer
    peer.stop()


@pytest.fixture
def start_notifications(start_service, x_api):
    return lambda: start_service(NotificationsService, NOTIFY_ADAPTERS="twitter=twitter", TWITTER_API_URL=x_api.url,
                                 TWITTER_DM_TOKEN=DM_TOKEN)


@pytest.fixture
def gateway_url(start_service, recorder):
    start_service(TrackingService)
    start_service(IntakeService)
    gateway = start_service(GatewayService, TWITTER_CONSUMER_SECRET=CONSUMER_SECRET)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}/api/v1/channels/twitter"


@pytest.fixture
def url(gateway_url, start_notifications):
    start_notifications()
    return gateway_url


@pytest.fixture
def notifications_repo(open_repo):
    return open_repo(NotificationsRepository, "lapor_notifications")


def direct_messages(x_api):
    """(user id, text) of each direct message the X API stand-in received, after checking how it was asked."""
    messages = []
    for request in x_api.requests:
        prefix, _, rest = request["path"].partition("/2/dm_conversations/with/")
        user_id, _, suffix = rest.partition("/")
        assert (prefix, suffix) == ("", "messages"), request["path"]
        assert request["headers"]["Authorization"] == f"Bearer {DM_TOKEN}"
        body = json.loads(request["body"])
        assert set(body) == {"text"}
        messages.append((user_id, body["text"]))
    return messages


@pytest.fixture
def intake_repo(open_repo):
    return open_repo(IntakeRepository, "lapor_intake")


def deliver(url, data, signature=None, body=None):
    body = body if body is not None else raw_body(data)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature != "omit":
        headers["X-Twitter-Webhooks-Signature"] = signature or sign(body)
    return requests.post(url, data=body, headers=headers, timeout=30)


def test_the_crc_challenge_is_answered_with_the_hmac_of_the_token(url):
    response = requests.get(url, params={"crc_token": "challenge-123"}, timeout=10)

    assert response.status_code == 200
    expected = hmac.new(CONSUMER_SECRET.encode(), b"challenge-123", hashlib.sha256).digest()
    assert response.json() == {"response_token": "sha256=" + base64.b64encode(expected).decode()}

    missing = requests.get(url, timeout=10)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "validation_error" and "crc_token" in missing.json()["error"]["fields"]


def test_a_signed_mention_becomes_a_report_answered_without_the_access_code(url, intake_repo, tracking_repo,
                                                                            recorder, service_config, x_api,
                                                                            notifications_repo):
    response = deliver(url, payload(make_tweet()))

    assert response.status_code == 200
    answer = response.json()
    tracking_id = answer["tracking_id"]
    assert is_valid_tracking_id(tracking_id)
    assert answer["items"] == [{"tracking_id": tracking_id, "reply": answer["reply"],
                                "tweet_id": "1850000000000000001"}]
    assert answer["reply"].startswith(f"@{HANDLE} ") and tracking_id in answer["reply"]
    assert "lapor.test/lacak?id=" in answer["reply"] and len(answer["reply"]) <= 280

    stored = intake_repo.get_submission(tracking_id)
    assert stored["channel"] == "twitter" and stored["received_at"] is not None
    event = stored["event"]
    assert event["body"] == "KOTA METRO jalan berlubang di depan pasar Cendrawasih"
    assert event["region_hint"] == "18.72" and event["type"] == "complaint"
    assert not event["anonymous"] and not event["confidential"]
    with service_proxy("intake", service_config) as intake:
        assert intake.contact(stored["reporter_ref"]) == {"handle": f"@{HANDLE}", "twitter_id": USER_ID}

    [(_, published)] = wait_for(lambda: recorder.heard, message="report_submitted")
    assert published["tracking_id"] == tracking_id and published["channel"] == "twitter"
    assert HANDLE not in json.dumps(published) and HANDLE not in json.dumps(stored, default=str)
    report = wait_for(lambda: tracking_repo.get_report(tracking_id), message="case opened")
    assert report["channel"] == "twitter"

    # The access code exists (its hash went to tracking) but is in neither the public answer nor the store.
    with service_proxy("intake", service_config) as intake:
        receipt = intake.submit_tweet(make_tweet())
    assert receipt["tracking_id"] == tracking_id
    assert receipt["access_code"] not in response.text and receipt["access_code"] not in json.dumps(published)

    # It went to the author by direct message, once, and the outbox keeps it masked.
    [(user_id, text)] = direct_messages(x_api)
    assert user_id == USER_ID
    assert text.startswith(f"LAPOR!: Kode akses laporan {tracking_id}: {receipt['access_code']}.")
    kept = notifications_repo.get_message(f"{tracking_id}:access_code_receipt:twitter")
    assert (kept["status"], kept["adapter"], kept["recipient_masked"]) == ("sent", "twitter", "********2")
    assert receipt["access_code"] not in json.dumps(kept, default=str) and USER_ID not in kept["recipient_masked"]


@pytest.mark.parametrize("signature", ["omit", "sha256=", "wrong", "signed with another secret"])
def test_a_bad_or_missing_signature_is_403_and_stores_nothing(url, intake_repo, x_api, signature):
    body = raw_body(payload(make_tweet()))
    if signature == "signed with another secret":
        signature = sign(body, "another-secret")
    elif signature == "wrong":
        signature = sign(body + b" ")

    response = deliver(url, None, signature=signature, body=body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert intake_repo.db.submissions.count_documents({}) == 0
    assert intake_repo.db.idempotency.count_documents({}) == 0
    assert x_api.requests == []


def test_the_same_tweet_delivered_twice_is_one_report_and_one_direct_message(url, intake_repo, x_api):
    first = deliver(url, payload(make_tweet()))
    again = deliver(url, payload(make_tweet(favorite_count=5)))  # Twitter's counters may differ on redelivery

    assert first.status_code == again.status_code == 200
    assert again.json()["tracking_id"] == first.json()["tracking_id"]
    assert intake_repo.db.submissions.count_documents({}) == 1
    [(user_id, text)] = direct_messages(x_api)
    assert user_id == USER_ID and first.json()["tracking_id"] in text


def test_own_tweets_retweets_and_other_events_are_ignored(url, intake_repo):
    own = make_tweet("1850000000000000002", screen_name="LAPOR1708",
                     text="@siti_warga Laporan Anda diterima, nomor 10000004.")
    retweet = make_tweet("1850000000000000003", retweeted_status={"id_str": "1850000000000000001"})
    not_a_mention = make_tweet("1850000000000000004", text="jalan rusak lagi",
                               entities={"hashtags": [], "user_mentions": []})
    hashtags_only = make_tweet("1850000000000000005", text="@lapor1708 #jalanrusak")

    for data in (payload(own, retweet, not_a_mention, hashtags_only), {"for_user_id": "1708", "favorite_events": []}):
        response = deliver(url, data)
        assert response.status_code == 200 and response.json() == {"items": []}
    assert intake_repo.db.submissions.count_documents({}) == 0


def test_several_mentions_in_one_payload_are_listed_one_by_one(url, intake_repo, x_api):
    first = make_tweet("1850000000000000006")
    second = make_tweet("1850000000000000007", text="@lapor1708 lampu jalan di Jalan Pala mati sejak seminggu",
                        entities={"hashtags": [], "user_mentions": [{"screen_name": "lapor1708"}]},
                        user={"id_str": "77", "screen_name": "budi"})

    answer = deliver(url, payload(first, second)).json()

    assert [item["tweet_id"] for item in answer["items"]] == ["1850000000000000006", "1850000000000000007"]
    assert "tracking_id" not in answer and "reply" not in answer
    assert answer["items"][1]["reply"].startswith("@budi ")
    assert intake_repo.db.submissions.count_documents({}) == 2
    sent = direct_messages(x_api)
    assert [user_id for user_id, _ in sent] == [USER_ID, "77"]
    assert all(item["tracking_id"] in text for item, (_, text) in zip(answer["items"], sent))


def test_while_notifications_is_away_the_delivery_is_503_and_its_redelivery_sends_the_code_once(
        gateway_url, start_notifications, intake_repo, x_api):
    data = payload(make_tweet())

    away = deliver(gateway_url, data)  # the report is stored, but its code cannot go yet

    assert away.status_code == 503 and away.json()["error"]["code"] == "unavailable"
    assert intake_repo.db.submissions.count_documents({}) == 1 and x_api.requests == []

    start_notifications()
    redelivered = deliver(gateway_url, data)
    again = deliver(gateway_url, data)

    assert redelivered.status_code == again.status_code == 200
    assert intake_repo.db.submissions.count_documents({}) == 1
    [(user_id, text)] = direct_messages(x_api)
    assert user_id == USER_ID and redelivered.json()["tracking_id"] in text


def test_a_code_asked_for_while_notifications_was_stopped_and_asked_again_on_redelivery_goes_once(
        gateway_url, start_notifications, intake_repo, notifications_repo, x_api):
    start_notifications().stop()  # its queue stays: the gateway's call waits there until it gives up
    data = payload(make_tweet())

    assert deliver(gateway_url, data).status_code == 503

    start_notifications()
    wait_for(lambda: x_api.requests, message="the call the gateway gave up on, taken and sent")
    redelivered = deliver(gateway_url, data)

    assert redelivered.status_code == 200  # its call returns once it is done: a second message would be here
    [(user_id, text)] = direct_messages(x_api)
    assert user_id == USER_ID and redelivered.json()["tracking_id"] in text
    assert notifications_repo.db.messages.count_documents({"template": "access_code_receipt"}) == 1

def test_without_a_consumer_secret_the_channel_is_unavailable(start_service, intake_repo):
    gateway = start_service(GatewayService)  # TWITTER_CONSUMER_SECRET not set
    url = f"http://{gateway.config['WEB_SERVER_ADDRESS']}/api/v1/channels/twitter"
    body = raw_body(payload(make_tweet()))

    assert requests.get(url, params={"crc_token": "x"}, timeout=10).status_code == 503
    response = deliver(url, None, signature=sign(body, ""), body=body)
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    assert intake_repo.db.submissions.count_documents({}) == 0


def test_intake_refuses_a_tweet_that_is_not_a_mention_of_the_account(start_service, service_config, intake_repo):
    start_service(TrackingService)
    start_service(IntakeService)
    with service_proxy("intake", service_config) as intake:
        with pytest.raises(ValidationFailed) as caught:
            intake.submit_tweet(make_tweet(entities={"hashtags": [], "user_mentions": [{"screen_name": "other"}]}))
        assert "entities.user_mentions" in caught.value.fields
        with pytest.raises(ValidationFailed) as caught:
            intake.submit_tweet({"text": "@lapor1708 jalan rusak"})
        assert set(caught.value.fields) == {"id_str", "user"}
    assert intake_repo.db.submissions.count_documents({}) == 0

