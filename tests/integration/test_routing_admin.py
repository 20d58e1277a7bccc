"""Agencies' units and the national admins' routing rules on the real bus and store, with the real tracking
service: who may add a unit where, rules saved as versions with their history, triage following the current
version, and the gateway's routes for both over real HTTP."""
import jwt
import pytest
import requests
from nameko.standalone.events import event_dispatcher

from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.gateway import admin
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.routing.seed import seed
from services.routing.service import RoutingService
from services.tracking.service import TrackingService
from tests.support.bus import service_proxy
from tests.support.factories import make_submitted_event
from tests.support.waiting import wait_for

NATIONAL_ADMIN = {"role": "national_admin", "username": "admin", "name": "Admin Nasional", "scope": None}
METRO_ADMIN = {"role": "agency_admin", "username": "admin.metro", "name": "Admin Metro", "agency_code": "KOTA-18.72",
               "agency_name": "Pemerintah Kota Metro", "scope": ["KOTA-18.72"]}
PASSWORD = "kata-sandi-rahasia"
POTHOLE = {"title": "Jalan berlubang", "body": "Jalan berlubang besar di depan pasar, sudah dua bulan."}


@pytest.fixture
def routing(start_service, service_config, routing_repo, tracking_repo):
    for cls in (TrackingService, RoutingService):
        start_service(cls)
    with service_proxy("routing", service_config) as proxy:
        yield proxy


def scope_in(headers):
    return jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["scope"]


def disposed_to(service_config, tracking_repo, tracking_id):
    event_dispatcher(service_config)("intake", "report_submitted",
                                     make_submitted_event(tracking_id=tracking_id, **POTHOLE))
    report = wait_for(lambda: (r := tracking_repo.get_report(tracking_id)) and r["status"] == "disposed" and r,
                      message=f"auto-disposition of {tracking_id}")
    return report["agency_code"]


def test_a_national_admin_adds_a_unit_anywhere_with_a_code_made_from_its_name(routing, routing_repo):
    unit = routing.add_unit("PROV-18", {"name": "Dinas Pendidikan Provinsi Lampung", "categories": ["education"],
                                        "email": "disdik@lampungprov.go.id"}, NATIONAL_ADMIN)
    assert unit == {"code": "PROV-18-DINAS-PENDIDIKAN-PROVINSI-LAMPUNG", "name": "Dinas Pendidikan Provinsi Lampung",
                    "kind": "unit", "parent_code": "PROV-18", "region_code": "18", "categories": ["education"]}
    assert routing.agency_contacts(unit["code"])["email"] == "disdik@lampungprov.go.id"
    again = routing.add_unit("PROV-18", {"name": "Dinas Pendidikan Provinsi Lampung"}, NATIONAL_ADMIN)
    assert again["code"] == "PROV-18-DINAS-PENDIDIKAN-PROVINSI-LAMPUNG-2"  # the same name gets a code of its own
    assert routing.scope_of("PROV-18")["scope"][1:] == [unit["code"], again["code"]]
    seed(routing_repo)  # re-seeding leaves units alone
    assert routing.agency(unit["code"])["name"] == "Dinas Pendidikan Provinsi Lampung"


def test_an_agency_admin_adds_units_only_within_its_scope(routing):
    unit = routing.add_unit("KOTA-18.72", {"code": "KOTA-18.72-DISDIK", "name": "Dinas Pendidikan Kota Metro"},
                            METRO_ADMIN)
    assert (unit["code"], unit["region_code"]) == ("KOTA-18.72-DISDIK", "18.72")
    with pytest.raises(Forbidden):
        routing.add_unit("KOTA-18.71", {"name": "Dinas Pendidikan Bandar Lampung"}, METRO_ADMIN)
    with pytest.raises(Forbidden):
        routing.add_unit("KOTA-18.72-DISDIK", {"name": "Bidang SD"}, METRO_ADMIN)  # not in its token's scope yet
    with pytest.raises(Forbidden):
        routing.add_unit("KOTA-18.72", {"name": "Bidang SD"}, dict(METRO_ADMIN, role="agency_officer"))
    with pytest.raises(NotFound):
        routing.add_unit("NO-SUCH-AGENCY", {"name": "Dinas"}, NATIONAL_ADMIN)
    assert routing.agencies(parent_code="KOTA-18.71") == []


