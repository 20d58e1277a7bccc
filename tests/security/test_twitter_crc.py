"""Issue 13: the Twitter/X CRC endpoint was a signing oracle. X's CRC answer and its delivery signature are the same
HMAC (consumer secret, base64), so `GET /api/v1/channels/twitter?crc_token=<a JSON body>` answered the exact
signature that made `POST` of that body accept a forged mention, whose access code then went by direct message to
any user id. Now only a short token of X's alphabet is answered (never one that is JSON), a body that could be such
a token is never taken as signed, and the route is rate-limited per client address. The gateway's routes with its
real rate limiter on the real store; intake and notifications are the worker factory's stand-ins."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.errors import Forbidden, ValidationFailed
from services.gateway import limits, ratelimit, storage as gateway_storage
from services.gateway.ratelimit import RateLimiter
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.gateway.twitter import TwitterWebhook
from services.intake import twitter
from tests.security.samples import SECRET

CONSUMER_SECRET = "security-test-consumer-secret"
AT = datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc)
CLIENT, OTHER_CLIENT = "203.0.113.9", "198.51.100.4"
CRC_PER_HOUR = 3
# X's own example token (a UUID) and a base64 one: both must still be answered.
GOOD_TOKENS = ["9b4507b3-9040-4669-9ca3-6b94edb50553", "NzY2OTU4MjYtYjZiNy00ZDBi+/Lw==", "challenge_123", "a" * 128]


def forged_delivery(victim_id="31337"):
    """The attacker's mention: a report in the name of `victim_id`, whose access code would go to them by DM."""
    tweet = {"id_str": "1850000000000000099", "text": "@lapor1708 KOTA METRO jalan rusak parah",
             "created_at": "Wed Nov 25 02:30:00 +0000 2026",
             "user": {"id_str": victim_id, "screen_name": "korban", "name": "Korban"},
             "entities": {"hashtags": [], "user_mentions": [{"screen_name": "lapor1708", "id_str": "1708"}]}}
    return json.dumps({"for_user_id": "1708", "tweet_create_events": [tweet]}, separators=(",", ":"))


