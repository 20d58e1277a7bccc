"""Open311 GeoReport v2 on the whole stack, driven by two clients nobody here wrote: civicbot (with its POST)
and georeport (reads). Discovery, services and a definition, a report filed through civicbot and read back
through georeport and our REST API, the list's filters, confidential and anonymous reports, API keys."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from civicbot import Endpoint, HttpError, Open311Client
from civicbot.http import HttpTransport, RateLimiter
from georeport import GeoReport

from devstack import launcher
from services.common.mongo import open_repository
from services.gateway.admin import create_api_key, revoke_api_key
from services.gateway.storage import GatewayRepository
from tests.support.factories import make_report
from tests.support.waiting import wait_for

PASSWORD = "kata-sandi-uji-123"
REPORTER = {"name": "Siti Aminah", "phone": "081234567890", "email": "siti@example.id"}
REPORTER_TRACES = ("Siti", "Aminah", "1234567890", "siti@example.id")
DESCRIPTION = "Jalan berlubang besar di depan Pasar Cendrawasih, sudah dua minggu belum diperbaiki"


@pytest.fixture(scope="module")
def keys(stack):
    """A working API key, and one that was revoked."""
    settings = stack.settings
    launcher.seed_demo(settings, PASSWORD, log=lambda message: None)
    mongo, gateway = open_repository(GatewayRepository, settings.mongo_uri, "lapor_gateway", settings.db_prefix)
    try:
        revoked = create_api_key(gateway, "dinas-lama")
        revoke_api_key(gateway, "dinas-lama")
        return {"good": create_api_key(gateway, "pemkot-metro-sim"), "revoked": revoked}
    finally:
        mongo.close()


@pytest.fixture(scope="module")
def base(stack):
    return f"{stack.url}/open311/v2"


@pytest.fixture(scope="module")
def civic(base):
    endpoint = Endpoint(id="lapor-e2e", name="LAPOR (e2e)", base_url=base, write=True)
    return Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))


@pytest.fixture(scope="module")
def geo(base):
    return GeoReport(base)


class Rest:
    """Our own REST API, to make reports of every kind and move them along."""

    def __init__(self, url):
        self.url = url
        self.tokens = {}

    def headers(self, username):
        if username not in self.tokens:
            response = requests.post(f"{self.url}/api/v1/auth/token",
                                     json={"username": username, "password": PASSWORD}, timeout=30)
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def submit(self, **overrides):
        response = requests.post(f"{self.url}/api/v1/reports", json=make_report(reporter=REPORTER, **overrides),
                                 timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["tracking_id"]

    def officer_view_when(self, tracking_id, condition):
        def check():
            response = requests.get(f"{self.url}/api/v1/reports/{tracking_id}", headers=self.headers("demo.admin"),
                                    timeout=30)
            return response.status_code == 200 and condition(response.json()) and response.json()

        return wait_for(check, timeout=30, interval=0.2, message=f"report {tracking_id}")

    def act(self, tracking_id, segment, body, username):
        response = requests.post(f"{self.url}/api/v1/reports/{tracking_id}/{segment}", json=body,
                                 headers=self.headers(username), timeout=30)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def rest(stack, keys):
    return Rest(stack.url)


@pytest.fixture(scope="module")
def reports(rest):
    """Reports made through REST: open and closed, in two categories, one confidential, one anonymous."""
    made = {
        "open": rest.submit(category="sampah", title="Sampah menumpuk di TPS Iringmulyo"),
        "closed": rest.submit(category="sampah", agency_code="KOTA-18.72", title="Sampah tidak diangkut"),
        "confidential": rest.submit(category="sampah", confidential=True, title="Pungutan di TPS"),
        "anonymous": rest.submit(category="lampu-jalan", anonymous=True, title="Lampu jalan mati"),
    }
    rest.officer_view_when(made["closed"], lambda report: report["status"] == "disposed")
    rest.act(made["closed"], "followups", {"message": "Truk sampah dijadwalkan"}, "demo.metro.admin")
    rest.act(made["closed"], "complete", {"note": "Sudah diangkut"}, "demo.metro.admin")
    for tracking_id in made.values():
        rest.officer_view_when(tracking_id, lambda report: True)  # every case is open in tracking
    return made


def http_error(call):
    """The status and body of the HTTP error a client raised (each client has its own error type)."""
    with pytest.raises((HttpError, requests.HTTPError)) as caught:
        call()
    error = caught.value
    if isinstance(error, HttpError):
        return error.status, json.loads(error.body)
    return error.response.status_code, error.response.json()


def assert_spec_error(body, status):
    assert isinstance(body, list) and body
    assert all(set(item) == {"code", "description"} and item["code"] == status for item in body), body


def test_discovery_and_the_services_with_a_definition(civic, geo, base):
    discovery = civic.http.get_json(f"{base}/discovery.json")
    [endpoint] = discovery["endpoints"]
    assert endpoint["url"] == base and endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"

    services = {service["service_code"]: service for service in geo.get_service_list()}
    assert {"jalan-rusak", "sampah", "ktp-el", "bpjs-kesehatan"} <= set(services)
    assert services["jalan-rusak"]["group"] == "Infrastruktur" and services["jalan-rusak"]["metadata"] is True
    assert [s["service_code"] for s in civic.list_services()] == [s["service_code"] for s in geo.get_service_list()]

    definition = geo.get_service_definition("jalan-rusak")
    road_type = next(a for a in definition["attributes"] if a["code"] == "road_type")
    assert road_type["datatype"] == "singlevaluelist" and road_type["required"]
    assert "kabupaten-kota" in {value["key"] for value in road_type["values"]}
    assert civic.get_service_definition("jalan-rusak") == definition
    status, body = http_error(lambda: geo.get_service_definition("tidak-ada"))
    assert status == 404
    assert_spec_error(body, 404)


def test_a_report_filed_by_civicbot_is_read_back_by_georeport_and_our_rest_api(civic, geo, keys, stack):
    prepared = civic.create_request(
        "jalan-rusak", dry_run=False, confirm="SEND", api_key=keys["good"], validate_remote=True,
        lat=-5.1131, lng=105.3067, address_string="Jl. Cendrawasih, Metro", description=DESCRIPTION,
        attributes={"road_type": "kabupaten-kota", "address_detail": "depan pasar"},
        first_name="Budi", last_name="Santoso", phone="081298765432", email="budi@example.id")
    [created] = prepared.response
    tracking_id = created["service_request_id"]
    assert tracking_id in created["service_notice"] and created["access_code"]

    def read_back():
        try:
            return geo.get_service_request(tracking_id)
        except requests.HTTPError:
            return None  # tracking opens the case a moment after intake answers

    request = wait_for(read_back, timeout=30, interval=0.2, message=f"request {tracking_id}")
    assert (request["service_request_id"], request["service_code"], request["status"]) == (
        tracking_id, "jalan-rusak", "open")
    assert request["service_name"] == "Jalan rusak" and request["description"].startswith(DESCRIPTION)
    assert (request["lat"], request["long"]) == (-5.1131, 105.3067)
    assert request["address"] == "Jl. Cendrawasih, Metro (depan pasar)"
    assert datetime.fromisoformat(request["requested_datetime"]) > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert "Budi" not in json.dumps(request)  # a request never carries its reporter
    assert civic.get_request(tracking_id)["service_request_id"] == tracking_id
    assert civic.get_token(tracking_id) == [{"service_request_id": tracking_id, "token": tracking_id}]

    report = requests.get(f"{stack.url}/api/v1/reports/{tracking_id}", timeout=30).json()
    assert (report["channel"], report["category"], report["type"]) == ("open311", "jalan-rusak", "complaint")
    assert "Status jalan: Jalan kabupaten/kota" in report["body"]
    own = requests.get(f"{stack.url}/api/v1/reports/{tracking_id}", headers={"X-Access-Code": created["access_code"]},
                       timeout=30).json()
    assert own["reporter"]["name"] == "Budi Santoso"


def test_the_server_checks_the_definition_and_the_location_itself(civic, keys):
    status, body = http_error(lambda: civic.create_request(
        "jalan-rusak", dry_run=False, confirm="SEND", api_key=keys["good"], lat=-5.1131, lng=105.3067,
        description=DESCRIPTION, attributes={"road_type": "tol"}))
    assert status == 400
    assert_spec_error(body, 400)
    assert any(item["description"].startswith("attribute[road_type]:") for item in body)
    status, body = http_error(lambda: civic.create_request(
        "sampah", dry_run=False, confirm="SEND", api_key=keys["good"], lat=-5.1131, lng=105.3067,
        description="Sampah", phone="12345"))
    assert status == 400 and {item["description"].split(":")[0] for item in body} >= {"description", "phone"}


def test_a_missing_wrong_or_revoked_api_key_is_403_and_files_nothing(civic, base, keys):
    for key in ("salah", keys["revoked"]):
        status, body = http_error(lambda: civic.create_request(
            "sampah", dry_run=False, confirm="SEND", api_key=key, lat=-5.1131, lng=105.3067,
            description="Sampah menumpuk di pinggir jalan"))
        assert status == 403
        assert_spec_error(body, 403)
    missing = requests.post(f"{base}/requests.json", data={"service_code": "sampah", "lat": "-5.1", "long": "105.3",
                                                           "description": "Sampah menumpuk di pinggir jalan"},
                            timeout=30)
    assert missing.status_code == 403
    assert_spec_error(missing.json(), 403)


def test_the_list_filters_by_status_service_code_ids_and_dates(geo, civic, reports):
    def listed(**params):
        return {request["service_request_id"] for request in geo.get_service_requests(**params)}

    everything = listed()
    assert {reports["open"], reports["closed"], reports["anonymous"]} <= everything
    assert listed(status="closed") >= {reports["closed"]} and reports["open"] not in listed(status="closed")
    assert reports["open"] in listed(status="open") and reports["closed"] not in listed(status="open")
    assert listed(service_code="lampu-jalan") == {reports["anonymous"]}
    assert listed(service_code="sampah,lampu-jalan", status="open") >= {reports["open"], reports["anonymous"]}
    wanted = ",".join([reports["open"], reports["closed"], reports["confidential"]])
    assert listed(service_request_id=wanted) == {reports["open"], reports["closed"]}
    today = datetime.now(timezone.utc)
    assert listed(start_date=(today - timedelta(days=1)).isoformat(),
                  end_date=(today + timedelta(days=1)).isoformat()) >= {reports["open"], reports["closed"]}
    assert listed(start_date="2020-01-01T00:00:00Z", end_date="2020-03-01T00:00:00Z") == set()
    assert [r["service_request_id"] for r in civic.list_requests(service_code="sampah", page_size=1)] == [
        reports["closed"]]  # newest first, one asked for
    [closed] = geo.get_service_requests(service_request_id=reports["closed"])
    assert closed["status"] == "closed" and closed["agency_responsible"] == "Pemerintah Kota Metro"

    status, body = http_error(lambda: geo.get_service_requests(start_date="2026-01-01T00:00:00Z",
                                                               end_date="2026-05-01T00:00:00Z"))
    assert status == 400
    assert_spec_error(body, 400)
    status, body = http_error(lambda: geo.get_service_requests(status="pending"))
    assert status == 400


def test_a_confidential_report_is_never_listed_and_is_404_by_id_or_token(geo, civic, reports):
    secret = reports["confidential"]
    assert secret not in {request["service_request_id"] for request in geo.get_service_requests()}
    assert secret not in {request["service_request_id"] for request in geo.get_service_requests(service_code="sampah")}
    status, body = http_error(lambda: geo.get_service_request(secret))
    assert status == 404
    assert_spec_error(body, 404)
    assert http_error(lambda: civic.get_token(secret))[0] == 404


def test_an_anonymous_report_carries_no_reporter_fields(geo, base, reports):
    request = geo.get_service_request(reports["anonymous"])
    assert request["service_code"] == "lampu-jalan"
    listed = requests.get(f"{base}/requests.json", params={"service_request_id": reports["anonymous"]}, timeout=30)
    for payload in (request, listed.json()):
        assert not any(trace in json.dumps(payload) for trace in REPORTER_TRACES)


def test_only_json_is_served(base):
    status, body = http_error(lambda: GeoReport(base, output_format="xml").get_service_list())
    assert status == 404
    assert_spec_error(body, 404)
