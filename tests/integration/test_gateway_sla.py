"""SLA over real HTTP: the public compliance figures, and the working calendar national admins keep."""
import pytest
import requests

from services.gateway import admin
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.routing.seed import seed
from services.routing.service import RoutingService
from services.routing.storage import RoutingRepository
from services.sla.service import SlaService

PASSWORD = "kata-sandi-rahasia"


@pytest.fixture
def url(start_service, open_repo):
    routing_repo, gateway_repo = open_repo(RoutingRepository, "lapor_routing"), open_repo(GatewayRepository,
                                                                                          "lapor_gateway")
    seed(routing_repo)
    for username, role, agency in (("nasional", "national_admin", None), ("metro", "agency_admin", "KOTA-18.72")):
        admin.create_account(gateway_repo, {"username": username, "role": role, "agency_code": agency,
                                            "name": username.title(), "password": PASSWORD}, routing_repo.agency)
    for cls in (RoutingService, SlaService):
        start_service(cls)
    gateway = start_service(GatewayService)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


def token(url, username):
    response = requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                             timeout=30)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_sla_figures_are_public_and_checked(url):
    answer = requests.get(f"{url}/api/v1/stats/sla", params={"agency": "KOTA-18.72", "from": "2026-01-01",
                                                             "to": "2026-01-31"}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-31")
    assert body["agencies"][0]["agency"]["code"] == "KOTA-18.72" and body["agencies"][0]["disposed"] == 0
    refused = requests.get(f"{url}/api/v1/stats/sla", params={"from": "31-01-2026"}, timeout=10)
    assert refused.status_code == 400 and "from" in refused.json()["error"]["fields"]


def test_national_admins_keep_the_calendar_and_officers_read_it(url):
    national, metro = token(url, "nasional"), token(url, "metro")
    assert requests.get(f"{url}/api/v1/calendar", params={"year": "2026"}, timeout=10).status_code == 401
    days = requests.get(f"{url}/api/v1/calendar", params={"year": "2026"}, headers=metro, timeout=10).json()["days"]
    assert {"day": "2026-12-24", "working": False, "name": "Cuti Bersama Hari Raya Natal", "override": None} in days

    body = {"day": "2026-12-24", "kind": "working_day", "note": "Keppres perubahan cuti bersama"}
    assert requests.post(f"{url}/api/v1/calendar/days", json=body, headers=metro, timeout=10).status_code == 403
    added = requests.post(f"{url}/api/v1/calendar/days", json=body, headers=national, timeout=10)
    assert added.status_code == 200 and added.json()["kind"] == "working_day"
    days = requests.get(f"{url}/api/v1/calendar", params={"year": "2026"}, headers=metro, timeout=10).json()["days"]
    [christmas_eve] = [day for day in days if day["day"] == "2026-12-24"]
    assert christmas_eve["working"] is True and christmas_eve["override"]["by"]["username"] == "nasional"

    bad = requests.post(f"{url}/api/v1/calendar/days", json={"day": "2026-12-31", "kind": "libur", "x": 1},
                        headers=national, timeout=10)
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"kind", "x"}
    removed = requests.delete(f"{url}/api/v1/calendar/days/2026-12-24", headers=national, timeout=10)
    assert removed.status_code == 200 and removed.json()["removed"] == "working_day"
    again = requests.delete(f"{url}/api/v1/calendar/days/2026-12-24", headers=national, timeout=10)
    assert again.status_code == 404
    audit = requests.get(f"{url}/api/v1/audit", params={"username": "nasional"}, headers=national, timeout=10)
    outcomes = [(entry["action"], entry["outcome"]) for entry in audit.json()["items"]]
    assert outcomes.count(("change_calendar", "ok")) == 2 and ("change_calendar", "not_found") in outcomes
