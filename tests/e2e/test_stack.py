"""End to end: the whole stack started by the same launcher as `make run` (one process per service, the
bus topology declared, reference data seeded), on its own vhost, store databases and free ports, driven
over HTTP. Nothing is mocked."""
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack import launcher
from services.common.mongo import open_repository
from services.common.tracking_ids import is_valid_tracking_id, make_tracking_id
from services.routing.domain import load_national_agencies
from services.tracking.storage import TrackingRepository
from tests.e2e.conftest import ID_BLOCK_SIZE
from tests.support.factories import UNROUTABLE, make_report
from tests.support.waiting import wait_for


def post(stack, body, **headers):
    return requests.post(f"{stack.url}/api/v1/reports", json=body, headers=headers, timeout=30)


def get(stack, path, **headers):
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=30)


def report_when(stack, tracking_id, condition, timeout=30, **headers):
    def check():
        response = get(stack, f"/api/v1/reports/{tracking_id}", **headers)
        return response.status_code == 200 and condition(response.json()) and response.json()

    return wait_for(check, timeout=timeout, interval=0.2, message=f"report {tracking_id}")


def test_reference_data_is_seeded(stack):
    assert get(stack, "/api/v1/regions?level=1").json()["total"] == 38
    assert get(stack, "/api/v1/regions?level=2").json()["total"] == 514
    agencies = get(stack, "/api/v1/agencies?per_page=1").json()["total"]
    assert agencies == 38 + 514 + len(load_national_agencies())
    metro = get(stack, "/api/v1/agencies?q=kota%20metro").json()["items"]
    assert [(a["code"], a["parent_code"]) for a in metro] == [("KOTA-18.72", "PROV-18")]


def test_a_report_for_a_chosen_agency_is_disposed_end_to_end(stack):
    response = post(stack, make_report(agency_code="KOTA-18.72"))
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["status"] == "received" and is_valid_tracking_id(receipt["tracking_id"])
    tracking_id = receipt["tracking_id"]

    report = report_when(stack, tracking_id, lambda r: r["status"] == "disposed" and r["due_at"])
    assert report["agency"] == {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}
    assert report["location"]["region_name"] == "Kota Metro" and "reporter" not in report
    timeline = get(stack, f"/api/v1/reports/{tracking_id}/timeline").json()
    assert [(e["kind"], e["status"], e["automatic"]) for e in timeline["items"]] == [
        ("opened", "received", False), ("disposed", "disposed", True)]

    own = get(stack, f"/api/v1/reports/{tracking_id}", **{"X-Access-Code": receipt["access_code"].lower()}).json()
    assert own["reporter"] == {"name": "Siti Aminah", "phone": "+6281234567890", "email": "siti@example.id",
                               "handle": None}
    wait_for(lambda: re.search(rf"notifikasi email → s\*\*\*@example.id\] .*{tracking_id}.*",
                               stack.log_tail("notifications", 400)), message="receipt in the notifications log")


def test_a_report_without_agency_waits_for_verification_with_a_deadline(stack):
    tracking_id = post(stack, make_report(**UNROUTABLE)).json()["tracking_id"]  # nothing triage can route alone
    report = report_when(stack, tracking_id, lambda r: r["due_at"] is not None)
    assert report["status"] == "received" and report["agency"] is None and not report["overdue"]


def test_tracking_ids_and_access_codes_are_checked(stack):
    receipt = post(stack, make_report(confidential=True)).json()
    tracking_id = receipt["tracking_id"]
    mistyped = tracking_id[:-2] + tracking_id[-1] + tracking_id[-2]
    if mistyped != tracking_id:
        assert get(stack, f"/api/v1/reports/{mistyped}").json()["error"]["code"] == "invalid_tracking_id"
    assert get(stack, "/api/v1/reports/10000005").status_code == 400
    assert get(stack, f"/api/v1/reports/{make_tracking_id(9_999_999)}").status_code == 404
    report_when(stack, tracking_id, lambda r: True, **{"X-Access-Code": receipt["access_code"]})
    assert get(stack, f"/api/v1/reports/{tracking_id}").status_code == 404  # confidential, no code
    assert get(stack, f"/api/v1/reports/{tracking_id}", **{"X-Access-Code": "AAAA-AAAA"}).status_code == 404

    public = post(stack, make_report()).json()
    report_when(stack, public["tracking_id"], lambda r: True)
    wrong = get(stack, f"/api/v1/reports/{public['tracking_id']}", **{"X-Access-Code": "AAAA-AAAA"})
    assert wrong.status_code == 403


