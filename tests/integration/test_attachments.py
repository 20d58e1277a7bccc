"""Attachments over real HTTP, with the real gateway, intake, tracking (and routing for officers) on the broker and
store: uploads with the access code or with the report itself, the limits (413) and types (415) refusing the whole
request with nothing stored, and downloads only for those who may see the report. Photos and PDFs come back cleaned
of their metadata (tests/security/test_attachment_metadata.py): the same picture, pages, not the same bytes."""
import base64
import hashlib
import io
import json

import pytest
import requests
from PIL import Image
from pypdf import PdfReader

from services.common.errors import Forbidden
from services.gateway import admin
from services.gateway.service import GatewayService
from services.gateway.storage import GatewayRepository
from services.intake.attachments import MiB
from services.intake.service import IntakeService
from services.intake.storage import ATTACHMENT_BUCKET, IntakeRepository
from services.routing.seed import seed
from services.routing.service import RoutingService
from services.routing.storage import RoutingRepository
from services.tracking.service import TrackingService
from tests.support import samples
from tests.support.bus import service_proxy
from tests.support.factories import make_report
from tests.support.waiting import wait_for

# Small limits, the same for the gateway and intake; the video limit lets one file cross in two 4 MiB parts.
LIMITS = {"ATTACHMENT_MAX_BYTES": MiB, "ATTACHMENT_MAX_VIDEO_BYTES": 6 * MiB, "ATTACHMENTS_MAX_TOTAL_BYTES": 7 * MiB,
          "ATTACHMENTS_MAX_COUNT": 3}
PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def url(start_service):
    for cls in (TrackingService, IntakeService):
        start_service(cls, **LIMITS)
    gateway = start_service(GatewayService, **LIMITS)
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def intake_db(open_repo):
    return open_repo(IntakeRepository, "lapor_intake").db


def stored(db):
    """(metadata, GridFS files, staged parts) in intake's database."""
    return tuple(len(list(collection.find({}, {"_id": 1}))) for collection in (
        db.attachments_meta, db[f"{ATTACHMENT_BUCKET}.files"], db.attachment_parts))


def submit(url, **overrides):
    response = requests.post(f"{url}/api/v1/reports", json=make_report(**overrides), timeout=30)
    assert response.status_code == 201, response.text
    receipt = response.json()
    code = {"X-Access-Code": receipt["access_code"]}
    wait_for(lambda: requests.get(f"{url}/api/v1/reports/{receipt['tracking_id']}", headers=code,
                                  timeout=30).status_code == 200, message="tracking to open the case")
    return receipt["tracking_id"], code


def upload(url, tracking_id, files, headers=None):
    return requests.post(f"{url}/api/v1/reports/{tracking_id}/attachments", headers=headers,
                         files=[("file", file) for file in files], timeout=60)


def pixels(content):
    return list(Image.open(io.BytesIO(content)).convert("RGB").getdata())


def page_count(content):
    return len(PdfReader(io.BytesIO(content)).pages)


def test_the_reporter_attaches_files_and_those_who_see_the_report_get_them_back(url, intake_db):
    tracking_id, code = submit(url)
    photo, video = samples.png(4, 4), samples.sized(samples.mp4(), 5 * MiB)  # the video crosses in two parts

    response = upload(url, tracking_id, [("C:\\foto\\pohon.png", photo, "image/png"),
                                         ("rekaman.bin", video, "application/octet-stream")], code)

    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [(i["filename"], i["content_type"], i["by"]) for i in items] == [
        ("pohon.png", "image/png", "reporter"), ("rekaman.mp4", "video/mp4", "reporter")]
    assert (items[1]["size"], items[1]["sha256"]) == (len(video), hashlib.sha256(video).hexdigest())  # kept as sent
    assert stored(intake_db) == (2, 2, 0)  # the parts are gone once attached

    mine = requests.get(f"{url}/api/v1/reports/{tracking_id}", headers=code, timeout=30).json()["attachments"]
    assert [item["filename"] for item in mine] == ["pohon.png", "rekaman.mp4"]
    download = requests.get(f"{url}{mine[1]['url']}", headers=code, timeout=60)
    assert download.status_code == 200 and download.content == video
    assert download.headers["Content-Type"] == "video/mp4"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"rekaman.mp4\"; filename*=UTF-8''rekaman.mp4")

    public = requests.get(f"{url}/api/v1/reports/{tracking_id}", timeout=30).json()["attachments"]
    assert [item["id"] for item in public] == [item["id"] for item in mine]
    assert public[0]["filename"] == f"lampiran-{mine[0]['id'][4:12]}.png"  # a name can identify the reporter
    download = requests.get(f"{url}{public[0]['url']}", timeout=30)
    assert pixels(download.content) == pixels(photo)  # the same picture, written again without its metadata
    assert public[0]["filename"] in download.headers["Content-Disposition"]
    assert (items[0]["size"], items[0]["sha256"]) == (len(download.content),
                                                      hashlib.sha256(download.content).hexdigest())

    again = upload(url, tracking_id, [("lagi.png", photo, "image/png"), ("dua.png", photo, "image/png")], code)
    assert again.status_code == 201  # a retry, the same file twice: stored once, as the first time
    assert [item["id"] for item in again.json()["items"]] == [items[0]["id"]] * 2
    assert stored(intake_db) == (2, 2, 0)


