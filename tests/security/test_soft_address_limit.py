"""Issue 13 (Low, "the per-address limit"): one carrier-grade NAT address can be a whole district, so past the
per-address submission limit a client that proves some work (services.gateway.proof_of_work) is let through,
up to a ceiling; before, the 61st report of the hour from one address was refused whoever sent it.

Through the real gateway, store and intake (the API), and the web form's answer (a worker of the gateway)."""
import pytest
import requests
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from services.common.errors import RateLimited
from services.gateway import proof_of_work, web_session
from services.gateway.service import GatewayService
from services.gateway.web_base import WebTools, _environment
from services.intake.attachments import DEFAULT_LIMITS
from tests.security.samples import SECRET
from tests.support.factories import make_report

BITS = 10  # quick for the tests; the default is 18


def submit(url, forwarded_for, proof=None):
    headers = {"X-Forwarded-For": forwarded_for}
    if proof is not None:
        headers[proof_of_work.HEADER] = proof
    return requests.post(f"{url}/api/v1/reports", json=make_report(), headers=headers, timeout=30)


def challenge_of(response):
    assert response.status_code == 429, response.text
    work = response.json()["error"]["work"]
    assert work["bits"] == BITS and work["header"] == proof_of_work.HEADER
    return work["challenge"]


def proof_for(challenge):
    return f"{challenge}:{proof_of_work.solve(challenge)}"


@pytest.fixture
def gateway_url(start_gateway):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=1, RATE_LIMIT_IP_WORK_BITS=BITS, RATE_LIMIT_IP_CEILING_PER_HOUR=6,
                           TRUSTED_PROXIES="127.0.0.0/8")
    return url


def test_past_the_limit_a_proof_of_work_lets_a_report_through_once(gateway_url):
    assert submit(gateway_url, "203.0.113.7").status_code == 201
    challenge = challenge_of(submit(gateway_url, "203.0.113.7"))

    proof = proof_for(challenge)
    assert submit(gateway_url, "203.0.113.7", proof).status_code == 201
    again = submit(gateway_url, "203.0.113.7", proof)  # one proof, one report
    assert again.status_code == 429 and again.json()["error"]["work"]["challenge"] != challenge


def test_a_proof_is_good_only_from_the_address_it_was_given_to_and_must_be_solved(gateway_url):
    for address in ("203.0.113.7", "198.51.100.9"):
        assert submit(gateway_url, address).status_code == 201
    challenge = challenge_of(submit(gateway_url, "203.0.113.7"))

    assert submit(gateway_url, "198.51.100.9", proof_for(challenge)).status_code == 429
    unsolved = f"{challenge}:{next(s for s in map(str, range(1000)) if not _solves(challenge, s))}"
    assert submit(gateway_url, "203.0.113.7", unsolved).status_code == 429
    forged = challenge.replace(f".{BITS}.", ".1.")  # fewer bits asked: the MAC no longer holds
    assert submit(gateway_url, "203.0.113.7", proof_for(forged)).status_code == 429
    assert submit(gateway_url, "203.0.113.7", "garbage:" + "x" * 500).status_code == 429


def test_an_ipv6_subscriber_is_one_client_across_its_64(gateway_url):
    assert submit(gateway_url, "2001:db8:1:2::1").status_code == 201
    challenge = challenge_of(submit(gateway_url, "2001:db8:1:2::77"))  # another address, the same /64
    assert submit(gateway_url, "2001:db8:1:2:abcd::9", proof_for(challenge)).status_code == 201
    assert submit(gateway_url, "2001:db8:1:3::1").status_code == 201  # the next /64 is someone else


def test_past_the_ceiling_no_proof_helps(gateway_url):
    statuses = []
    for _ in range(8):
        answer = submit(gateway_url, "203.0.113.7")
        if answer.status_code == 429 and "work" in answer.json()["error"]:
            answer = submit(gateway_url, "203.0.113.7", proof_for(answer.json()["error"]["work"]["challenge"]))
        statuses.append(answer.status_code)
    assert statuses.count(201) >= 2 and statuses[-1] == 429
    final = submit(gateway_url, "203.0.113.7")
    assert final.status_code == 429 and "work" not in final.json()["error"]


