"""Attachments through the whole stack, as `make run` starts it (two intake processes): a report sent with its
files in one request, more files added with the access code, and every byte back for those who may see it."""
import hashlib
import json

import requests

from services.intake.attachments import MiB
from tests.support import samples
from tests.support.factories import make_report
from tests.support.waiting import wait_for


def test_files_cross_in_parts_between_intake_replicas_and_come_back_whole(stack):
    url = stack.url
    video = samples.sized(samples.mp4(), 9 * MiB)  # three 4 MiB parts, each RPC free to reach either intake
    files = [("report", (None, json.dumps(make_report()), "application/json")),
             ("file", ("rekaman.mov", video, "video/quicktime"))]

    response = requests.post(f"{url}/api/v1/reports", files=files, timeout=120)

    assert response.status_code == 201, response.text
    receipt = response.json()
    [sent] = receipt["attachments"]
    assert (sent["filename"], sent["content_type"]) == ("rekaman.mp4", "video/mp4")  # named after its content
    code = {"X-Access-Code": receipt["access_code"]}
    report_url = f"{url}/api/v1/reports/{receipt['tracking_id']}"
    wait_for(lambda: requests.get(report_url, headers=code, timeout=30).status_code == 200, timeout=60,
             message="the case to open")

    added = requests.post(f"{report_url}/attachments", headers=code, timeout=60,
                          files=[("file", ("denah.pdf", samples.pdf(), "application/pdf"))])
    assert added.status_code == 201, added.text

    listed = requests.get(report_url, headers=code, timeout=30).json()["attachments"]
    assert [item["filename"] for item in listed] == ["rekaman.mp4", "denah.pdf"]
    download = requests.get(f"{url}{listed[0]['url']}", timeout=120)  # the public: a plain report
    assert download.status_code == 200 and hashlib.sha256(download.content).digest() == hashlib.sha256(video).digest()
    assert "rekaman" not in download.headers["Content-Disposition"]  # the name is for the reporter's eyes
