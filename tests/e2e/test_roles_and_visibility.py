"""Who may do what, and who sees what, through the real HTTP API of the whole stack (issue 4).

Role × action × own/other agency → allowed (200), refused by role (403) or invisible (404); and the
visibility rules of DESIGN §1/§4 for plain, anonymous and confidential reports in every view: public report
and timeline, feed, search, stats, agency inbox and view, supervisor, national admin and the reporter."""
import json

import pytest
import requests

from devstack import launcher
from services.common.mongo import open_repository
from services.common.tracking_ids import make_tracking_id
from services.gateway.admin import create_account, create_api_key
from services.gateway.storage import GatewayRepository
from services.routing.storage import RoutingRepository
from tests.support.factories import UNROUTABLE, make_report
from tests.support.waiting import wait_for

PASSWORD = "kata-sandi-uji-123"
REPORTER = {"name": "Siti Aminah", "phone": "081234567890", "email": "siti@example.id"}
REPORTER_TRACES = ("Siti Aminah", "1234567890", "siti@example.id")
OTHER_CITY, OTHER_UNIT = "KOTA-18.71", "KOTA-18.71-DISHUB"
STATS_ONLY_AGENCY = "KAB-18.12"  # used only by the confidential report of the stats test

# Who acts on the report, and in which agency the report sits for "own" and "other".
HOLDERS = {"demo.metro.admin": ("KOTA-18.72", OTHER_CITY), "demo.metro.officer": ("KOTA-18.72-DPUPR", OTHER_UNIT)}
# Whose account moves a report held by an agency on to in_progress / completed in the test set-up.
HOLDER_OFFICER = {"KOTA-18.72": "demo.metro.admin", "KOTA-18.72-DPUPR": "demo.metro.officer",
                  OTHER_CITY: "other.admin", OTHER_UNIT: "other.officer"}

# action → (the status the report must have for the action to be allowed, a valid body)
ACTIONS = {
    "verify": ("received", {"note": "Lengkap"}),
    "reject": ("received", {"reason": "too_general"}),
    "dispose": ("disposed", {"agency_code": "KOTA-18.72-DPUPR"}),
    "decline": ("disposed", {"reason": "Bukan kewenangan kami", "suggested_agency_code": "PROV-18"}),
    "followups": ("disposed", {"message": "Sedang kami tangani"}),
    "request-info": ("disposed", {"message": "Mohon kirim foto lokasi"}),
    "complete": ("in_progress", {"note": "Pohon sudah dipotong"}),
    "reopen": ("completed", {"reason": "Belum tuntas"}),
    "archive": ("completed", {"note": "Diarsipkan"}),
}
ALLOWED = {
    "verify": {"demo.admin"}, "reject": {"demo.admin"}, "reopen": {"demo.admin"}, "archive": {"demo.admin"},
    "dispose": {"demo.admin", "demo.metro.admin"}, "decline": {"demo.metro.admin"},
    "followups": {"demo.metro.admin", "demo.metro.officer"}, "request-info": {"demo.metro.admin", "demo.metro.officer"},
    "complete": {"demo.metro.admin", "demo.metro.officer"},
}
AGENCY_ROLES = tuple(HOLDERS)
OTHER_ROLES = ("demo.admin", "demo.supervisor", "api.client")


def role_cases():
    for action in ACTIONS:
        for username in OTHER_ROLES:
            yield pytest.param(username, action, "own",
                               200 if username in ALLOWED[action] else 403, id=f"{username}-{action}")
        for username in AGENCY_ROLES:
            for whose in ("own", "other"):
                allowed = username in ALLOWED[action]
                expected = 403 if not allowed else (200 if whose == "own" else 404)
                if ACTIONS[action][0] == "received" and whose == "other":
                    continue  # a report in the national queue belongs to no agency
                yield pytest.param(username, action, whose, expected, id=f"{username}-{action}-{whose}")


