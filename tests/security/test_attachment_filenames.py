"""Issue 13, low item: a file's name as sent ("KTP Siti Aminah.jpg") can name the reporter, so intake keeps it only
encrypted with the PII key, like the reporter's contact: neither the attachment's metadata nor its GridFS file holds
it in clear. Those who may see the reporter still see it; the public sees a generic name. Over real HTTP."""
import pytest
import requests

from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.intake.storage import ATTACHMENT_BUCKET, IntakeRepository
from services.tracking.service import TrackingService
from tests.security import tagged_files as tagged
from tests.support.factories import make_report
from tests.support.waiting import wait_for

NAME = "KTP Siti Aminah.jpg"


@pytest.fixture
def url(start_service):
    for cls in (TrackingService, IntakeService):
        start_service(cls)
    return f"http://{start_service(GatewayService).config['WEB_SERVER_ADDRESS']}"


def strings_in(value):
    """Every string in a stored document, keys and values, however deep."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *strings_in(item))]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return [value] if isinstance(value, str) else []


def test_the_name_as_sent_is_stored_encrypted_and_shown_only_to_who_may_see_it(url, open_repo):
    db = open_repo(IntakeRepository, "lapor_intake").db
    receipt = requests.post(f"{url}/api/v1/reports", json=make_report(), timeout=30).json()
    tracking_id, code = receipt["tracking_id"], {"X-Access-Code": receipt["access_code"]}
    report_url = f"{url}/api/v1/reports/{tracking_id}"
    wait_for(lambda: requests.get(report_url, headers=code, timeout=30).status_code == 200,
             message="tracking to open the case")

    response = requests.post(f"{report_url}/attachments", headers=code, timeout=60,
                             files=[("file", (NAME, tagged.jpeg(), "image/jpeg"))])

    assert response.status_code == 201, response.text
    [meta] = list(db.attachments_meta.find())
    [grid_file] = list(db[f"{ATTACHMENT_BUCKET}.files"].find())
    for document in (meta, grid_file):
        kept = " ".join(strings_in(document))
        assert "Siti" not in kept and "KTP" not in kept, document
    assert "filename" not in meta

    [mine] = requests.get(report_url, headers=code, timeout=30).json()["attachments"]
    assert mine["filename"] == NAME  # the reporter's own name for it, decrypted on the way out
    download = requests.get(f"{url}{mine['url']}", headers=code, timeout=30)
    assert "KTP%20Siti%20Aminah.jpg" in download.headers["Content-Disposition"]
    [public] = requests.get(report_url, timeout=30).json()["attachments"]
    assert public["filename"] == f"lampiran-{mine['id'][4:12]}.jpg"
    assert "Siti" not in requests.get(f"{url}{public['url']}", timeout=30).headers["Content-Disposition"]
