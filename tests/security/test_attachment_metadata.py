"""Issue 13, item 3: an attachment is served without the metadata it came with. A photo's EXIF (GPS, the
photographer, the camera's serial number), a PNG's text chunks and a PDF's document info and XMP are gone from what
intake stores, so from what the reporter, officers and (for a plain report) the public download; the photo is
turned as its EXIF said. A file that claims to be an image and does not decode, or whose pixels would not fit in
memory, is refused with nothing stored. Over real HTTP, with the real gateway, intake and tracking."""
import hashlib
import io
import json

import pytest
import requests
from PIL import Image

from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.intake.storage import ATTACHMENT_BUCKET, IntakeRepository
from services.tracking.service import TrackingService
from tests.security import tagged_files as tagged
from tests.support.factories import make_report
from tests.support.waiting import wait_for


@pytest.fixture
def url(start_service):
    for cls in (TrackingService, IntakeService):
        start_service(cls)
    return f"http://{start_service(GatewayService).config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def intake_db(open_repo):
    return open_repo(IntakeRepository, "lapor_intake").db


def submit(url, **overrides):
    receipt = requests.post(f"{url}/api/v1/reports", json=make_report(**overrides), timeout=30).json()
    code = {"X-Access-Code": receipt["access_code"]}
    wait_for(lambda: requests.get(f"{url}/api/v1/reports/{receipt['tracking_id']}", headers=code,
                                  timeout=30).status_code == 200, message="tracking to open the case")
    return receipt["tracking_id"], code


def upload(url, tracking_id, name, content, headers):
    return requests.post(f"{url}/api/v1/reports/{tracking_id}/attachments", headers=headers,
                         files=[("file", (name, content, "application/octet-stream"))], timeout=60)


def served(url, tracking_id, name, content, code, public=False):
    """(the item as listed, the bytes downloaded) of one file attached by the reporter; downloaded by the public
    when `public`, else by the reporter."""
    response = upload(url, tracking_id, name, content, code)
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    download = requests.get(f"{url}{item['url']}", headers=None if public else code, timeout=30)
    assert download.status_code == 200
    assert (item["size"], item["sha256"]) == (len(download.content), hashlib.sha256(download.content).hexdigest())
    return item, download.content


def kept_anywhere(db):
    """Every byte intake keeps of attachments: the stored files and any part still staged."""
    chunks = b"".join(bytes(chunk["data"]) for chunk in db[f"{ATTACHMENT_BUCKET}.chunks"].find())
    return chunks + b"".join(bytes(part["data"]) for part in db.attachment_parts.find())


def test_a_photo_loses_its_exif_and_gps_and_is_turned_as_the_camera_said(url, intake_db):
    tracking_id, code = submit(url, anonymous=True)  # the reporter hid their name: the photo must not tell it

    item, content = served(url, tracking_id, "IMG_20261125_073000.jpg", tagged.jpeg(), code)

    assert tagged.leftovers(content) == []
    photo = tagged.opened(content)
    assert photo.format == "JPEG" and not photo.getexif() and "exif" not in photo.info
    assert "xmp" not in photo.info and "comment" not in photo.info
    assert tagged.is_upright(photo)  # 24 × 48 now, the red half on top: no viewer has to apply Orientation
    assert item["content_type"] == "image/jpeg"
    assert tagged.leftovers(kept_anywhere(intake_db)) == []  # no original with its metadata is kept


def test_a_png_loses_its_text_chunks_and_exif_for_the_public_too(url, intake_db):
    tracking_id, code = submit(url)

    _, content = served(url, tracking_id, "tangkapan.png", tagged.png(), code, public=True)

    assert tagged.leftovers(content) == []
    assert not {"tEXt", "zTXt", "iTXt", "eXIf", "tIME"} & set(tagged.png_chunk_types(content))
    assert tagged.is_upright(tagged.opened(content))  # its eXIf chunk said Orientation=6 as well


