"""The adapter configuration (channel → adapter, webhook secrets), the webhook signature, the Twitter adapter's
own checks."""
import hashlib
import hmac
from types import SimpleNamespace

import pytest

from services.notifications.adapters import (
    ADAPTERS, Adapters, Delivery, HttpSmsAdapter, PermanentFailure, TwitterDmAdapter, parse_routes, parse_secrets, sign,
)


def test_routes_name_an_adapter_per_channel():
    assert parse_routes("email=smtp, sms=http,webhook=webhook") == {"email": "smtp", "sms": "http",
                                                                    "webhook": "webhook"}
    assert parse_routes("sms=smpp,twitter=log") == {"sms": "smpp", "twitter": "log"}
    assert parse_routes("twitter=twitter,sms=http") == {"twitter": "twitter", "sms": "http"}
    assert parse_routes("") == {} and parse_routes(None) == {}


@pytest.mark.parametrize("text, named", [
    ("fax=log", "fax"), ("email=carrier-pigeon", "carrier-pigeon"), ("sms=smtp", "smtp"), ("console=log", "console"),
    ("sms=twitter", "twitter"), ("twitter=http", "http"), ("twitter=smtp", "smtp"),
])
def test_a_bad_route_is_refused_by_name(text, named):
    with pytest.raises(ValueError, match=named):
        parse_routes(text)


def test_webhook_secrets_by_reference_may_contain_equals_signs():
    assert parse_secrets("metro=s3cr3t==,aceh=abc") == {"metro": "s3cr3t==", "aceh": "abc"}
    assert parse_secrets("") == {} and parse_secrets("broken") == {}


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body():
    body = b'{"id":"10000004:2:agency:webhook"}'
    expected = hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert sign("s3cr3t", body) == f"sha256={expected}"


def test_the_http_sms_adapter_needs_its_gateway():
    with pytest.raises(ValueError, match="LAPOR_SMS_GATEWAY_URL"):
        HttpSmsAdapter({})


def test_the_twitter_adapter_needs_the_accounts_token_and_defaults_to_the_x_api():
    with pytest.raises(ValueError, match="LAPOR_TWITTER_DM_TOKEN"):
        TwitterDmAdapter({"TWITTER_API_URL": "https://api.twitter.com"})
    adapter = TwitterDmAdapter({"TWITTER_DM_TOKEN": "user-token"})
    assert adapter.api_url == "https://api.twitter.com" and ADAPTERS["twitter"] is TwitterDmAdapter
    assert TwitterDmAdapter({"TWITTER_DM_TOKEN": "t", "TWITTER_API_URL": "http://127.0.0.1:9/"}).api_url == \
        "http://127.0.0.1:9"


@pytest.mark.parametrize("recipient", ["@siti", "42/../../2/tweets", "4242?x=1", "٤٢"])
def test_the_twitter_adapter_sends_only_to_a_numeric_user_id(recipient):
    delivery = Delivery("10000004:access_code_receipt:twitter", "10000004", "twitter", recipient, "********2",
                        "LAPOR!: ...", None, None, None)
    with pytest.raises(PermanentFailure):  # raised before any request: the recipient goes into the URL path
        TwitterDmAdapter({"TWITTER_DM_TOKEN": "user-token", "TWITTER_API_URL": "http://127.0.0.1:9"}).send(delivery)


def test_routing_twitter_to_its_adapter_without_a_token_stops_the_service_at_start():
    def set_up(config):
        adapters = Adapters()
        adapters.container = SimpleNamespace(config=config)
        adapters.setup()
        return adapters

    local = {"ENVIRONMENT": "local"}  # where a channel not named may fall to the log adapter
    with pytest.raises(ValueError, match="LAPOR_TWITTER_DM_TOKEN"):
        set_up(dict(local, NOTIFY_ADAPTERS="twitter=twitter"))
    assert set_up(dict(local, NOTIFY_ADAPTERS="twitter=twitter", TWITTER_DM_TOKEN="t")).adapter_for(
        "twitter").name == "twitter"
    assert set_up(local).adapter_for("twitter").name == "log"  # not routed: no token needed