def test_over_a_limit_is_413_and_nothing_is_stored(url, intake_db):
    tracking_id, code = submit(url)

    refused = upload(url, tracking_id, [("a.png", samples.png(), "image/png"),
                                        ("b.png", samples.sized(samples.png(), MiB + 1), "image/png")], code)

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large" and set(refused.json()["error"]["fields"]) == {"file[1]"}
    assert stored(intake_db) == (0, 0, 0)

    files = [(f"{n}.pdf", samples.pdf(pages=n + 1), "application/pdf") for n in range(3)]
    assert upload(url, tracking_id, files, code).status_code == 201
    one_more = upload(url, tracking_id, [("d.jpg", samples.jpeg(), "image/jpeg")], code)  # intake counts the report's
    assert one_more.status_code == 413 and one_more.json()["error"]["fields"]["file"]
    assert stored(intake_db) == (3, 3, 0)  # and drops what was staged for the refused request


def test_a_disallowed_type_is_415_whatever_the_name(url, intake_db):
    tracking_id, code = submit(url)

    refused = upload(url, tracking_id, [("foto.jpg", samples.html(), "image/jpeg")],
                     dict(code, **{"Accept-Language": "en"}))

    assert refused.status_code == 415
    error = refused.json()["error"]
    assert error["code"] == "unsupported_media_type" and "file type is not allowed" in error["message"]
    assert "foto.jpg" in error["fields"]["file[0]"][0] and "JPEG" in error["fields"]["file[0]"][0]
    assert stored(intake_db) == (0, 0, 0)


def test_without_the_right_code_nobody_attaches(url, intake_db):
    tracking_id, _ = submit(url)
    photo = [("a.png", samples.png(), "image/png")]

    assert upload(url, tracking_id, photo, {"X-Access-Code": "AAAA-AAAA"}).status_code == 403
    assert upload(url, tracking_id, photo).status_code == 403
    assert upload(url, "10000005", photo).status_code == 400  # a wrong check digit
    assert stored(intake_db) == (0, 0, 0)


def test_the_report_and_its_files_in_one_request(url, intake_db):
    report = make_report(confidential=True)
    files = [("report", (None, json.dumps(report), "application/json")),
             ("file", ("bukti.pdf", samples.pdf(), "application/pdf")),
             ("file", ("foto.jpg", samples.jpeg(), "image/jpeg"))]
    key = {"Idempotency-Key": "4b0f6a4e-5b0e-4a43-9d57-attachments1"}

    response = requests.post(f"{url}/api/v1/reports", files=files, headers=key, timeout=60)

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert [item["filename"] for item in receipt["attachments"]] == ["bukti.pdf", "foto.jpg"]
    replay = requests.post(f"{url}/api/v1/reports", files=files, headers=key, timeout=60)
    assert replay.json() == receipt and stored(intake_db) == (2, 2, 0)

    tracking_id, code = receipt["tracking_id"], {"X-Access-Code": receipt["access_code"]}
    attachment_url = f"{url}{receipt['attachments'][0]['url']}"
    wait_for(lambda: requests.get(attachment_url, headers=code, timeout=30).status_code == 200,
             message="tracking to open the case")
    assert page_count(requests.get(attachment_url, headers=code, timeout=30).content) == 1
    for path in (attachment_url, f"{url}/api/v1/reports/{tracking_id}/attachments"):
        assert requests.get(path, timeout=30).status_code == 404  # confidential: the public learns nothing
    assert requests.get(attachment_url, headers={"X-Access-Code": "AAAA-AAAA"}, timeout=30).status_code == 404