def test_with_no_work_asked_the_limit_is_hard(start_gateway):
    url, _ = start_gateway(RATE_LIMIT_IP_PER_HOUR=1, RATE_LIMIT_IP_WORK_BITS=0)
    assert submit(url, "203.0.113.7").status_code == 201
    refused = submit(url, "203.0.113.7")
    assert refused.status_code == 429 and "work" not in refused.json()["error"]


def test_an_expired_challenge_is_refused():
    counter = "ip:abc"
    challenge = proof_of_work.issue(SECRET, counter, 4, 1_000_000)
    proof = proof_for(challenge)
    assert proof_of_work.accepted_nonce(SECRET, counter, proof, 4, 1_000_000 + 299) is not None
    assert proof_of_work.accepted_nonce(SECRET, counter, proof, 4, 1_000_000 + 301) is None
    assert proof_of_work.accepted_nonce(SECRET, "ip:other", proof, 4, 1_000_000) is None
    assert proof_of_work.accepted_nonce(SECRET, counter, proof, 5, 1_000_000) is None  # the gateway now asks more


def _solves(challenge, solution):
    import hashlib
    digest = hashlib.sha256(f"{challenge}:{solution}".encode()).digest()
    return proof_of_work.leading_zero_bits(digest) >= BITS


# -- the web form


BROWSER = "browser-cookie-value"


@pytest.fixture
def web_gateway():
    gateway = worker_factory(GatewayService, pages=WebTools(SECRET, _environment(), {}),
                             attachment_limits=DEFAULT_LIMITS)
    gateway.auth.token_principal.return_value = None
    gateway.routing.regions.return_value = []
    gateway.routing.categories.return_value = {"categories": []}
    gateway.routing.public_agencies.return_value = []
    return gateway


def _post_form(gateway, **extra):
    builder = EnvironBuilder(path="/lapor", method="POST", data={
        "csrf_token": web_session.csrf_token(SECRET, BROWSER), "type": "complaint", "title": "Banjir di pasar",
        "body": "Air setinggi lutut sejak pagi di Pasar Cendrawasih.", **extra})
    builder.headers.add("Cookie", f"{web_session.BROWSER_COOKIE}={BROWSER}")
    return gateway.submit_post(builder.get_request())


def test_the_web_form_past_the_limit_carries_the_challenge_and_sends_the_proof(web_gateway):
    challenge = proof_of_work.issue(SECRET, "ip:abc", BITS, 1_000_000)
    web_gateway.rate_limits.check.side_effect = RateLimited(
        "x", fields={"retry_after": 1200, "challenge": challenge, "work_bits": BITS})

    page = _post_form(web_gateway)
    text = page.get_data(as_text=True)
    assert page.status_code == 429
    assert f'data-challenge="{challenge}"' in text and f'data-bits="{BITS}"' in text
    assert 'name="proof"' in text and "Banjir di pasar" in text  # what was typed stays
    assert "20 menit" in text

    web_gateway.rate_limits.check.side_effect = None
    web_gateway.intake.submit.return_value = {"tracking_id": "10000004", "access_code": "ABCD-EFGH",
                                              "status": "received"}
    proof = proof_for(challenge)
    assert _post_form(web_gateway, proof=proof).status_code == 303
    assert web_gateway.rate_limits.check.call_args.kwargs["proof"] == proof


def test_a_hard_refusal_on_the_web_shows_no_challenge(web_gateway):
    web_gateway.rate_limits.check.side_effect = RateLimited("x", fields={"retry_after": 600})
    page = _post_form(web_gateway)
    assert page.status_code == 429 and "data-challenge" not in page.get_data(as_text=True)