class Client:
    """The stack over HTTP, with a token per account."""

    def __init__(self, url):
        self.url = url
        self.tokens = {}

    def token(self, username):
        if username not in self.tokens:
            response = requests.post(f"{self.url}/api/v1/auth/token",
                                     json={"username": username, "password": PASSWORD}, timeout=30)
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def headers(self, username=None, code=None):
        headers = {}
        if username:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        if code:
            headers["X-Access-Code"] = code
        return headers

    def get(self, path, username=None, code=None):
        return requests.get(f"{self.url}{path}", headers=self.headers(username, code), timeout=30)

    def post(self, path, body=None, username=None, code=None):
        return requests.post(f"{self.url}{path}", json=body, headers=self.headers(username, code), timeout=30)

    def submit(self, **overrides):
        response = self.post("/api/v1/reports", make_report(reporter=REPORTER, **overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def officer_view_when(self, tracking_id, condition):
        def check():
            response = self.get(f"/api/v1/reports/{tracking_id}", "demo.admin")
            return response.status_code == 200 and condition(response.json()) and response.json()

        return wait_for(check, timeout=30, interval=0.2, message=f"report {tracking_id}")

    def act(self, tracking_id, segment, body, username):
        response = self.post(f"/api/v1/reports/{tracking_id}/{segment}", body, username)
        assert response.status_code == 200, f"{segment} by {username}: {response.text}"
        return response.json()

    def report_in(self, status, holder=None, **overrides):
        """A new report brought to `status`, held by `holder` once disposed."""
        if holder is None:
            overrides = {**UNROUTABLE, **overrides}  # nothing triage could dispose on its own
        receipt = self.submit(agency_code=holder, **overrides)
        tracking_id = receipt["tracking_id"]
        wanted = "received" if status == "received" else "disposed"
        self.officer_view_when(tracking_id, lambda r: r["status"] == wanted and (holder is None or r["agency"]))
        if status in ("in_progress", "completed"):
            self.act(tracking_id, "followups", {"message": "Ditangani"}, HOLDER_OFFICER[holder])
        if status == "completed":
            self.act(tracking_id, "complete", {"note": "Selesai"}, HOLDER_OFFICER[holder])
        return receipt


@pytest.fixture(scope="module")
def client(stack):
    settings = stack.settings
    mongo, routing = open_repository(RoutingRepository, settings.mongo_uri, "lapor_routing", settings.db_prefix)
    try:
        routing.upsert_agencies([{"code": OTHER_UNIT, "name": "Dinas Perhubungan Kota Bandar Lampung",
                                  "kind": "unit", "parent_code": OTHER_CITY, "region_code": "18.71"}])
        launcher.seed_demo(settings, PASSWORD, log=lambda message: None)
        gateway = GatewayRepository(mongo[f"{settings.db_prefix}lapor_gateway"])
        for username, role, agency in (("other.admin", "agency_admin", OTHER_CITY),
                                       ("other.officer", "agency_officer", OTHER_UNIT),
                                       ("api.client", "api_client", None)):
            create_account(gateway, {"username": username, "role": role, "agency_code": agency,
                                     "name": username, "password": PASSWORD}, routing.agency)
        api_keys = {name: create_api_key(gateway, name) for name in ("sipp-metro", "other-system")}
    finally:
        mongo.close()
    client = Client(stack.url)
    client.api_keys = api_keys
    return client


@pytest.fixture(scope="module")
def untouched(client):
    """Reports that refused actions must leave exactly as they were, shared by the refused cases."""
    cache = {}

    def get(status, holder):
        if (status, holder) not in cache:
            cache[(status, holder)] = client.report_in(status, holder)
        return cache[(status, holder)]

    return get


@pytest.mark.parametrize("username, action, whose, expected", list(role_cases()))
def test_each_role_may_do_only_its_own_actions_on_its_own_reports(client, untouched, username, action, whose,
                                                                   expected):
    status, body = ACTIONS[action]
    holder = None
    if status != "received":
        own, other = HOLDERS.get(username, ("KOTA-18.72", None))
        holder = own if whose == "own" else other
    receipt = client.report_in(status, holder) if expected == 200 else untouched(status, holder)
    tracking_id = receipt["tracking_id"]
    before = client.officer_view_when(tracking_id, lambda r: True)

    response = client.post(f"/api/v1/reports/{tracking_id}/{action}", body, username)

    assert response.status_code == expected, response.text
    after = client.officer_view_when(tracking_id, lambda r: True)
    if expected == 200:
        assert after["version"] == before["version"] + 1
        assert response.json()["tracking_id"] == tracking_id
    else:
        assert response.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[expected]
        assert after["version"] == before["version"]  # nothing changed


def test_actions_need_a_valid_token(client):
    tracking_id = client.report_in("received")["tracking_id"]
    assert client.post(f"/api/v1/reports/{tracking_id}/verify", {}).status_code == 401
    response = requests.post(f"{client.url}/api/v1/reports/{tracking_id}/verify", json={},
                             headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/inbox").status_code == 401


def test_an_illegal_transition_or_a_stale_version_is_409_and_changes_nothing(client):
    tracking_id = client.report_in("disposed", "KOTA-18.72")["tracking_id"]
    before = client.officer_view_when(tracking_id, lambda r: True)
    refused = client.post(f"/api/v1/reports/{tracking_id}/verify", {}, "demo.admin")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "illegal_transition"
    stale = client.post(f"/api/v1/reports/{tracking_id}/followups",
                        {"message": "Ditangani", "version": before["version"] - 1}, "demo.metro.admin")
    assert stale.status_code == 409
    assert client.officer_view_when(tracking_id, lambda r: True)["version"] == before["version"]


def test_the_whole_lifecycle_with_the_reporter(client):
    receipt = client.report_in("received")
    tracking_id, code = receipt["tracking_id"], receipt["access_code"]
    client.act(tracking_id, "verify", {}, "demo.admin")
    disposed = client.act(tracking_id, "dispose", {"agency_code": "KOTA-18.72"}, "demo.admin")
    assert disposed["status"] == "disposed" and disposed["triage"] is not None  # national admins see triage
    assert client.act(tracking_id, "request-info", {"message": "Di titik mana?"}, "demo.metro.admin")[
        "status"] == "disposed"
    replied = client.post(f"/api/v1/reports/{tracking_id}/replies", {"message": "Depan SD 2"}, code=code)
    assert replied.status_code == 200, replied.text
    # The report is held by the city itself, not by the officer's unit: it does not exist for them.
    assert client.post(f"/api/v1/reports/{tracking_id}/followups", {"message": "x"}, "demo.metro.officer"
                       ).status_code == 404
    in_progress = client.act(tracking_id, "followups", {"message": "Tim menuju lokasi"}, "demo.metro.admin")
    assert in_progress["status"] == "in_progress"
    assert client.post(f"/api/v1/reports/{tracking_id}/rating", {"score": 5}, code=code).status_code == 409
    client.act(tracking_id, "complete", {"note": "Selesai"}, "demo.metro.admin")
    wrong_code = client.post(f"/api/v1/reports/{tracking_id}/rating", {"score": 5}, code="AAAA-AAAA")
    assert wrong_code.status_code == 403
    rated = client.post(f"/api/v1/reports/{tracking_id}/rating", {"score": 4, "comment": "Cepat"}, code=code)
    assert rated.status_code == 200, rated.text
    assert client.post(f"/api/v1/reports/{tracking_id}/rating", {"score": 1}, code=code).status_code == 409
    reopened = client.post(f"/api/v1/reports/{tracking_id}/reopen", {"reason": "Tumbang lagi"}, code=code)
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    client.act(tracking_id, "complete", {"note": "Selesai lagi"}, "demo.metro.admin")
    client.act(tracking_id, "archive", {"note": "Tuntas"}, "demo.admin")

    kinds = [e["kind"] for e in client.get(f"/api/v1/reports/{tracking_id}/timeline", code=code).json()["items"]]
    assert kinds == ["opened", "verified", "disposed", "info_requested", "reply", "followup", "completed", "rated",
                     "reopened", "completed", "archived"]
    public = [e["kind"] for e in client.get(f"/api/v1/reports/{tracking_id}/timeline").json()["items"]]
    assert "reply" not in public and "info_requested" not in public and "rated" not in public


def test_support_counts_once_per_client_address(client):
    tracking_id = client.report_in("received")["tracking_id"]
    first = client.post(f"/api/v1/reports/{tracking_id}/support")
    again = client.post(f"/api/v1/reports/{tracking_id}/support")
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["support_count"] == 1 and again.json()["support_count"] == 1
    assert client.get(f"/api/v1/reports/{tracking_id}").json()["support_count"] == 1


def test_asking_for_a_new_access_code_reveals_nothing(client):
    tracking_id = client.report_in("received")["tracking_id"]
    assert client.post(f"/api/v1/reports/{tracking_id}/access-code").status_code == 202
    unknown = make_tracking_id(9_999_999)
    assert client.post(f"/api/v1/reports/{unknown}/access-code").status_code == 202  # the same answer


@pytest.fixture(scope="module")
def reports(client):
    """One plain, one anonymous and one confidential report, all held by Kota Metro."""
    made = {}
    for kind, flags in (("plain", {}), ("anonymous", {"anonymous": True}), ("confidential", {"confidential": True})):
        title = f"Laporan {kind} visibilitas"
        made[kind] = client.report_in("disposed", "KOTA-18.72", title=title, **flags)
    return made


def carries_reporter(payload):
    text = json.dumps(payload, ensure_ascii=False)
    return any(trace in text for trace in REPORTER_TRACES)


@pytest.mark.parametrize("kind, public, agency_sees_reporter", [
    ("plain", True, True), ("anonymous", True, False), ("confidential", False, True),
])
def test_visibility_in_every_view(client, reports, kind, public, agency_sees_reporter):
    tracking_id, code = reports[kind]["tracking_id"], reports[kind]["access_code"]
    path = f"/api/v1/reports/{tracking_id}"

    public_view = client.get(path)
    assert public_view.status_code == (200 if public else 404)
    assert not carries_reporter(public_view.json())
    public_timeline = client.get(f"{path}/timeline")
    assert public_timeline.status_code == (200 if public else 404)
    assert not carries_reporter(public_timeline.json())
    if public:
        assert all("name" not in e["actor"] for e in public_timeline.json()["items"])

    feed_ids = {r["tracking_id"] for r in client.get("/api/v1/reports?per_page=100").json()["items"]}
    search_ids = {r["tracking_id"] for r in client.get(f"/api/v1/reports?q=laporan%20{kind}").json()["items"]}
    assert (tracking_id in feed_ids, tracking_id in search_ids) == (public, public)
    assert not carries_reporter(client.get("/api/v1/reports?per_page=100").json())

    own = client.get(path, code=code).json()
    assert own["reporter"]["name"] == "Siti Aminah"
    admin = client.get(path, "demo.admin").json()
    assert admin["reporter"]["name"] == "Siti Aminah"  # national admins may reach every reporter
    supervisor = client.get(path, "demo.supervisor")
    assert supervisor.status_code == 200 and not carries_reporter(supervisor.json())
    assert not carries_reporter(client.get(f"{path}/timeline", "demo.supervisor").json())

    agency = client.get(path, "demo.metro.admin")
    assert agency.status_code == 200
    assert carries_reporter(agency.json()) is agency_sees_reporter
    inbox = client.get("/api/v1/inbox?per_page=100", "demo.metro.admin").json()
    assert tracking_id in {r["tracking_id"] for r in inbox["items"]}
    assert not carries_reporter(inbox)

    for outsider in ("other.admin", "other.officer", "demo.metro.officer"):  # not held by their unit
        assert client.get(path, outsider).status_code == 404
        assert client.get(f"{path}/timeline", outsider).status_code == 404
        assert tracking_id not in {r["tracking_id"] for r in
                                   client.get("/api/v1/inbox?per_page=100", outsider).json()["items"]}


def test_stats_leave_confidential_reports_out_of_every_breakdown(client):
    before = client.get("/api/v1/stats").json()
    client.report_in("disposed", STATS_ONLY_AGENCY, confidential=True)
    after = client.get("/api/v1/stats").json()
    assert after["confidential_total"] == before["confidential_total"] + 1
    assert after["total"] == before["total"]
    assert STATS_ONLY_AGENCY not in {row["code"] for row in after["by_agency"]}


def test_only_national_admins_read_the_notification_outbox_and_the_audit_log_is_kept(client):
    assert client.get("/api/v1/notifications", "demo.metro.admin").status_code == 403
    assert client.get("/api/v1/notifications", "demo.admin").status_code == 200
    audit = client.get("/api/v1/audit?username=demo.metro.admin&per_page=200", "demo.admin").json()
    assert {"followup", "complete"} <= {entry["action"] for entry in audit["items"]}
    assert client.get("/api/v1/audit", "demo.metro.admin").status_code == 403


def test_a_government_system_reads_back_only_what_it_submitted(client):
    key = {"X-API-Key": client.api_keys["sipp-metro"]}
    body = make_report(reporter=REPORTER, confidential=True, title="Laporan dari sistem pemerintah")
    response = requests.post(f"{client.url}/api/v1/reports", json=body, headers=key, timeout=30)
    assert response.status_code == 201, response.text
    tracking_id = response.json()["tracking_id"]
    client.officer_view_when(tracking_id, lambda r: True)

    own = requests.get(f"{client.url}/api/v1/reports/{tracking_id}", headers=key, timeout=30)
    assert own.status_code == 200 and own.json()["channel"] == "api"
    assert own.json()["reporter"]["name"] == "Siti Aminah"
    other = {"X-API-Key": client.api_keys["other-system"]}
    assert requests.get(f"{client.url}/api/v1/reports/{tracking_id}", headers=other, timeout=30).status_code == 404
    assert client.get(f"/api/v1/reports/{tracking_id}").status_code == 404  # confidential to the public
    bad = requests.post(f"{client.url}/api/v1/reports", json=body, headers={"X-API-Key": "lapor_wrong"}, timeout=30)
    assert bad.status_code == 403
