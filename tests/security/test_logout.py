"""Issue 13 item 14: signing out revokes the bearer token itself (its id is denied until it would have expired),
through the API and through the console's "Keluar"; every bearer request checks. On the real store."""
import json

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.events import now
from services.gateway import accounts, web_session
from services.gateway.auth import Authenticator
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.gateway.web_base import WebTools, _environment
from tests.security.samples import SECRET

TTL_SECONDS = 1800


@pytest.fixture
def repository(open_repo):
    repository = open_repo(GatewayRepository, "lapor_gateway")
    repository.insert_account({"_id": "demo.admin", "role": "national_admin", "name": "Demo", "agency_code": None,
                               "password_hash": None, "created_at": now(), "disabled_at": None})
    return repository


@pytest.fixture
def gateway(repository):
    return worker_factory(GatewayService, auth=Authenticator(repository, SECRET, TTL_SECONDS),
                          pages=WebTools(SECRET, _environment(), {}))


def new_token(repository):
    return accounts.issue_token(repository.account("demo.admin"), None, SECRET, TTL_SECONDS, now())


def _api(path, token, method="GET", language=None):
    headers = {"Authorization": f"Bearer {token}"}
    if language:
        headers["Accept-Language"] = language
    return EnvironBuilder(path=path, method=method, headers=headers).get_request()


def _error(response):
    return json.loads(response.get_data(as_text=True))["error"]


def test_after_logout_the_same_token_gets_401(gateway, repository):
    token = new_token(repository)
    assert gateway.audit_log(_api("/api/v1/audit", token)).status_code == 200

    assert gateway.logout(_api("/api/v1/auth/logout", token, "POST")).status_code == 204

    refused = gateway.audit_log(_api("/api/v1/audit", token))
    assert refused.status_code == 401
    assert _error(refused) == {"code": "unauthorized",
                               "message": "Sesi tidak valid atau sudah berakhir; silakan masuk lagi."}
    in_english = gateway.audit_log(_api("/api/v1/audit", token, language="en"))
    assert _error(in_english)["message"] == "Not signed in: the username, password or session is not valid."
    assert gateway.logout(_api("/api/v1/auth/logout", token, "POST")).status_code == 401


def test_only_the_session_signed_out_ends(gateway, repository):
    ended, other = new_token(repository), new_token(repository)
    gateway.logout(_api("/api/v1/auth/logout", ended, "POST"))
    assert gateway.audit_log(_api("/api/v1/audit", other)).status_code == 200


def test_the_console_s_sign_out_revokes_the_session_token(gateway, repository):
    token = new_token(repository)
    builder = EnvironBuilder(path="/keluar", method="POST",
                             data={"csrf_token": web_session.csrf_token(SECRET, token)})
    builder.headers.add("Cookie", f"{web_session.SESSION_COOKIE}={token}")
    assert gateway.logout_post(builder.get_request()).status_code == 303

    assert gateway.audit_log(_api("/api/v1/audit", token)).status_code == 401


def test_a_revocation_is_kept_until_the_token_would_have_expired(gateway, repository):
    token = new_token(repository)
    gateway.logout(_api("/api/v1/auth/logout", token, "POST"))
    claims = accounts.verify_token(token, SECRET)
    [kept] = list(repository.db.revoked_tokens.find({}))
    assert kept["_id"] == claims["jti"] and int(kept["expires_at"].timestamp()) == claims["exp"]