def test_bad_input_is_refused_field_by_field(stack):
    response = post(stack, make_report(type="keluhan", anonymous="ya", nickname="x"), **{"Accept-Language": "en"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"type", "anonymous", "nickname"}
    assert error["fields"]["nickname"] == ["Unknown field."]
    indonesian = post(stack, make_report(title="")).json()["error"]["fields"]["title"]
    assert indonesian == ["Panjang harus antara 5 dan 200 karakter.", "Tidak boleh kosong."]
    broken = requests.post(f"{stack.url}/api/v1/reports", data=b"{nope", timeout=30,
                           headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    huge = requests.post(f"{stack.url}/api/v1/reports", data=b"x" * (1024 * 1024 + 1), timeout=30,
                         headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    form = requests.post(f"{stack.url}/api/v1/reports", data={"type": "complaint"}, timeout=30)
    assert form.status_code == 415


def test_every_service_serves_health_and_metrics(stack):
    for name, port in stack.settings.ports.items():
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        metrics = requests.get(stack.settings.metrics_url(name), timeout=10).text
        assert re.search(rf'lapor_entrypoint_calls_total{{entrypoint="\w+",outcome="ok",service="{name}"}} [1-9]', metrics)
        assert "lapor_entrypoint_latency_seconds_bucket" in metrics


def test_two_intake_processes_never_issue_the_same_tracking_id(stack, store):
    count = 120
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: post(stack, make_report(agency_code="KOTA-18.72")), range(count)))
    assert [r.status_code for r in responses] == [201] * count
    tracking_ids = [r.json()["tracking_id"] for r in responses]
    assert len(set(tracking_ids)) == count and all(map(is_valid_tracking_id, tracking_ids))

    client, tracking = open_repository(TrackingRepository, store.uri, "lapor_tracking", stack.settings.db_prefix)
    try:
        assert tracking.count_id_blocks() <= count // ID_BLOCK_SIZE + 6  # far fewer requests than reports
    finally:
        client.close()
    served = [_submits(port) for port in (stack.settings.ports["intake"], stack.second_intake_port)]
    assert all(n > 0 for n in served), f"both intake processes should take submissions, got {served}"


def test_an_event_published_before_its_consumer_starts_is_not_lost(stack):
    stack.stop_process("notifications")
    tracking_id = post(stack, make_report()).json()["tracking_id"]
    report_when(stack, tracking_id, lambda r: r["due_at"] is not None)  # tracking and sla have moved on

    [(name, argv, env)] = launcher.service_processes(stack.settings, ["notifications"])
    stack.start_process(name, argv, env)
    wait_for(lambda: f"Nomor pelacakan {tracking_id}" in stack.log_tail("notifications", 400), timeout=60,
             message="the receipt, sent once notifications is back")


def test_health_turns_degraded_when_a_service_stops_and_recovers(stack):
    stack.stop_process("sla")
    degraded = wait_for(lambda: (r := get(stack, "/health")).status_code == 503 and r.json(), timeout=30,
                        message="503 from /health")
    assert degraded["status"] == "degraded" and degraded["services"]["sla"] == "down"
    assert degraded["services"]["tracking"] == "ok"

    [(name, argv, env)] = launcher.service_processes(stack.settings, ["sla"])
    stack.start_process(name, argv, env)
    wait_for(lambda: get(stack, "/health").status_code == 200, timeout=60, message="200 after sla is back")


def _submits(port):
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    match = re.search(r'lapor_entrypoint_calls_total\{entrypoint="submit",outcome="ok",service="intake"\} (\S+)', metrics)
    return float(match.group(1)) if match else 0.0


def test_the_public_feed_lists_reports_newest_first_without_confidential_ones(stack):
    secret = post(stack, make_report(title="Laporan rahasia pungli", confidential=True)).json()["tracking_id"]
    public = post(stack, make_report(title="Trotoar rusak di pasar")).json()["tracking_id"]
    wait_for(lambda: get(stack, "/api/v1/reports?q=trotoar").json()["total"] == 1, message="feed shows it")
    feed = get(stack, "/api/v1/reports?per_page=100").json()
    ids = [item["tracking_id"] for item in feed["items"]]
    assert ids[0] == public and secret not in ids and "reporter" not in feed["items"][0]
    refused = get(stack, "/api/v1/reports?status=hilang&from=kemarin")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"status", "from"}
    assert refused.json()["error"]["fields"]["from"] == ["Tanggal tidak valid (gunakan YYYY-MM-DD)."]