def test_a_unit_is_validated_field_by_field_and_a_code_is_used_once(routing):
    with pytest.raises(ValidationFailed) as invalid:
        routing.add_unit("KOTA-18.72", {"name": "D", "email": "bukan-email", "extra": 1}, NATIONAL_ADMIN)
    assert set(invalid.value.fields) == {"name", "email", "extra"}
    assert invalid.value.fields["email"][0]["id"] == "Alamat e-mail tidak valid."
    with pytest.raises(ValidationFailed) as unknown:
        routing.add_unit("KOTA-18.72", {"name": "Dinas Air", "categories": ["water", "ghosts"]}, NATIONAL_ADMIN)
    assert "ghosts" in unknown.value.fields["categories"][0]["en"]
    with pytest.raises(ValidationFailed) as lowercase:
        routing.add_unit("KOTA-18.72", {"code": "kota-18.72-x", "name": "Dinas X"}, NATIONAL_ADMIN)
    assert "code" in lowercase.value.fields
    routing.add_unit("KOTA-18.72", {"code": "KOTA-18.72-DLH", "name": "Dinas Lingkungan Hidup"}, NATIONAL_ADMIN)
    with pytest.raises(ValidationFailed) as taken:
        routing.add_unit("KOTA-18.72", {"code": "KOTA-18.72-DLH", "name": "Dinas Lain"}, NATIONAL_ADMIN)
    assert taken.value.fields["code"][0]["en"] == "This agency code is already taken."
    with pytest.raises(ValidationFailed):
        routing.add_unit("PROV-18", {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}, NATIONAL_ADMIN)
    assert routing.agency("KOTA-18.72")["kind"] == "city"


def test_rules_are_saved_as_versions_and_the_history_is_kept(routing):
    default = routing.routing_rules()
    assert (default["version"], default["rules"], default["saved_by"]) == (0, [], None)
    assert {"category": "roads", "label": default["defaults"][0]["label"], "target": "local_regency"} in default[
        "defaults"]
    first = routing.save_routing_rules({"rules": [{"category": "roads", "target": "local_province"}]}, NATIONAL_ADMIN)
    second = routing.save_routing_rules({"rules": [{"category": "roads", "target": "KEMENPU-BINAMARGA"},
                                                   {"category": "water", "target": "local_regency"}]}, NATIONAL_ADMIN)
    assert (first["version"], second["version"]) == (1, 2)
    current = routing.routing_rules()
    assert current["version"] == 2 and current["saved_by"]["username"] == "admin" and current["saved_at"]
    assert current["rules"] == [{"category": "roads", "target": "KEMENPU-BINAMARGA"},
                                {"category": "water", "target": "local_regency"}]
    history = routing.routing_rules_history()
    assert [(v["version"], v["rules"]) for v in history] == [
        (2, current["rules"]), (1, [{"category": "roads", "target": "local_province"}]), (0, [])]


def test_only_a_national_admin_saves_valid_rules(routing):
    with pytest.raises(Forbidden):
        routing.save_routing_rules({"rules": []}, METRO_ADMIN)
    with pytest.raises(ValidationFailed) as invalid:
        routing.save_routing_rules({"rules": [{"category": "ghosts", "target": "local_regency"},
                                              {"category": "roads", "target": "NO-SUCH-AGENCY"},
                                              {"category": "roads", "target": "local_province"}]}, NATIONAL_ADMIN)
    assert set(invalid.value.fields) == {"rules.0.category", "rules.1.target", "rules.2.category"}
    assert invalid.value.fields["rules.1.target"][0]["id"].startswith("Harus local_regency")
    with pytest.raises(ValidationFailed) as missing:
        routing.save_routing_rules({}, NATIONAL_ADMIN)
    assert "rules" in missing.value.fields
    assert routing.routing_rules()["version"] == 0


