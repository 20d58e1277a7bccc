"""The gateway's HTTP plumbing: one error table (DESIGN §4), localised messages, JSON bodies within limits."""
import io
import json
from dataclasses import dataclass, field

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.errors import (
    Forbidden, IdempotencyConflict, IllegalTransition, InvalidTrackingId, LaporError, NotFound, RateLimited,
    Unavailable, ValidationFailed,
)
from services.gateway.exceptions import FILE_HEADLINES, MESSAGES, TooLarge, Unauthorized, UnsupportedMediaType
from services.gateway.http import MAX_BODY_BYTES, api, error_response, language, read_json

ERROR_TABLE = [
    # (error type, HTTP status, API code) as DESIGN §4 lists them
    (ValidationFailed, 400, "validation_error"),
    (InvalidTrackingId, 400, "invalid_tracking_id"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (IllegalTransition, 409, "illegal_transition"),
    (IdempotencyConflict, 409, "idempotency_conflict"),
    (TooLarge, 413, "too_large"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (RateLimited, 429, "rate_limited"),
    (Unavailable, 503, "unavailable"),
    (LaporError, 500, "internal_error"),
]
FIELD_ERRORS = {"title": [{"id": "Wajib diisi.", "en": "Missing data for required field."}],
                "location.lat": [{"id": "Harus berupa angka.", "en": "Not a valid number."}]}


@dataclass
class FakeRequest:
    """Just what read_json looks at."""
    body: bytes = b"{}"
    mimetype: str = "application/json"
    content_length: int | None = None
    stream: io.BytesIO = field(init=False)

    def __post_init__(self):
        self.stream = io.BytesIO(self.body)


def make_request(body=b"{}", declare_length=True, **overrides):
    return FakeRequest(body=body, content_length=len(body) if declare_length else None, **overrides)


def make_http_request(accept_language=None):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    return Request(EnvironBuilder(path="/api/v1/reports", headers=headers).get_environ())


def answer(exc, lang="id"):
    response = error_response(exc, lang)
    return response, json.loads(response.get_data(as_text=True))["error"]


def json_string_of_size(size):
    return b'"' + b"a" * (size - 2) + b'"'


@pytest.mark.parametrize("error_type, status, code", ERROR_TABLE)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_error_table(error_type, status, code, lang):
    response, error = answer(error_type(), lang)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert error["code"] == code
    assert error["message"] == MESSAGES[code][lang]


PER_FILE_ERRORS = (ValidationFailed, TooLarge, UnsupportedMediaType)


@pytest.mark.parametrize("error_type, status, code", [row for row in ERROR_TABLE if row[0] not in PER_FILE_ERRORS])
def test_fields_only_for_validation_errors_and_refused_files(error_type, status, code):
    _, error = answer(error_type("Sesuatu.", fields={"title": ["x"]}))
    assert "fields" not in error


@pytest.mark.parametrize("error_type", [TooLarge, UnsupportedMediaType])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_refused_attachment_names_its_file(error_type, lang):
    """413 / 415 for attachments say which file and why, in the client's language (the JSON-body ones do not)."""
    fields = {"file[1]": [{"id": "foto.jpg: jenis berkas tidak diizinkan.", "en": "foto.jpg: not an allowed type."}]}
    _, error = answer(error_type("Lampiran ditolak.", fields=fields), lang)
    assert error["fields"] == {"file[1]": [fields["file[1]"][0][lang]]}
    assert error["message"] == ("Lampiran ditolak." if lang == "id" else FILE_HEADLINES[error_type.code]["en"])


@pytest.mark.parametrize("lang, title, lat", [
    ("id", "Wajib diisi.", "Harus berupa angka."),
    ("en", "Missing data for required field.", "Not a valid number."),
])
def test_validation_fields_are_localised(lang, title, lat):
    _, error = answer(ValidationFailed("Isian tidak valid.", fields=FIELD_ERRORS), lang)
    assert error["fields"] == {"title": [title], "location.lat": [lat]}
    assert error["message"] == MESSAGES["validation_error"][lang]


def test_validation_fields_accept_plain_strings():
    _, error = answer(ValidationFailed(fields={"title": ["Too short."]}), "en")
    assert error["fields"] == {"title": ["Too short."]}


def test_validation_error_without_fields_still_has_fields():
    _, error = answer(ValidationFailed())
    assert error["fields"] == {}


def test_service_message_replaces_the_headline_in_indonesian_only():
    exc = IllegalTransition("Laporan sudah selesai; tidak bisa ditindaklanjuti lagi.")
    assert answer(exc, "id")[1]["message"] == "Laporan sudah selesai; tidak bisa ditindaklanjuti lagi."
    assert answer(exc, "en")[1]["message"] == MESSAGES["illegal_transition"]["en"]


@pytest.mark.parametrize("fields, retry_after", [({"retry_after": 30}, "30"), (None, "60")])
def test_rate_limited_sends_retry_after(fields, retry_after):
    response, error = answer(RateLimited("Terlalu sering.", fields=fields))
    assert response.headers["Retry-After"] == retry_after
    assert "fields" not in error


@pytest.mark.parametrize("error_type", [NotFound, Unavailable, ValidationFailed])
def test_other_errors_send_no_retry_after(error_type):
    assert "Retry-After" not in error_response(error_type(), "id").headers


def test_error_body_is_utf8_json_with_unescaped_text():
    response = error_response(NotFound("Laporan tidak ditemukan — periksa nomornya."), "id")
    assert "—" in response.get_data(as_text=True)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("accept_language, expected", [
    (None, "id"),
    ("en", "en"),
    ("en-US,en;q=0.9", "en"),
    ("id-ID,id;q=0.9,en;q=0.8", "id"),
    ("fr", "id"),
    ("en;q=0.5,id;q=0.9", "id"),
])
def test_language(accept_language, expected):
    assert language(make_http_request(accept_language)) == expected


class FakeService:
    @api
    def fail(self, request, error):
        raise error

    @api
    def succeed(self, request):
        return "ok"


@pytest.mark.parametrize("accept_language, message", [(None, MESSAGES["not_found"]["id"]),
                                                       ("en", MESSAGES["not_found"]["en"])])
def test_api_wrapper_answers_errors_in_the_clients_language(accept_language, message):
    response = FakeService().fail(make_http_request(accept_language), NotFound())
    assert response.status_code == 404
    assert json.loads(response.get_data(as_text=True))["error"]["message"] == message


def test_api_wrapper_hides_unexpected_errors_behind_a_500():
    response = FakeService().fail(make_http_request("en"), KeyError("secret internals"))
    error = json.loads(response.get_data(as_text=True))["error"]
    assert response.status_code == 500
    assert error == {"code": "internal_error", "message": MESSAGES["internal_error"]["en"]}


def test_api_wrapper_passes_answers_through():
    assert FakeService().succeed(make_http_request()) == "ok"


@pytest.mark.parametrize("body, mimetype, expected", [
    (b'{"title": "Jalan rusak"}', "application/json", {"title": "Jalan rusak"}),
    ('{"title": "Jalan rusak — Kota Metro"}'.encode(), "application/json", {"title": "Jalan rusak — Kota Metro"}),
    (b'[1, 2]', "application/json", [1, 2]),
    (b'{}', "", {}),
])
def test_read_json_parses_the_body(body, mimetype, expected):
    assert read_json(make_request(body, mimetype=mimetype)) == expected


def test_read_json_accepts_exactly_one_mebibyte():
    assert len(read_json(make_request(json_string_of_size(MAX_BODY_BYTES)))) == MAX_BODY_BYTES - 2


def test_read_json_refuses_over_one_mebibyte_by_header_without_reading():
    request = FakeRequest(body=b"{}", content_length=MAX_BODY_BYTES + 1)
    with pytest.raises(TooLarge):
        read_json(request)
    assert request.stream.tell() == 0


def test_read_json_refuses_over_one_mebibyte_by_size_without_a_header():
    with pytest.raises(TooLarge):
        read_json(make_request(json_string_of_size(MAX_BODY_BYTES + 1), declare_length=False))


def test_read_json_refuses_a_body_longer_than_its_header_says():
    request = FakeRequest(body=json_string_of_size(MAX_BODY_BYTES + 10), content_length=10)
    with pytest.raises(TooLarge):
        read_json(request)


@pytest.mark.parametrize("mimetype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_read_json_refuses_other_media_types(mimetype):
    with pytest.raises(UnsupportedMediaType):
        read_json(make_request(b'{"title": "x"}', mimetype=mimetype))


@pytest.mark.parametrize("body", [
    b'{"title": ',
    b"{'title': 'x'}",
    b"",
    b"\xff\xfe{}",
    b'{"title": "\xc3\x28"}',
    b"NaN-ish",
])
def test_read_json_refuses_broken_json_and_invalid_utf8_as_validation_errors(body):
    with pytest.raises(ValidationFailed) as caught:
        read_json(make_request(body))
    assert set(caught.value.fields) == {"_body"}
    (message,) = caught.value.fields["_body"]
    assert set(message) == {"id", "en"}


def test_broken_json_answers_400_with_the_body_field():
    with pytest.raises(ValidationFailed) as caught:
        read_json(make_request(b"{"))
    response, error = answer(caught.value, "en")
    assert response.status_code == 400
    assert error["fields"]["_body"][0].startswith("Invalid JSON")
