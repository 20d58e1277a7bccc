"""The delivery adapters against local peers: SMTP (aiosmtpd), SMPP (smpp34's SMSC), an HTTP SMS gateway, a
stand-in for the X API (Twitter direct messages) and an agency's webhook (signature checked as the agency would),
plus the admin routes on the real gateway."""
import email
import hashlib
import hmac
import json

import pytest
import requests

from services.common.events import now
from services.gateway import accounts
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.intake.storage import IntakeRepository
from services.routing.service import RoutingService
from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_intake_twitter import make_tweet
from tests.integration.test_notifications import (  # noqa: F401  (fixtures)
    SITI, SITI_TRACES, TRACKING_ID, call, deadline, deliver, disposed, intake, messages, notifications, repo,
    reporter, routing, updated,
)
from tests.support.bus import hook
from tests.support.peers import HttpReceiver, ProcessPeer


def verified(ref, channel):
    return updated(ref, channel=channel, version=2, kind="verified", status="verified")


@pytest.fixture
def smtp_sink(tmp_path):
    sink = ProcessPeer("tests.support.smtp_sink", tmp_path).start()
    yield sink
    sink.stop()


@pytest.fixture
def smsc(tmp_path):
    peer = ProcessPeer("tests.support.smsc", tmp_path).start()
    yield peer
    peer.stop()


@pytest.fixture
def receiver():
    peer = HttpReceiver().start()
    yield peer
    peer.stop()


def test_email_round_trip_through_a_local_smtp_server(notifications, reporter, service_config, repo, smtp_sink):
    ref = reporter("web", email="siti@example.id")
    container = notifications(NOTIFY_ADAPTERS="email=smtp", SMTP_PORT=smtp_sink.port,
                              SMTP_FROM="LAPOR! <noreply@lapor.test>")
    deliver(container, service_config, updated(ref))

    received, *again = smtp_sink.wait_for(1)
    mail = email.message_from_string(received["data"])
    # SMTP is at-least-once: a send that timed out under load is tried again, so a receiver may see the
    # same message twice, always under the same delivery id to drop it by.
    assert all(email.message_from_string(r["data"])["X-Lapor-Delivery"] == mail["X-Lapor-Delivery"] for r in again)
    assert received["to"] == ["siti@example.id"] and received["from"] == "noreply@lapor.test"
    assert mail["Subject"] == f"LAPOR!: Laporan {TRACKING_ID}" and mail["To"] == "siti@example.id"
    assert mail["X-Lapor-Delivery"] == f"{TRACKING_ID}:1:reporter:email"
    [message] = messages(repo)
    assert mail.get_payload(decode=True).decode("utf-8").strip() == message["text"]
    assert (message["status"], message["adapter"]) == ("sent", "smtp")


def test_sms_round_trip_through_a_local_smsc(notifications, reporter, service_config, repo, smsc):
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_ADAPTERS="sms=smpp", SMPP_PORT=smsc.port, SMPP_SYSTEM_ID="lapor",
                              SMPP_PASSWORD="secret", SMPP_SOURCE_ADDR="1708")
    deliver(container, service_config, verified(ref, "sms"))

    [submitted] = smsc.wait_for(1)
    assert submitted["destination_addr"] == "6281234567890" and submitted["source_addr"] == "1708"
    [message] = messages(repo)
    assert bytes.fromhex(submitted["short_message"]).decode("ascii") == message["text"]
    assert (message["status"], message["adapter"]) == ("sent", "smpp")


def test_an_smsc_refusal_is_a_failed_try_left_to_the_retries(notifications, reporter, service_config, repo, smsc):
    ref = reporter("sms", phone="080012345678")  # the SMSC refuses 62800…
    container = notifications(NOTIFY_ADAPTERS="sms=smpp", SMPP_PORT=smsc.port)
    deliver(container, service_config, verified(ref, "sms"))

    [message] = messages(repo)
    assert (message["status"], message["last_error"]) == ("failed", "PDUError")
    assert smsc.received() == []


def test_sms_through_an_http_gateway_with_its_token(notifications, reporter, service_config, repo, receiver):
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_ADAPTERS="sms=http", SMS_GATEWAY_URL=f"{receiver.url}/sms/send",
                              SMS_GATEWAY_TOKEN="operator-token")
    deliver(container, service_config, verified(ref, "sms"))

    [request] = receiver.requests
    body = json.loads(request["body"])
    assert request["path"] == "/sms/send" and request["headers"]["Authorization"] == "Bearer operator-token"
    assert body == {"to": "+6281234567890", "text": messages(repo)[0]["text"],
                    "reference": f"{TRACKING_ID}:2:reporter:sms"}
    assert messages(repo)[0]["status"] == "sent"