def test_a_rule_changes_where_a_triaged_report_is_disposed(routing, service_config, tracking_repo, routing_repo):
    assert disposed_to(service_config, tracking_repo, "10000004") == "KOTA-18.72"  # the taxonomy: local roads
    routing.save_routing_rules({"rules": [{"category": "roads", "target": "local_province"}]}, NATIONAL_ADMIN)
    assert disposed_to(service_config, tracking_repo, "10000012") == "PROV-18"
    routing.save_routing_rules({"rules": [{"category": "roads", "target": "KEMENPU-BINAMARGA"}]}, NATIONAL_ADMIN)
    assert disposed_to(service_config, tracking_repo, "10000020") == "KEMENPU-BINAMARGA"
    routing.save_routing_rules({"rules": []}, NATIONAL_ADMIN)  # back to the taxonomy's own target
    assert disposed_to(service_config, tracking_repo, "10000036") == "KOTA-18.72"


def test_the_gateway_routes_add_units_and_save_rules_audited(start_service, routing_repo, tracking_repo, open_repo):
    gateway_repo = open_repo(GatewayRepository, "lapor_gateway")
    for cls in (TrackingService, RoutingService):
        start_service(cls)
    url = f"http://{start_service(GatewayService).config['WEB_SERVER_ADDRESS']}/api/v1"
    for username, role, agency_code in (("nasional", "national_admin", None),
                                        ("metro.admin", "agency_admin", "KOTA-18.72")):
        admin.create_account(gateway_repo, {"username": username, "role": role, "agency_code": agency_code,
                                            "name": username.title(), "password": PASSWORD}, routing_repo.agency)

    def headers(username):
        token = requests.post(f"{url}/auth/token", json={"username": username, "password": PASSWORD},
                              timeout=30).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    national, metro = headers("nasional"), headers("metro.admin")
    added = requests.post(f"{url}/agencies/KOTA-18.72/units", json={"name": "Dinas Kesehatan"}, headers=metro,
                          timeout=30)
    assert added.status_code == 201 and added.json()["code"] == "KOTA-18.72-DINAS-KESEHATAN"
    outside = requests.post(f"{url}/agencies/PROV-18/units", json={"name": "Dinas Kesehatan"}, headers=metro,
                            timeout=30)
    assert outside.status_code == 403
    assert "KOTA-18.72-DINAS-KESEHATAN" not in scope_in(metro)  # the token of before keeps its scope...
    assert "KOTA-18.72-DINAS-KESEHATAN" in scope_in(headers("metro.admin"))  # ...until the next sign-in

    rules = {"rules": [{"category": "roads", "target": "local_province"}]}
    assert requests.put(f"{url}/routing-rules", json=rules, headers=metro, timeout=30).status_code == 403
    saved = requests.put(f"{url}/routing-rules", json=rules, headers=national, timeout=30)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    bad = requests.put(f"{url}/routing-rules", json={"rules": [{"category": "x", "target": "local_province"}]},
                       headers=dict(national, **{"Accept-Language": "en"}), timeout=30)
    assert bad.status_code == 400 and "rules.0.category" in bad.json()["error"]["fields"]
    read = requests.get(f"{url}/routing-rules", headers=metro, timeout=30)
    assert read.status_code == 200 and read.json()["rules"] == rules["rules"]
    assert requests.get(f"{url}/routing-rules", timeout=30).status_code == 401

    audit = requests.get(f"{url}/audit", headers=national, timeout=30).json()["items"]
    assert [(e["action"], e["outcome"]) for e in audit if e["action"] in ("add_unit", "save_routing_rules")] == [
        ("save_routing_rules", "validation_error"), ("save_routing_rules", "ok"), ("save_routing_rules", "forbidden"),
        ("add_unit", "forbidden"), ("add_unit", "ok")]