def x_answer(token):
    """What X expects for a CRC token: base64(HMAC-SHA256(consumer secret, token)), `sha256=` first."""
    digest = hmac.new(CONSUMER_SECRET.encode(), token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@pytest.fixture
def webhook():
    webhook = TwitterWebhook()
    webhook.consumer_secret, webhook.account = CONSUMER_SECRET, "lapor1708"
    return webhook


@pytest.fixture
def gateway(open_repo, monkeypatch, webhook):
    for module in (ratelimit, gateway_storage):
        monkeypatch.setattr(module, "now", lambda: AT)
    repository = open_repo(GatewayRepository, "lapor_gateway")
    configured = limits.limits_from_config({"RATE_LIMIT_TWITTER_CRC_PER_HOUR": CRC_PER_HOUR})
    gateway = worker_factory(GatewayService, storage=repository, twitter=webhook,
                             rate_limits=RateLimiter(repository, configured, SECRET))
    gateway.intake.submit_tweet.side_effect = lambda tweet: {
        "tracking_id": "10000004", "access_code": "ABCD-EFGH", "reply": "@korban Laporan Anda diterima"}
    return gateway


def crc(gateway, token, client=CLIENT, language=None):
    headers = {"Accept-Language": language} if language else {}
    request = EnvironBuilder(path="/api/v1/channels/twitter", method="GET", query_string={"crc_token": token},
                             headers=headers, environ_base={"REMOTE_ADDR": client}).get_request()
    response = gateway.twitter_crc(request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def deliver(gateway, body, signature):
    request = EnvironBuilder(path="/api/v1/channels/twitter", method="POST", data=body.encode(),
                             headers={"Content-Type": "application/json",
                                      "X-Twitter-Webhooks-Signature": signature}).get_request()
    response = gateway.receive_tweets(request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def test_a_crc_answer_for_a_json_body_signs_no_delivery_and_sends_no_code(gateway):
    """The reported attack, end to end: ask the CRC to sign a forged mention, then deliver it with that answer."""
    body = forged_delivery()

    status, answer = crc(gateway, body)
    if "response_token" in answer:  # the oracle answered: its answer is exactly X's signature of the body
        deliver(gateway, body, answer["response_token"])

    gateway.intake.submit_tweet.assert_not_called()
    gateway.notifications.send_receipt_code.assert_not_called()  # no access code by DM to the victim's id
    assert status == 400, answer
    assert answer["error"]["code"] == "validation_error" and list(answer["error"]["fields"]) == ["crc_token"]


REFUSED_TOKENS = [
    ("json object", forged_delivery()),
    ("json array", '[{"tweet_create_events": []}]'),
    ("leading space", ' {"a": 1}'),
    ("json number", "12345"),
    ("json true", "true"),
    ("json null", "null"),
    ("json false", "false"),
    ("too long", "a" * 129),
    ("space", "abc def"),
    ("quote", 'abc"def'),
    ("brace", "abc{def"),
    ("non-ascii", "tokén"),
    ("newline", "abc\ndef"),
]


@pytest.mark.parametrize("token", [token for _, token in REFUSED_TOKENS], ids=[name for name, _ in REFUSED_TOKENS])
@pytest.mark.parametrize("language, message", [
    (None, "Token CRC harus 1–128 karakter A–Z, a–z, 0–9, _ - = + / dan bukan JSON."),
    ("en", "The CRC token must be 1–128 characters of A–Z, a–z, 0–9, _ - = + / and not JSON."),
], ids=["id", "en"])
def test_a_token_that_is_not_x_s_short_token_is_refused(gateway, token, language, message):
    status, answer = crc(gateway, token, language=language)
    assert status == 400, answer
    assert answer["error"]["fields"] == {"crc_token": [message]}


@pytest.mark.parametrize("token", GOOD_TOKENS)
def test_x_s_own_tokens_are_still_answered_as_x_expects(gateway, token):
    assert crc(gateway, token) == (200, {"response_token": x_answer(token)})


def test_the_crc_route_is_rate_limited_per_client_address(gateway):
    statuses = [crc(gateway, f"challenge-{n}")[0] for n in range(CRC_PER_HOUR + 1)]
    assert statuses == [200] * CRC_PER_HOUR + [429]
    request = EnvironBuilder(path="/api/v1/channels/twitter", method="GET", query_string={"crc_token": "late"},
                             environ_base={"REMOTE_ADDR": CLIENT}).get_request()
    refused = gateway.twitter_crc(request)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    assert crc(gateway, "challenge-other", client=OTHER_CLIENT)[0] == 200  # another address has its own count


def test_a_refused_token_counts_against_the_limit_too(gateway):
    statuses = [crc(gateway, '{"guess": %d}' % n)[0] for n in range(CRC_PER_HOUR + 1)]
    assert statuses == [400] * CRC_PER_HOUR + [429]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=140), st.text(alphabet="ab{}[]\":, 0123456789-=+/_ntrueflsTF", max_size=140)))
def test_no_crc_answer_is_ever_a_delivery_signature(token):
    """Domain separation, for any text: either the CRC refuses the token, or the same bytes as a body are never
    taken as signed by that answer."""
    webhook = TwitterWebhook()
    webhook.consumer_secret, webhook.account = CONSUMER_SECRET, "lapor1708"
    try:
        answer = webhook.crc(token)["response_token"]
    except ValidationFailed:
        return
    with pytest.raises(Forbidden):
        webhook.receive(token.encode(), answer, pytest.fail, pytest.fail)


def test_the_pure_crc_function_refuses_a_body_too():
    with pytest.raises(ValueError):
        twitter.crc_response(CONSUMER_SECRET, forged_delivery())
    assert not twitter.signature_matches(CONSUMER_SECRET, b"challenge_123", x_answer("challenge_123"))