@pytest.mark.parametrize("status, outcome", [(503, "failed"), (400, "dead")])
def test_a_gateway_error_is_retried_unless_it_can_never_succeed(
        notifications, reporter, service_config, repo, receiver, status, outcome):
    receiver.status = status
    ref = reporter("sms", phone="081234567890")
    container = notifications(NOTIFY_ADAPTERS="sms=http", SMS_GATEWAY_URL=receiver.url)
    deliver(container, service_config, verified(ref, "sms"))

    assert messages(repo)[0]["status"] == outcome


# --- Twitter/X direct messages --------------------------------------------------------------------------------

DM_TOKEN = "lapor-account-user-token"


@pytest.fixture
def twitter_reporter(intake, open_repo):
    """The reporter_ref of a real mention (author id 4242) taken by intake."""
    with hook(intake, "submit_tweet") as submit_tweet:
        receipt = submit_tweet(make_tweet())
    return open_repo(IntakeRepository, "lapor_intake").get_submission(receipt["tracking_id"])["reporter_ref"]


def x_api_notifications(notifications, receiver):
    return notifications(NOTIFY_ADAPTERS="twitter=twitter", TWITTER_API_URL=f"{receiver.url}/x",
                         TWITTER_DM_TOKEN=DM_TOKEN)


def test_a_twitter_reporter_is_told_by_direct_message_to_their_user_id(
        notifications, twitter_reporter, service_config, repo, receiver):
    container = x_api_notifications(notifications, receiver)
    deliver(container, service_config, verified(twitter_reporter, "twitter"))

    [request] = receiver.requests
    [message] = messages(repo)
    assert request["path"] == "/x/2/dm_conversations/with/4242/messages"
    assert request["headers"]["Authorization"] == f"Bearer {DM_TOKEN}"
    assert json.loads(request["body"]) == {"text": message["text"]}
    assert (message["channel"], message["recipient_masked"]) == ("twitter", "********2")
    assert (message["status"], message["adapter"]) == ("sent", "twitter")


def test_a_first_code_goes_once_by_direct_message_however_often_it_is_asked(notifications, repo, receiver):
    container = x_api_notifications(notifications, receiver)

    assert call(container, "send_receipt_code", TRACKING_ID, "twitter", "4242", "ABCD-EFGH") is True
    assert call(container, "send_receipt_code", TRACKING_ID, "twitter", "4242", "ABCD-EFGH") is False

    [request] = receiver.requests
    assert request["path"] == "/x/2/dm_conversations/with/4242/messages"
    assert request["headers"]["Authorization"] == f"Bearer {DM_TOKEN}"
    text = json.loads(request["body"])["text"]
    assert text.startswith(f"LAPOR!: Kode akses laporan {TRACKING_ID}: ABCD-EFGH.") and " / LAPOR!: " in text
    [message] = messages(repo)
    assert message["_id"] == f"{TRACKING_ID}:access_code_receipt:twitter" and message["secret"]
    assert message["text"] == text.replace("ABCD-EFGH", "****-****") and message["status"] == "sent"


@pytest.mark.parametrize("status, outcome", [(429, "failed"), (503, "failed"), (403, "dead"), (401, "dead")])
def test_an_x_api_error_is_retried_when_it_may_pass(
        notifications, twitter_reporter, service_config, repo, receiver, status, outcome):
    receiver.status = status  # 403: the user does not take direct messages from the account; 429: rate limit
    container = x_api_notifications(notifications, receiver)
    deliver(container, service_config, verified(twitter_reporter, "twitter"))

    [message] = messages(repo)
    assert (message["status"], message["attempts"]) == (outcome, 1)


def test_the_twitter_adapter_refuses_to_start_without_the_accounts_token(notifications):
    with pytest.raises(ValueError, match="LAPOR_TWITTER_DM_TOKEN"):
        notifications(NOTIFY_ADAPTERS="twitter=twitter")


@pytest.fixture
def agency_webhook(start_service, routing, receiver):
    container = start_service(RoutingService)
    with hook(container, "set_agency_contacts") as set_contacts:
        set_contacts("KOTA-18.72", {"webhook_url": f"{receiver.url}/lapor/inbox", "webhook_secret_ref": "metro"})
    return receiver