def test_a_bad_file_with_a_report_stores_neither(url, intake_db):
    before = len(list(intake_db.submissions.find({}, {"_id": 1})))
    files = [("report", (None, json.dumps(make_report()), "application/json")),
             ("file", ("foto.jpg", samples.exe(), "image/jpeg"))]

    response = requests.post(f"{url}/api/v1/reports", files=files, timeout=30)

    assert response.status_code == 415
    assert len(list(intake_db.submissions.find({}, {"_id": 1}))) == before and stored(intake_db) == (0, 0, 0)
    bad_report = [("report", (None, json.dumps(make_report(title="")), "application/json")),
                  ("file", ("foto.png", samples.png(), "image/png"))]
    assert requests.post(f"{url}/api/v1/reports", files=bad_report, timeout=30).status_code == 400
    assert stored(intake_db)[:2] == (0, 0)


def test_an_anonymous_reports_files_are_not_public(url):
    tracking_id, code = submit(url, anonymous=True)
    [item] = upload(url, tracking_id, [("wajah.jpg", samples.jpeg(), "image/jpeg")], code).json()["items"]

    assert requests.get(f"{url}/api/v1/reports/{tracking_id}", timeout=30).json()["attachments"] == []
    assert requests.get(f"{url}{item['url']}", timeout=30).status_code == 404
    assert requests.get(f"{url}{item['url']}", headers=code, timeout=30).status_code == 200


def test_a_system_attaches_only_to_what_it_submitted(start_service, service_config, url):
    tracking_id, _ = submit(url)
    content = samples.pdf()
    with service_proxy("intake", service_config) as intake:
        intake.stage_attachment_part("upl_" + "a" * 32, 0, base64.b64encode(content).decode())
        upload_ref = {"upload_id": "upl_" + "a" * 32, "filename": "x.pdf", "size": len(content),
                      "sha256": hashlib.sha256(content).hexdigest(), "parts": 1}
        with pytest.raises(Forbidden):
            intake.add_attachments(tracking_id, [upload_ref], {"role": "api_client", "username": "sistem-lain"})
        [item] = intake.add_attachments(tracking_id, [upload_ref], {"role": "reporter"})
    assert item["content_type"] == "application/pdf" and item["size"] > 0


@pytest.fixture
def officers(open_repo, start_service):
    routing = open_repo(RoutingRepository, "lapor_routing")
    seed(routing)
    start_service(RoutingService)
    gateway_repo = open_repo(GatewayRepository, "lapor_gateway")
    for username, role in (("admin", "national_admin"), ("pengawas", "supervisor")):
        admin.create_account(gateway_repo, {"username": username, "role": role, "agency_code": None,
                                            "name": username.title(), "password": PASSWORD}, routing.agency)


def bearer(url, username):
    token = requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=30).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_officers_see_what_their_role_may_and_only_some_attach(url, officers, open_repo):
    tracking_id, code = submit(url, anonymous=True)
    upload(url, tracking_id, [("Siti Aminah.jpg", samples.jpeg(), "image/jpeg")], code)
    national, supervisor = bearer(url, "admin"), bearer(url, "pengawas")

    by_admin = upload(url, tracking_id, [("berita-acara.pdf", samples.pdf(), "application/pdf")], national)
    refused = upload(url, tracking_id, [("catatan.pdf", samples.pdf(pages=2), "application/pdf")], supervisor)

    assert by_admin.status_code == 201 and by_admin.json()["items"][0]["by"] == "officer"
    assert refused.status_code == 403
    names = lambda headers: [item["filename"] for item in requests.get(  # noqa: E731
        f"{url}/api/v1/reports/{tracking_id}/attachments", headers=headers, timeout=30).json()["items"]]
    assert names(national) == ["Siti Aminah.jpg", "berita-acara.pdf"]
    assert names(supervisor)[0].startswith("lampiran-") and len(names(supervisor)) == 2
    audit = open_repo(GatewayRepository, "lapor_gateway").db.audit
    outcomes = sorted(entry["outcome"] for entry in audit.find({"action": "attach"}))
    assert outcomes == ["forbidden", "ok"]

    archived = requests.post(f"{url}/api/v1/reports/{tracking_id}/archive", json={"note": "Selesai"},
                             headers=national, timeout=30)
    assert archived.status_code == 200, archived.text
    late = upload(url, tracking_id, [("b.png", samples.png(), "image/png")], code)
    assert late.status_code == 409 and late.json()["error"]["code"] == "illegal_transition"
