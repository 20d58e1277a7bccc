"""The OpenAPI document against the running stack (issue 3): schemathesis over every operation finds no 5xx and
nothing undocumented, and real answers (every view of a report, lists, errors) match the documented schemas."""
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from devstack import launcher
from services.common.mongo import open_repository
from services.gateway.admin import create_api_key
from services.gateway.storage import GatewayRepository
from tests.support.factories import UNROUTABLE, make_report
from tests.support.waiting import wait_for

PASSWORD = "kata-sandi-uji-123"
TWITTER_SECRET = "e2e-twitter-consumer-secret"
MAX_EXAMPLES = 25
SEED = 20261125
# Officer actions only an agency may take: fuzzed with the agency admin's token, the report being theirs.
AGENCY_ACTIONS = ("followups", "request-info", "complete", "decline")
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")


class Api:
    """The stack over HTTP, with the credentials and real identifiers the fuzzing reuses."""

    def __init__(self, url):
        self.url = url

    def get(self, path, headers=None, **params):
        return requests.get(f"{self.url}{path}", headers=headers, params=params, timeout=30)

    def post(self, path, body=None, headers=None):
        return requests.post(f"{self.url}{path}", json=body, headers=headers, timeout=30)

    def submit(self, **overrides):
        response = self.post("/api/v1/reports", make_report(**overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def sign_in(self, username):
        response = self.post("/api/v1/auth/token", {"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _restart_gateway_with_twitter(stack):
    """The e2e stack leaves the Twitter channel off (503 by design); the fuzzing wants the webhook itself."""
    stack.stop_process("gateway")
    [(name, argv, env)] = launcher.service_processes(stack.settings, ["gateway"])
    stack.start_process(name, argv, dict(env, LAPOR_TWITTER_CONSUMER_SECRET=TWITTER_SECRET))
    launcher.wait_until_healthy(stack.settings, timeout=60, process_alive=stack.all_alive)


def _new_api_key(settings):
    client, gateway = open_repository(GatewayRepository, settings.mongo_uri, "lapor_gateway", settings.db_prefix)
    try:
        return create_api_key(gateway, "openapi-fuzz")
    finally:
        client.close()


@pytest.fixture(scope="module")
def api(stack):
    _restart_gateway_with_twitter(stack)
    launcher.seed_demo(stack.settings, PASSWORD, log=lambda message: None)
    api = Api(stack.url)
    api.api_key = _new_api_key(stack.settings)
    # Every sign-in before the fuzzing, whose wrong passwords soon lock logins from this address.
    api.admin, api.supervisor, api.agency = (api.sign_in(username) for username in (
        "demo.admin", "demo.supervisor", "demo.metro.admin"))
    api.disposed = api.submit(agency_code="KOTA-18.72")
    api.received = api.submit(**UNROUTABLE, location=None)
    api.confidential = api.submit(confidential=True, anonymous=True, agency_code="KOTA-18.72")
    for receipt in (api.disposed, api.received, api.confidential):
        wait_for(lambda: api.get(f"/api/v1/reports/{receipt['tracking_id']}", api.admin).status_code == 200,
                 timeout=30, message=f"report {receipt['tracking_id']} opened")
    wait_for(lambda: api.get(f"/api/v1/reports/{api.disposed['tracking_id']}").json()["status"] == "disposed",
             timeout=30, message="the automatic disposition")
    api.message_ids = wait_for(lambda: [message["id"] for message in api.get(
        "/api/v1/notifications", api.admin).json()["items"]], timeout=30, message="a notification sent")
    api.templates = sorted({item["name"] for item in api.get(
        "/api/v1/notification-templates", api.admin).json()["items"]})
    api.categories = [service["service_code"] for service in api.get("/open311/v2/services.json").json()]
    return api


def real_values(api):
    """Path parameter name → values that exist, so fuzzing reaches past the 404s into the real code paths."""
    tracking_ids = [api.disposed["tracking_id"], api.received["tracking_id"], api.confidential["tracking_id"]]
    return {"tracking_id": tracking_ids, "service_request_id": tracking_ids, "token": tracking_ids,
            "message_id": api.message_ids[:3], "name": api.templates[:3], "service_code": api.categories[:3]}


@pytest.fixture(scope="module")
def openapi_schema(api):
    """The document as the running gateway serves it, with the national admin's token, the reporter's access
    code and the API key as credentials for the schemes each operation declares."""
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "base-url": api.url,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True, "database": "none",
                       "mode": "all"},
        "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True}, "coverage": {"enabled": True},
                   "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{check: {"enabled": True} for check in CHECKS}},
        "auth": {"openapi": {"bearerAuth": {"bearer": api.admin["Authorization"].split(" ", 1)[1]},
                             "accessCode": {"api_key": api.disposed["access_code"]},
                             "apiKey": {"api_key": api.api_key}}},
    })
    schema = schemathesis.openapi.from_dict(response.json(), config=config)
    known = real_values(api)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Mostly a value that exists; the generated one (malformed or unknown) stays among the choices.
        choices = [path_parameters] + [dict(path_parameters, **{name: value}) for name in path_parameters or ()
                                       if name in known for value in known[name]]
        return st.sampled_from(choices)

    return schema


REPORT, TIMELINE = "/api/v1/reports/{tracking_id}", "/api/v1/reports/{tracking_id}/timeline"
# (what, the documented path, the path asked, who asks, query, the status expected)
REAL_ANSWERS = [
    ("public view", REPORT, "/api/v1/reports/{disposed}", None, {}, 200),
    ("reporter view", REPORT, "/api/v1/reports/{disposed}", "reporter", {}, 200),
    ("national admin view", REPORT, "/api/v1/reports/{received}", "admin", {}, 200),
    ("supervisor view", REPORT, "/api/v1/reports/{confidential}", "supervisor", {}, 200),
    ("agency view", REPORT, "/api/v1/reports/{disposed}", "agency", {}, 200),
    ("government system view", REPORT, "/api/v1/reports/{disposed}", "system", {}, 200),
    ("confidential to the public", REPORT, "/api/v1/reports/{confidential}", None, {}, 404),
    ("malformed tracking ID", REPORT, "/api/v1/reports/12345678", None, {}, 400),
    ("wrong access code", REPORT, "/api/v1/reports/{disposed}", "wrong code", {}, 403),
    ("bad token, in English", REPORT, "/api/v1/reports/{disposed}", "bad token", {}, 401),
    ("public timeline", TIMELINE, "/api/v1/reports/{disposed}/timeline", None, {}, 200),
    ("officer timeline", TIMELINE, "/api/v1/reports/{disposed}/timeline", "admin", {}, 200),
    ("attachments", "/api/v1/reports/{tracking_id}/attachments", "/api/v1/reports/{disposed}/attachments",
     "reporter", {}, 200),
    ("feed", "/api/v1/reports", "/api/v1/reports", None, {"per_page": "5"}, 200),
    ("feed, bad page", "/api/v1/reports", "/api/v1/reports", None, {"page": "0"}, 400),
    ("agency inbox", "/api/v1/inbox", "/api/v1/inbox", "agency", {}, 200),
    ("national queue", "/api/v1/inbox", "/api/v1/inbox", "admin", {}, 200),
    ("stats", "/api/v1/stats", "/api/v1/stats", None, {}, 200),
    ("sla figures", "/api/v1/stats/sla", "/api/v1/stats/sla", None, {"agency": "KOTA-18.72"}, 200),
    ("agency tree", "/api/v1/agencies", "/api/v1/agencies", None, {"q": "Metro", "tree": "1"}, 200),
    ("regions", "/api/v1/regions", "/api/v1/regions", None, {"q": "Metro", "level": "2"}, 200),
    ("calendar", "/api/v1/calendar", "/api/v1/calendar", "supervisor", {"year": "2026"}, 200),
    ("notification outbox", "/api/v1/notifications", "/api/v1/notifications", "admin", {}, 200),
    ("outbox refused", "/api/v1/notifications", "/api/v1/notifications", "agency", {}, 403),
    ("templates", "/api/v1/notification-templates", "/api/v1/notification-templates", "admin", {}, 200),
    ("audit log", "/api/v1/audit", "/api/v1/audit", "admin", {}, 200),
    ("open311 discovery", "/open311/v2/discovery.json", "/open311/v2/discovery.json", None, {}, 200),
    ("open311 services", "/open311/v2/services.json", "/open311/v2/services.json", None, {}, 200),
    ("open311 definition", "/open311/v2/services/{service_code}.json", "/open311/v2/services/jalan-rusak.json",
     None, {}, 200),
    ("open311 requests", "/open311/v2/requests.json", "/open311/v2/requests.json", None, {}, 200),
    ("open311 bad query", "/open311/v2/requests.json", "/open311/v2/requests.json", None, {"status": "x"}, 400),
    ("open311 request", "/open311/v2/requests/{service_request_id}.json", "/open311/v2/requests/{disposed}.json",
     None, {}, 200),
    ("open311 unknown", "/open311/v2/requests/{service_request_id}.json", "/open311/v2/requests/12345678.json",
     None, {}, 404),
    ("open311 token", "/open311/v2/tokens/{token}.json", "/open311/v2/tokens/{disposed}.json", None, {}, 200),
]


def headers_of(api, who):
    return {None: {}, "reporter": {"X-Access-Code": api.disposed["access_code"]}, "admin": api.admin,
            "supervisor": api.supervisor, "agency": api.agency, "system": {"X-API-Key": api.api_key},
            "wrong code": {"X-Access-Code": "AAAA-AAAA"},
            "bad token": {"Authorization": "Bearer not-a-token", "Accept-Language": "en"}}[who]


@pytest.mark.parametrize("what, documented, path, who, query, status", REAL_ANSWERS,
                         ids=[row[0] for row in REAL_ANSWERS])
def test_real_answers_match_the_documented_schemas(api, openapi_schema, what, documented, path, who, query,
                                                   status):
    ids = {name: getattr(api, name)["tracking_id"] for name in ("disposed", "received", "confidential")}
    response = api.get(path.format(**ids), headers=headers_of(api, who), **query)
    assert response.status_code == status, response.text
    openapi_schema[documented]["GET"].validate_response(response)


def test_each_view_carries_the_optional_fields_of_its_viewer(api):
    """The documented optional fields of a report, present exactly where DESIGN §4 says."""
    path = f"/api/v1/reports/{api.disposed['tracking_id']}"
    optional = {"reporter", "triage", "hops", "flagged"}
    seen = {who: optional & set(api.get(path, headers=headers_of(api, who)).json())
            for who in (None, "reporter", "admin", "supervisor", "agency")}
    assert seen == {None: set(), "reporter": {"reporter"}, "admin": optional, "supervisor": {"hops", "flagged"},
                    "agency": {"reporter", "hops", "flagged"}}


# Inputs that answered 500 before (found probing past the fuzzing's draws): each is now a 400 like its neighbours.
EDGE_INPUTS = [
    ("/api/v1/reports", {"to": "9999-12-31"}, None),  # the day after overflowed
    ("/api/v1/reports", {"from": "0001-01-01"}, None),  # before year 1 in UTC: the store's dates overflowed
    ("/api/v1/stats/sla", {"from": "9999-12-31"}, None),
    ("/api/v1/stats/sla", {"to": "0001-01-02"}, None),
    ("/open311/v2/requests.json", {"start_date": "9999-12-31"}, None),  # + 90 days
    ("/open311/v2/requests.json", {"end_date": "0001-01-01T00:00:00-05:00"}, None),  # - 90 days
    ("/api/v1/audit", {"page": "99999999999999999999"}, "admin"),  # the store's skip is a 64-bit integer
    ("/api/v1/notifications", {"page": "99999999999999999999"}, "admin"),
    ("/api/v1/agencies", {"page": "²"}, None),  # a digit to str.isdigit, not to int()
]


@pytest.mark.parametrize("path, query, who", EDGE_INPUTS, ids=[f"{path}?{query}" for path, query, _ in EDGE_INPUTS])
def test_far_off_dates_and_absurd_pages_are_refused_not_crashes(api, path, query, who):
    response = api.get(path, headers=headers_of(api, who), **query)
    assert response.status_code == 400, response.text


schema = schemathesis.pytest.from_fixture("openapi_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_anything_undocumented(case, api):
    if "Authorization" in case.headers and case.path.rsplit("/", 1)[-1] in AGENCY_ACTIONS:
        case.headers["Authorization"] = api.agency["Authorization"]  # a national admin would only get 403s
    case.call_and_validate(timeout=30)