def test_an_agency_webhook_is_signed_and_carries_no_reporter_identity(
        notifications, reporter, service_config, repo, agency_webhook):
    ref = reporter("web", anonymous=True, **SITI)
    container = notifications(NOTIFY_ADAPTERS="webhook=webhook", NOTIFY_WEBHOOK_SECRETS="metro=s3cr3t==,aceh=x")
    deliver(container, service_config, deadline(), disposed(ref, anonymous=True))

    [request] = agency_webhook.requests
    expected = "sha256=" + hmac.new(b"s3cr3t==", request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-Lapor-Signature"], expected)
    assert request["headers"]["X-Lapor-Delivery"] == f"{TRACKING_ID}:2:agency:webhook"
    body = json.loads(request["body"])
    assert body["tracking_id"] == TRACKING_ID and body["template"] == "agency_disposed"
    assert body["data"]["agency_code"] == "KOTA-18.72" and body["data"]["due_at"].startswith("2026-11-27T09:00")
    assert not any(trace in request["body"].decode("utf-8") for trace in SITI_TRACES)
    [message] = [m for m in messages(repo) if m["audience"] == "agency"]
    assert message["recipient_masked"] == "http://127.0.0.1/***" and message["status"] == "sent"


def test_a_webhook_without_a_configured_secret_is_dead_at_once(
        notifications, reporter, service_config, repo, agency_webhook):
    container = notifications(NOTIFY_ADAPTERS="webhook=webhook")
    deliver(container, service_config, deadline("deadline_breached"))

    [message] = messages(repo)
    assert (message["status"], message["attempts"]) == ("dead", 1)
    assert message["last_error"] == "no webhook secret configured for this agency"
    assert agency_webhook.requests == []


# --- the admin routes on the gateway -----------------------------------------------------------------------------

@pytest.fixture
def gateway_url(start_service, routing):
    gateway = start_service(GatewayService)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def token(open_repo):
    repository = open_repo(GatewayRepository, "lapor_gateway")

    def issue(username, role, agency_code=None):
        account = accounts.new_account({"username": username, "role": role, "agency_code": agency_code},
                                       "$argon2id$unused", now())
        repository.insert_account(account)
        agency = {"name": "Pemerintah Kota Metro", "scope": [agency_code]} if agency_code else None
        return accounts.issue_token(account, agency, TEST_SECRET_KEY, 3600, now())

    return issue


def test_national_admins_edit_templates_read_the_outbox_and_resend_over_http(
        notifications, reporter, service_config, repo, gateway_url, token):
    container = notifications(NOTIFY_ADAPTERS="webhook=webhook")  # KOTA-18.72 has no webhook: console
    admin = {"Authorization": f"Bearer {token('budi.s', 'national_admin')}"}
    agency = {"Authorization": f"Bearer {token('metro.admin', 'agency_admin', 'KOTA-18.72')}"}
    base = f"{gateway_url}/api/v1"

    listed = requests.get(f"{base}/notification-templates", headers=admin, timeout=30).json()
    assert listed["total"] == len(listed["items"]) >= 32
    refused = requests.put(f"{base}/notification-templates/report_verified/id", headers=admin,
                           json={"text": "Laporan {tracking_id} oleh {nama}"}, timeout=30)
    assert refused.status_code == 400 and "{nama}" in json.dumps(refused.json(), ensure_ascii=False)
    changed = requests.put(f"{base}/notification-templates/report_verified/en", headers=admin,
                           json={"text": "Report {tracking_id} checked."}, timeout=30)
    assert changed.status_code == 200 and changed.json()["customized"]
    assert requests.put(f"{base}/notification-templates/report_verified/en", headers=agency,
                        json={"text": "x {tracking_id}"}, timeout=30).status_code == 403
    assert requests.get(f"{base}/notification-templates", headers=agency, timeout=30).status_code == 403
    reset = requests.delete(f"{base}/notification-templates/report_verified/en", headers=admin, timeout=30)
    assert reset.status_code == 200 and not reset.json()["customized"]

    deliver(container, service_config, deadline("deadline_breached"))
    outbox = requests.get(f"{base}/notifications", params={"tracking_id": TRACKING_ID, "channel": "console"},
                          headers=admin, timeout=30).json()
    [item] = outbox["items"]
    assert item["recipient"] == "KOTA-18.72" and item["status"] == "sent" and item["attempts"] == 1
    resent = requests.post(f"{base}/notifications/{item['id']}/resend", headers=admin, timeout=30)
    assert resent.status_code == 409  # it was sent: nothing to resend
    assert requests.post(f"{base}/notifications/{item['id']}/resend", headers=agency, timeout=30).status_code == 403
    missing = requests.post(f"{base}/notifications/{TRACKING_ID}:9:reporter:sms/resend", headers=admin, timeout=30)
    assert missing.status_code == 404
