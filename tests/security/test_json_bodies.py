"""Issue 13, low items: a body nested too deeply or holding a lone surrogate is a 400 in DESIGN §4's shape on every
JSON route (it was a RecursionError, or a failure at insert: 500)."""
import json

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.errors import ValidationFailed
from services.gateway.http import parse_json
from services.gateway.service import GatewayService

DEEP = b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
NESTED_BUT_PARSEABLE = b'{"title": ' + b"[" * 200 + b"]" * 200 + b"}"
LONE_SURROGATE = b'{"type": "complaint", "title": "Jalan \\ud800 rusak", "body": "Berlubang.", "anonymous": false, ' \
                 b'"confidential": false}'
SURROGATE_KEY = b'{"\\udfff": 1}'


@pytest.mark.parametrize("raw", [DEEP, NESTED_BUT_PARSEABLE, LONE_SURROGATE, SURROGATE_KEY],
                         ids=["deep", "nested", "surrogate", "surrogate-key"])
def test_the_body_is_refused_as_a_validation_error(raw):
    with pytest.raises(ValidationFailed) as refused:
        parse_json(raw)
    assert set(refused.value.fields) == {"_body"}


def test_a_paired_surrogate_and_ordinary_nesting_are_fine():
    assert parse_json('{"title": "Banjir \\ud83c\\udf0a", "location": {"lat": -5.1}}'.encode()) == {
        "title": "Banjir \U0001F30A", "location": {"lat": -5.1}}


@pytest.fixture
def gateway():
    return worker_factory(GatewayService)


def _post(path, body, language=None):
    headers = {"Content-Type": "application/json"}
    if language:
        headers["Accept-Language"] = language
    return EnvironBuilder(path=path, method="POST", data=body, headers=headers).get_request()


@pytest.mark.parametrize("body", [DEEP, LONE_SURROGATE], ids=["deep", "surrogate"])
@pytest.mark.parametrize("language, headline", [
    (None, "Isian tidak valid; lihat rincian per kolom."), ("en", "Some fields are invalid; see the details per field."),
], ids=["id", "en"])
def test_a_report_submission_answers_400_in_the_client_s_language(gateway, body, language, headline):
    response = gateway.submit_report(_post("/api/v1/reports", body, language))
    error = json.loads(response.get_data(as_text=True))["error"]
    assert response.status_code == 400
    assert (error["code"], error["message"]) == ("validation_error", headline)
    assert list(error["fields"]) == ["_body"]
    gateway.intake.submit.assert_not_called()


@pytest.mark.parametrize("call", [
    lambda gateway, request: gateway.issue_token(request),
    lambda gateway, request: gateway.receive_sms(request),
    lambda gateway, request: gateway.report_action(request, "10000004", "replies"),
], ids=["auth-token", "sms", "reply"])
def test_every_json_route_answers_400(gateway, call):
    response = call(gateway, _post("/api/v1/x", DEEP))
    assert response.status_code == 400
    assert json.loads(response.get_data(as_text=True))["error"]["code"] == "validation_error"
