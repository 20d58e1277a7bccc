"""The adapter configuration (channel → adapter, webhook secrets) and the webhook signature."""
import hashlib
import hmac

import pytest

from services.notifications.adapters import HttpSmsAdapter, parse_routes, parse_secrets, sign


def test_routes_name_an_adapter_per_channel():
    assert parse_routes("email=smtp, sms=http,webhook=webhook") == {"email": "smtp", "sms": "http",
                                                                    "webhook": "webhook"}
    assert parse_routes("sms=smpp,twitter=log") == {"sms": "smpp", "twitter": "log"}
    assert parse_routes("") == {} and parse_routes(None) == {}


@pytest.mark.parametrize("text, named", [
    ("fax=log", "fax"), ("email=carrier-pigeon", "carrier-pigeon"), ("sms=smtp", "smtp"), ("console=log", "console"),
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