@pytest.mark.parametrize("name, content, content_type", [
    ("foto.webp", tagged.webp(), "image/webp"),
    # HEIC is kept as JPEG: most browsers officers and citizens use cannot show HEIC.
    ("foto.heic", tagged.heic(), "image/jpeg"),
], ids=["webp", "heic"])
def test_every_other_image_type_loses_its_metadata(url, intake_db, name, content, content_type):
    tracking_id, code = submit(url)

    item, served_content = served(url, tracking_id, name, content, code)

    assert tagged.leftovers(served_content) == []
    assert item["content_type"] == content_type
    image = tagged.opened(served_content)
    assert not image.getexif() and "xmp" not in image.info and tagged.is_upright(image)
    if content_type == "image/webp":
        assert not {"EXIF", "XMP "} & set(tagged.webp_chunk_types(served_content))
    assert tagged.leftovers(kept_anywhere(intake_db)) == []


def test_a_pdf_loses_its_document_info_and_xmp(url, intake_db):
    tracking_id, code = submit(url, anonymous=True)

    _, content = served(url, tracking_id, "bukti.pdf", tagged.pdf(pages=2), code)

    info, xmp, pages = tagged.pdf_metadata(content)
    assert not info and xmp is None and pages == 2
    assert tagged.leftovers(content) == [] and b"/Author" not in content and b"/ID" not in content
    assert tagged.leftovers(kept_anywhere(intake_db)) == []


def stored(db):
    return tuple(len(list(collection.find({}, {"_id": 1}))) for collection in (
        db.attachments_meta, db[f"{ATTACHMENT_BUCKET}.files"], db.attachment_parts))


@pytest.mark.parametrize("lang, words", [("id", "tidak dapat dibaca"), ("en", "cannot be read")])
def test_an_image_that_does_not_decode_is_a_400_naming_its_file(url, intake_db, lang, words):
    tracking_id, code = submit(url)
    broken = tagged.jpeg()[:200]  # a JPEG's start, cut off: the type is right, the picture is not there
    files = [("file", ("ok.png", tagged.png(), "image/png")), ("file", ("rusak.jpg", broken, "image/jpeg"))]

    response = requests.post(f"{url}/api/v1/reports/{tracking_id}/attachments", files=files, timeout=60,
                             headers=dict(code, **{"Accept-Language": lang}))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == {"file[1]"}
    assert "rusak.jpg" in error["fields"]["file[1]"][0] and words in error["fields"]["file[1]"][0]
    assert stored(intake_db) == (0, 0, 0)  # the good file is not kept either: all or nothing


def test_a_report_with_an_undecodable_image_stores_neither(url, intake_db):
    before = len(list(intake_db.submissions.find({}, {"_id": 1})))
    files = [("report", (None, json.dumps(make_report()), "application/json")),
             ("file", ("foto.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "image/png"))]

    response = requests.post(f"{url}/api/v1/reports", files=files, timeout=30)

    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"file[0]"}
    assert len(list(intake_db.submissions.find({}, {"_id": 1}))) == before and stored(intake_db) == (0, 0, 0)


@pytest.mark.parametrize("width, height", [(10_000, 10_000), (60_000, 60_000)], ids=["over ours", "over pillow's"])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(url, intake_db, width, height):
    tracking_id, code = submit(url)

    response = upload(url, tracking_id, "bom.png", tagged.png_header_only(width, height),
                      dict(code, **{"Accept-Language": "en"}))

    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "too_large" and "bom.png" in error["fields"]["file[0]"][0]
    assert f"{width} × {height}" in error["fields"]["file[0]"][0] and "pixels" in error["fields"]["file[0]"][0]
    assert stored(intake_db) == (0, 0, 0)


def test_what_is_stored_still_shows_the_same_picture(url):
    tracking_id, code = submit(url)
    original = Image.open(io.BytesIO(tagged.png()))

    _, content = served(url, tracking_id, "denah.png", tagged.png(), code)

    assert list(tagged.opened(content).rotate(90, expand=True).getdata()) == list(original.convert("RGB").getdata())
