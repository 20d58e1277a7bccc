"""Attachments in plain Python: file types judged by content, the limits, safe names, and the gateway's reading
of a multipart body within them."""
import base64
import io
from functools import partial
from pathlib import Path

import pytest
import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.errors import TooLarge, UnsupportedMediaType, ValidationFailed
from services.gateway import attachments as edge
from services.intake import attachments
from services.intake.attachments import FILE_TYPES, MiB, Candidate, Limits
from tests.support import samples

ROOT = Path(__file__).resolve().parents[2]
SMALL = Limits(max_bytes=1000, max_video_bytes=3000, max_total_bytes=4000, max_count=3)


@pytest.mark.parametrize("content, content_type", [
    (samples.jpeg(), "image/jpeg"),
    (samples.png(), "image/png"),
    (samples.webp(), "image/webp"),
    (samples.heic(), "image/heic"),
    (samples.ftyp(b"mif1", b"mif1"), "image/heif"),
    (samples.pdf(), "application/pdf"),
    (samples.mp4(), "video/mp4"),
    (samples.ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
    (samples.mov(), "video/quicktime"),
    (samples.three_gp(), "video/3gpp"),
    (samples.ftyp(b"3g2a", b"3g2a"), "video/3gpp2"),
    (samples.ftyp(b"XAVC", b"XAVC", b"mp42"), "video/mp4"),  # an unknown major brand, a known compatible one
])
def test_each_allowed_type_is_known_by_its_first_bytes(content, content_type):
    assert attachments.sniff(content[:attachments.SNIFF_BYTES]) == content_type


@pytest.mark.parametrize("content", [
    samples.exe(), samples.html(), b"GIF89a\x01\x00\x01\x00", b"PK\x03\x04zip", b"", b"\xff\xd8",
    samples.ftyp(b"M4A ", b"M4A ", b"mp42"),        # audio in the MP4 container
    samples.ftyp(b"avif", b"avif", b"mif1"),        # AVIF is not on the list
    samples.ftyp(b"XAVC", b"XAVC", b"M4A ", b"mp42"),
    b"\x00\x00\x00\x08ftypisom",                   # a box too short to be one
])
def test_anything_else_is_not(content):
    assert attachments.sniff(content[:attachments.SNIFF_BYTES]) is None


@pytest.mark.parametrize("name", ["foto.jpg", "laporan.pdf", "video.mp4"])
@pytest.mark.parametrize("content", [samples.exe(), samples.html()])
def test_the_name_does_not_make_a_file_allowed(name, content):
    candidate = Candidate(name, content[:attachments.SNIFF_BYTES], len(content))
    with pytest.raises(UnsupportedMediaType) as refused:
        attachments.check_files([Candidate("ok.png", samples.png()[:64], 80), candidate], SMALL)
    assert set(refused.value.fields) == {"file[1]"}
    assert name in refused.value.fields["file[1]"][0]["id"] and "JPEG" in refused.value.fields["file[1]"][0]["en"]


def test_a_video_has_its_own_limit_and_every_file_its_type():
    types = attachments.check_files([Candidate("a.png", samples.png(), 1000), Candidate("b.mp4", samples.mp4(), 2900)],
                                    SMALL)
    assert [file_type.content_type for file_type in types] == ["image/png", "video/mp4"]


@pytest.mark.parametrize("candidates, stored, field", [
    ([("a.png", samples.png(), 1001)], (0, 0), "file[0]"),                        # over the per-file limit
    ([("a.png", samples.png(), 10), ("b.mp4", samples.mp4(), 3001)], (0, 0), "file[1]"),  # over the video limit
    ([("a.mp4", samples.mp4(), 2500), ("b.mp4", samples.mp4(), 2500)], (0, 0), "file"),  # over the total
    ([("a.png", samples.png(), 900)], (1, 3200), "file"),                          # the total with what is stored
    ([("a.png", samples.png(), 10)] * 4, (0, 0), "file"),                          # too many
    ([("a.png", samples.png(), 10)], (3, 30), "file"),                             # too many with what is stored
])
def test_over_a_limit_is_413_naming_the_file_or_the_report(candidates, stored, field):
    with pytest.raises(TooLarge) as refused:
        attachments.check_files([Candidate(*candidate) for candidate in candidates], SMALL, *stored)
    assert set(refused.value.fields) == {field}
    assert all(set(message) == {"id", "en"} for message in refused.value.fields[field])


def test_a_disallowed_type_is_reported_before_a_size_and_an_empty_file_before_both():
    too_big, wrong = Candidate("a.png", samples.png(), 5000), Candidate("b.jpg", samples.html(), 10)
    with pytest.raises(UnsupportedMediaType):
        attachments.check_files([too_big, wrong], SMALL)
    with pytest.raises(ValidationFailed) as refused:
        attachments.check_files([wrong, Candidate("c.png", b"", 0)], SMALL)
    assert set(refused.value.fields) == {"file[1]"}
    with pytest.raises(ValidationFailed):
        attachments.check_files([], SMALL)


@pytest.mark.parametrize("name, content_type, expected", [
    ("foto jalan.JPG", "image/jpeg", "foto jalan.jpg"),
    ("C:\\Users\\siti\\Desktop\\bukti.pdf", "application/pdf", "bukti.pdf"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("halaman.html", "image/png", "halaman.png"),             # the extension follows the content
    ("rekaman", "video/mp4", "rekaman.mp4"),
    ("\u202egpj.exe", "image/jpeg", "gpj.jpg"),               # no right-to-left override to disguise a name
    ('a"b<c>;d\x00e.png', "image/png", "a_b_c__de.png"),
    ("   ", "image/webp", "lampiran.webp"),
    (None, "image/heic", "lampiran.heic"),
    (".htaccess", "application/pdf", "htaccess.pdf"),
    ("Laporan–Jalan Rusak (ñ).pdf", "application/pdf", "Laporan–Jalan Rusak (ñ).pdf"),
])
def test_names_are_kept_safe(name, content_type, expected):
    assert attachments.safe_filename(name, FILE_TYPES[content_type]) == expected


def test_a_long_name_is_cut_keeping_its_extension():
    name = attachments.safe_filename("x" * 300 + ".pdf", FILE_TYPES["application/pdf"])
    assert len(name) == attachments.MAX_FILENAME_CHARS and name.endswith(".pdf")


def test_a_download_name_is_quoted_for_every_client():
    header = edge.content_disposition('Laporan "jalan" ñ.pdf')
    assert header == ("attachment; filename=\"Laporan _jalan_ _.pdf\"; "
                      "filename*=UTF-8''Laporan%20%22jalan%22%20%C3%B1.pdf")


def test_one_id_per_report_and_content():
    digest = "a" * 64
    assert attachments.attachment_id("10000004", digest) == attachments.attachment_id("10000004", digest)
    assert attachments.attachment_id("10000004", digest) != attachments.attachment_id("10000012", digest)
    assert attachments.generic_filename("att_0123456789abcdef", "video/quicktime") == "lampiran-01234567.mov"


@pytest.mark.parametrize("upload_id, index, content, field", [
    ("upl_" + "0" * 31, 0, "QUJD", "upload_id"),
    ("upl_" + "0" * 32, -1, "QUJD", "index"),
    ("upl_" + "0" * 32, True, "QUJD", "index"),
    ("upl_" + "0" * 32, 7, "QUJD", "index"),          # 25 MiB at most: parts 0–6
    ("upl_" + "0" * 32, 0, "not base64!", "content_b64"),
    ("upl_" + "0" * 32, 0, "", "content_b64"),
    ("upl_" + "0" * 32, 0, base64.b64encode(b"x" * (4 * MiB + 1)).decode(), "content_b64"),
])
def test_a_malformed_part_is_refused(upload_id, index, content, field):
    with pytest.raises(ValidationFailed) as refused:
        attachments.decode_part(upload_id, index, content, attachments.DEFAULT_LIMITS)
    assert set(refused.value.fields) == {field}


def test_parts_of_4_mib():
    assert [attachments.part_count(size) for size in (1, 4 * MiB, 4 * MiB + 1, 25 * MiB)] == [1, 1, 2, 7]
    assert attachments.decode_part("upl_" + "0" * 32, 6, "QUJD", attachments.DEFAULT_LIMITS) == b"ABC"


class ConfigLoader(yaml.SafeLoader):
    """Nameko's `${VAR:default}` reading, on a loader of our own: setup_yaml_parser() would change yaml.SafeLoader
    for every later test (docker-compose.yml's `${VAR:?message}` among them)."""


ConfigLoader.add_constructor("!env_var", env_var_constructor)
ConfigLoader.add_constructor("!raw_env_var", partial(env_var_constructor, raw=True))
ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


@pytest.mark.parametrize("service", ["intake", "gateway"])
def test_config_yaml_defaults_match_the_code(service, monkeypatch):
    for key in attachments.CONFIG_KEYS:
        monkeypatch.delenv(f"LAPOR_{key}", raising=False)
    config = yaml.load((ROOT / "services" / service / "config.yaml").read_text(), Loader=ConfigLoader)
    assert attachments.limits_from_config(config) == attachments.limits_from_config({}) == attachments.DEFAULT_LIMITS
    assert attachments.DEFAULT_LIMITS == Limits(10 * MiB, 25 * MiB, 25 * MiB, 5)


@pytest.mark.parametrize("value", [0, "-1", "ten", True, "1.5"])
def test_a_limit_must_be_a_whole_number(value):
    with pytest.raises(ValueError):
        attachments.limits_from_config({"ATTACHMENTS_MAX_COUNT": value})


@pytest.mark.parametrize("audience, anonymous, sees, named", [
    ("public", False, True, False),
    ("public", True, False, False),
    ("reporter", True, True, True),
    ("national_admin", True, True, True),
    ("agency", False, True, True),
    ("agency", True, True, False),       # the reported agency never learns an anonymous reporter's name
    ("supervisor", False, True, False),
])
def test_who_sees_attachments_and_their_names(audience, anonymous, sees, named):
    view = {"tracking_id": "10000004", "anonymous": anonymous, "confidential": False}
    assert edge.may_see_attachments(view, audience) is sees
    assert edge.shows_filename(view, audience) is named
    item = {"id": "att_0123456789abcdef01234567", "filename": "KTP Siti Aminah.jpg", "content_type": "image/jpeg",
            "size": 10, "sha256": "a" * 64, "uploaded_at": "2026-11-25T02:00:00+00:00", "by": "reporter"}
    shown = edge.shown_attachment(item, "10000004", edge.shows_filename(view, audience))
    assert shown["url"] == "/api/v1/reports/10000004/attachments/att_0123456789abcdef01234567"
    assert (shown["filename"] == "KTP Siti Aminah.jpg") is named


def multipart_request(files=(), data=None, content_length=None):
    builder = EnvironBuilder(method="POST", data=dict(data or {}, **{
        "file": [(io.BytesIO(content), name) for name, content in files]}))
    environ = builder.get_environ()
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    return Request(environ)


def test_the_gateway_reads_the_files_and_the_report_part():
    request = multipart_request([("a.png", samples.png()), ("b.pdf", samples.pdf())], {"report": '{"type": "x"}'})
    report, uploads = edge.read_upload_form(request, SMALL, with_report=True)
    assert report == {"type": "x"}
    assert [(upload.filename, upload.size) for upload in uploads] == [("a.png", len(samples.png())),
                                                                       ("b.pdf", len(samples.pdf()))]
    assert uploads[0].stream.read() == samples.png()


def test_the_gateway_refuses_before_reading_a_body_announced_too_large():
    request = multipart_request([("a.png", samples.png())], content_length=SMALL.max_total_bytes
                                + edge.FORM_ALLOWANCE_BYTES + 1)
    with pytest.raises(TooLarge):
        edge.read_upload_form(request, SMALL)
    assert "form" not in request.__dict__  # nothing parsed: the header alone was enough


def test_the_gateway_stops_reading_a_chunked_body_past_the_cap():
    content = samples.sized(samples.png(), SMALL.max_total_bytes + edge.FORM_ALLOWANCE_BYTES)
    environ = EnvironBuilder(method="POST", data={"file": [(io.BytesIO(content), "a.png")]}).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # a chunked body the server has de-chunked: no length known
    with pytest.raises(TooLarge):
        edge.read_upload_form(Request(environ), SMALL)


def test_the_gateway_refuses_another_type_an_unknown_field_and_a_missing_report():
    with pytest.raises(UnsupportedMediaType):
        edge.read_upload_form(Request(EnvironBuilder(method="POST", json={"a": 1}).get_environ()), SMALL)
    with pytest.raises(ValidationFailed) as refused:
        edge.read_upload_form(multipart_request([("a.png", samples.png())], {"note": "x"}), SMALL)
    assert set(refused.value.fields) == {"note"}
    with pytest.raises(ValidationFailed) as refused:
        edge.read_upload_form(multipart_request([("a.png", samples.png())]), SMALL, with_report=True)
    assert set(refused.value.fields) == {"report"}
    with pytest.raises(UnsupportedMediaType):
        edge.read_upload_form(multipart_request([("foto.jpg", samples.html())]), SMALL)
