"""Open311 GeoReport v2 mapping (services/gateway/open311.py) and its routes in isolation: the spec's shapes,
the 90-day window and the 1000 cap, form → intake submission, and errors as [{code, description}]."""
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.errors import Forbidden, NotFound, RateLimited, Unavailable, ValidationFailed
from services.gateway import open311
from services.gateway.exceptions import Unauthorized
from services.gateway.open311 import Open311Error
from services.gateway.open311_routes import open311_api
from services.gateway.service import GatewayService
from services.intake.domain import load_categories

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
CATEGORIES = {category["code"]: category for category in load_categories()}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}


def public_view(**overrides):
    """A report as tracking's public view gives it (DESIGN §4)."""
    view = {
        "tracking_id": "10000004", "type": "complaint", "title": "Jalan berlubang", "status": "disposed",
        "body": "Jalan berlubang besar di depan pasar", "category": "jalan-rusak", "channel": "open311",
        "created_at": "2026-11-24T02:30:00.123456+00:00", "updated_at": "2026-11-24T05:00:00+00:00",
        "occurred_at": None, "due_at": "2026-12-01T10:00:00+00:00", "overdue": False,
        "location": {"region_code": "18.72", "region_name": "Kota Metro", "address": "Jl. Pala",
                     "lat": -5.11, "lon": 105.3},
        "agency": {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro"}, "support_count": 0,
        "anonymous": False, "confidential": False, "version": 3,
    }
    view.update(overrides)
    return view


def form(**fields):
    """A POST requests.json form as werkzeug hands it over: each field with its list of values."""
    base = {"service_code": "jalan-rusak", "lat": "-5.1131", "long": "105.3067",
            "description": "Jalan berlubang besar di depan Pasar Cendrawasih, sudah dua minggu",
            "attribute[road_type]": "kabupaten-kota"}
    base.update(fields)
    return {key: value if isinstance(value, list) else [value] for key, value in base.items() if value is not None}


def descriptions(caught, lang="en"):
    return [item["description"] for item in open311.error_body(caught.value.status, caught.value.descriptions, lang)]


# Services and their definitions.

def test_services_are_the_lapor_categories_with_their_groups_in_the_clients_language():
    items = {item["service_code"]: item for item in (open311.service_item(c, "id") for c in CATEGORIES.values())}
    road = items["jalan-rusak"]
    assert road == {"service_code": "jalan-rusak", "service_name": "Jalan rusak", "group": "Infrastruktur",
                    "description": road["description"], "metadata": True, "type": "realtime",
                    "keywords": "jalan, lubang, aspal, amblas"}
    assert items["ktp-el"]["group"] == "Administrasi kependudukan"
    english = open311.service_item(CATEGORIES["jalan-rusak"], "en")
    assert (english["service_name"], english["group"]) == ("Damaged road", "Infrastructure")


def test_a_service_definition_lists_its_attributes_in_order_with_list_values():
    definition = open311.service_definition(CATEGORIES["jalan-rusak"], "id")
    assert definition["service_code"] == "jalan-rusak"
    road_type, address_detail = definition["attributes"]
    assert road_type["code"] == "road_type" and road_type["datatype"] == "singlevaluelist"
    assert road_type["required"] is True and road_type["variable"] is True and road_type["order"] == 1
    assert {"key": "kabupaten-kota", "name": "Jalan kabupaten/kota"} in road_type["values"]
    assert address_detail["code"] == "address_detail" and address_detail["datatype"] == "string"
    assert address_detail["required"] is False and address_detail["values"] == []


def test_an_unknown_service_code_is_404():
    with pytest.raises(Open311Error) as caught:
        open311.find_category(CATEGORIES, "jalan")
    assert caught.value.status == 404


def test_discovery_names_the_spec_and_our_url():
    answer = open311.discovery("http://lapor.test/open311/v2")
    [endpoint] = answer["endpoints"]
    assert endpoint["specification"] == open311.SPECIFICATION and endpoint["url"] == "http://lapor.test/open311/v2"
    assert endpoint["formats"] == ["application/json"] and answer["changeset"] == endpoint["changeset"]


# Requests as the spec shows them.

@pytest.mark.parametrize("status, expected", [
    ("received", "open"), ("verified", "open"), ("disposed", "open"), ("in_progress", "open"),
    ("completed", "closed"), ("rejected", "closed"), ("archived", "closed"),
])
def test_status_is_open_until_completed_rejected_or_archived(status, expected):
    assert open311.request_view(public_view(status=status), CATEGORIES, "id")["status"] == expected


def test_a_request_has_the_spec_fields_and_no_others():
    request = open311.request_view(public_view(), CATEGORIES, "id")
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == "10000004" and request["service_code"] == "jalan-rusak"
    assert request["service_name"] == "Jalan rusak"
    assert request["description"] == "Jalan berlubang besar di depan pasar"
    assert request["agency_responsible"] == "Pemerintah Kota Metro"
    assert request["requested_datetime"] == "2026-11-24T09:30:00+07:00"  # W3C, Jakarta, whole seconds
    assert request["updated_datetime"] == "2026-11-24T12:00:00+07:00"
    assert request["expected_datetime"] == "2026-12-01T17:00:00+07:00"  # the deadline
    assert (request["address"], request["address_id"], request["lat"], request["long"]) == (
        "Jl. Pala", "18.72", -5.11, 105.3)
    assert request["status_notes"].startswith("Didisposisikan")


def test_a_reporter_in_the_view_never_reaches_the_request():
    view = public_view(anonymous=True, reporter={"name": "Siti Aminah", "phone": "+6281234567890"})
    assert "Siti" not in json.dumps(open311.request_view(view, CATEGORIES, "id"))


def test_a_request_without_agency_deadline_or_address_falls_back():
    request = open311.request_view(public_view(agency=None, due_at=None, category=None, location={
        "region_code": "18.72", "region_name": "Kota Metro", "address": None, "lat": None, "lon": None}),
        CATEGORIES, "en")
    assert (request["agency_responsible"], request["expected_datetime"], request["service_name"]) == (None, None, None)
    assert request["address"] == "Kota Metro"


def test_post_answers_with_the_id_at_once_and_tokens_resolve_to_themselves():
    [answer] = open311.created_answer({"tracking_id": "10000004", "access_code": "ABCD-EFGH"}, "id")
    assert answer["service_request_id"] == "10000004" and "10000004" in answer["service_notice"]
    assert answer["access_code"] == "ABCD-EFGH" and "token" not in answer
    assert open311.token_answer("10000004") == [{"service_request_id": "10000004", "token": "10000004"}]


# GET requests.json: the query.

def query(**args):
    return open311.list_query({key: [value] for key, value in args.items()}, NOW)


def test_by_default_the_most_recent_90_days_up_to_1000_with_no_upper_bound():
    assert query() == {"limit": 1000, "created_from": (NOW - timedelta(days=90)).isoformat()}


def test_ids_override_every_other_parameter():
    assert query(service_request_id="10000004,10000012", status="open", start_date="2000-01-01") == {
        "limit": 1000, "ids": ["10000004", "10000012"]}


@pytest.mark.parametrize("ids", ["10000005", "abc", "10000004,1"])
def test_a_malformed_id_is_400(ids):
    with pytest.raises(Open311Error) as caught:
        query(service_request_id=ids)
    assert caught.value.status == 400 and "service_request_id" in descriptions(caught)[0]


@pytest.mark.parametrize("status, statuses", [
    ("open", ["received", "verified", "disposed", "in_progress"]),
    ("closed", ["completed", "rejected", "archived"]),
    ("open,closed", None),
])
def test_status_open_or_closed_becomes_lapor_statuses(status, statuses):
    assert query(status=status).get("statuses") == statuses


def test_status_and_service_code_may_be_repeated_or_comma_delimited():
    args = {"service_code": ["jalan-rusak,sampah", "sampah"], "status": ["closed"]}
    found = open311.list_query(args, NOW)
    assert found["categories"] == ["jalan-rusak", "sampah"] and found["statuses"] == list(open311.CLOSED_STATUSES)


def test_at_most_ten_service_codes_a_request():
    """Issue 13 item 12: 100 codes made 400 store queries from one cheap GET."""
    codes = [f"kode-{n}" for n in range(open311.MAX_SERVICE_CODES + 1)]
    assert query(service_code=",".join(codes[:-1]))["categories"] == codes[:-1]
    with pytest.raises(Open311Error) as caught:
        query(service_code=",".join(codes))
    assert caught.value.status == 400 and descriptions(caught) == ["service_code: at most 10 service codes."]


def test_a_window_of_exactly_90_days_is_allowed_with_both_bounds():
    found = query(start_date="2026-01-01T00:00:00Z", end_date="2026-04-01T00:00:00Z")
    assert found["created_from"] == "2026-01-01T00:00:00+00:00"
    assert found["created_until"] == "2026-04-01T00:00:00+00:00"


@pytest.mark.parametrize("args, parameter", [
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:01Z"}, "start_date"),
    ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "end_date"),
    ({"start_date": "kemarin"}, "start_date"),
    ({"status": "pending"}, "status"),
    ({"service_code": "Jalan Rusak"}, "service_code"),
    ({"page_size": "1001"}, "page_size"),
    ({"page_size": "0"}, "page_size"),
])
def test_what_the_spec_does_not_allow_is_400_naming_the_parameter(args, parameter):
    with pytest.raises(Open311Error) as caught:
        query(**args)
    assert caught.value.status == 400
    assert any(text.startswith(f"{parameter}:") for text in descriptions(caught)), descriptions(caught)


def test_start_alone_spans_90_days_on_and_end_alone_90_days_back():
    assert query(start_date="2026-01-01T00:00:00+07:00")["created_until"] == "2026-04-01T00:00:00+07:00"
    assert query(end_date="2026-04-01T00:00:00+07:00")["created_from"] == "2026-01-01T00:00:00+07:00"


def test_dates_without_an_offset_are_jakarta_time_and_an_end_date_alone_is_the_whole_day():
    found = query(start_date="2026-01-01", end_date="2026-01-31")
    assert found["created_from"] == "2026-01-01T00:00:00+07:00"
    assert found["created_until"] == "2026-01-31T23:59:59+07:00"


def test_an_offset_whose_plus_arrived_as_a_space_still_parses():
    assert query(start_date="2026-01-01T00:00:00 07:00")["created_from"] == "2026-01-01T00:00:00+07:00"


def test_page_size_lowers_the_cap():
    assert query(page_size="25")["limit"] == 25


# POST requests.json: the form as an intake submission.

def test_a_form_becomes_a_complaint_in_the_category_with_attributes_in_the_body():
    report = open311.submission(form(**{
        "first_name": "Siti", "last_name": "Aminah", "phone": "081234567890", "email": "siti@example.id",
        "address_string": "Jl. Cendrawasih", "attribute[address_detail]": "depan pasar, RT 02",
        "media_url": "https://foto.example.id/1.jpg", "api_key": "x", "jurisdiction_id": "lapor.go.id"}), CATEGORIES)
    assert report["type"] == "complaint" and report["category"] == "jalan-rusak"
    assert (report["anonymous"], report["confidential"]) == (False, False)
    assert report["location"] == {"lat": -5.1131, "lon": 105.3067,
                                  "address": "Jl. Cendrawasih (depan pasar, RT 02)"}
    assert report["reporter"] == {"name": "Siti Aminah", "phone": "081234567890", "email": "siti@example.id"}
    assert report["body"].startswith("Jalan berlubang besar di depan Pasar Cendrawasih, sudah dua minggu\n\n")
    assert "Status jalan: Jalan kabupaten/kota" in report["body"]
    assert "Foto/media: https://foto.example.id/1.jpg" in report["body"]
    assert report["title"] == "Jalan berlubang besar di depan Pasar Cendrawasih, sudah dua minggu"


def test_a_region_code_as_address_id_is_location_enough_and_no_contact_means_no_reporter():
    report = open311.submission(form(lat=None, long=None, address_id="18.72"), CATEGORIES)
    assert report["location"] == {"region_code": "18.72"} and report["reporter"] is None


@pytest.mark.parametrize("fields, parameter", [
    ({"lat": None, "long": None}, "lat/long, address_string, address_id"),
    ({"long": None}, "lat/long"),
    ({"lat": "utara"}, "lat"),
    ({"service_code": None}, "service_code"),
    ({"service_code": "jalan"}, "service_code"),
    ({"description": None}, "description"),
    ({"description": "x" * 4001}, "description"),
    ({"attribute[road_type]": None}, "attribute[road_type]"),
    ({"attribute[road_type]": "tol"}, "attribute[road_type]"),
    ({"attribute[road_type]": ["desa", "nasional"]}, "attribute[road_type]"),
    ({"attribute[warna]": "merah"}, "attribute[warna]"),
    ({"attribute[address_detail]": "x" * 201}, "attribute[address_detail]"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
])
def test_a_form_the_spec_or_the_definition_refuses_is_400_naming_the_field(fields, parameter):
    with pytest.raises(Open311Error) as caught:
        open311.submission(form(**fields), CATEGORIES)
    assert caught.value.status == 400
    assert any(text.startswith(f"{parameter}:") for text in descriptions(caught)), descriptions(caught)


def test_every_problem_is_named_at_once():
    with pytest.raises(Open311Error) as caught:
        open311.submission(form(lat=None, long=None, description=None, **{"attribute[road_type]": None}), CATEGORIES)
    assert len(caught.value.descriptions) == 3


@pytest.mark.parametrize("description, title", [
    ("Lampu jalan mati", "Lampu jalan mati"),
    (" ".join(["kata"] * 30), " ".join(["kata"] * 16) + "…"),
    ("x" * 100, "x" * 80 + "…"),
])
def test_the_title_is_the_descriptions_first_words(description, title):
    assert open311.title_from(description) == title


def test_intakes_field_errors_name_the_open311_parameters():
    fields = {"body": [{"id": "Terlalu pendek, minimal 10 karakter.", "en": "Shorter than minimum length 10."}],
              "title": [{"id": "Terlalu pendek, minimal 5 karakter.", "en": "Shorter than minimum length 5."}],
              "reporter.phone": [{"id": "Nomor telepon tidak valid.", "en": "Not a valid Indonesian phone number."}],
              "location.region_code": [{"id": "Kode wilayah tidak dikenal.", "en": "Unknown region code."}]}
    texts = [item["en"] for item in open311.field_problems(fields)]
    assert texts == ["description: Shorter than minimum length 10.", "description: Shorter than minimum length 5.",
                     "phone: Not a valid Indonesian phone number.", "address_id: Unknown region code."]


# The routes' decorator and the routes on fakes.

def make_request(method="GET", path="/open311/v2/requests.json", **kwargs):
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


def answer_of(response):
    return response.status_code, json.loads(response.get_data())


@pytest.mark.parametrize("error, status", [
    (Open311Error(400, [open311.REQUIRED]), 400),
    (ValidationFailed("x", fields={"title": [{"id": "Wajib diisi.", "en": "Missing data for required field."}]}), 400),
    (Forbidden("Kunci API tidak valid."), 403),
    (Unauthorized("x"), 403),
    (NotFound("x"), 404),
    (RateLimited("x", fields={"retry_after": 30}), 429),
    (Unavailable("x"), 503),
    (KeyError("boom"), 500),
])
def test_every_error_leaves_in_the_specs_shape(error, status):
    @open311_api
    def handler(self, request):
        raise error

    code, body = answer_of(handler(None, make_request(), fmt="json"))
    assert code == status and isinstance(body, list) and body
    assert all(set(item) == {"code", "description"} and item["code"] == status for item in body)


def test_validation_errors_name_the_open311_parameter_in_the_clients_language():
    @open311_api
    def handler(self, request):
        raise ValidationFailed("x", fields={"title": [{"id": "Wajib diisi.", "en": "Missing data for required field."}]})

    indonesian = answer_of(handler(None, make_request(), fmt="json"))[1]
    assert indonesian == [{"code": 400, "description": "description: Wajib diisi."}]
    english = handler(None, make_request(headers={"Accept-Language": "en"}), fmt="json")
    assert answer_of(english)[1][0]["description"] == "description: Missing data for required field."


@pytest.mark.parametrize("fmt", ["xml", "JSON", "html"])
def test_only_json_is_served(fmt):
    @open311_api
    def handler(self, request):
        raise AssertionError("not reached")

    code, body = answer_of(handler(None, make_request(), fmt=fmt))
    assert code == 404 and body[0]["code"] == 404


def gateway():
    service = worker_factory(GatewayService)
    service.intake.categories.return_value = load_categories()
    service.auth.api_client.return_value = {"role": "api_client", "username": "pemkot-metro", "name": "pemkot-metro",
                                            "agency_code": None, "agency_name": None, "scope": None}
    return service


def post(service, fields, content_type="application/x-www-form-urlencoded"):
    data = urlencode(fields, doseq=True)
    return service.open311_create_request(make_request("POST", data=data, content_type=content_type), fmt="json")


def test_post_authenticates_the_key_then_submits_through_intake_as_open311():
    service = gateway()
    service.intake.submit.return_value = {"tracking_id": "10000004", "access_code": "ABCD-EFGH", "status": "received"}
    fields = {key: values[0] for key, values in form(api_key="kunci").items()}

    code, body = answer_of(post(service, fields))

    assert code == 200 and body[0]["service_request_id"] == "10000004"
    service.auth.api_client.assert_called_once_with("kunci")
    service.rate_limits.check.assert_called_once_with("api_key", "kunci")
    [report], kwargs = service.intake.submit.call_args
    assert kwargs == {"channel": "open311", "idempotency_key": None, "client": "pemkot-metro"}
    assert report["category"] == "jalan-rusak"
    assert service.auth.record.call_args.args[1:4] == ("open311_submit", "10000004", "ok")


def test_post_with_a_bad_key_submits_nothing():
    service = gateway()
    service.auth.api_client.side_effect = Forbidden("Kunci API tidak valid atau sudah dicabut.")
    code, body = answer_of(post(service, {"service_code": "jalan-rusak", "api_key": "salah"}))
    assert code == 403 and body == [{"code": 403, "description": "Kunci API tidak valid atau sudah dicabut."}]
    service.intake.submit.assert_not_called()


def test_post_as_json_is_415_in_the_specs_shape():
    service = gateway()
    code, body = answer_of(service.open311_create_request(
        make_request("POST", data="{}", content_type="application/json"), fmt="json"))
    assert code == 415 and body[0]["code"] == 415
    service.intake.submit.assert_not_called()


def test_get_one_request_is_a_one_element_array_and_a_confidential_or_malformed_id_is_404():
    service = gateway()
    service.tracking.report.return_value = public_view()
    code, body = answer_of(service.open311_get_request(make_request(), service_request_id="10000004", fmt="json"))
    assert code == 200 and len(body) == 1 and body[0]["service_request_id"] == "10000004"
    service.tracking.report.side_effect = NotFound("Laporan tidak ditemukan.")
    assert answer_of(service.open311_get_request(make_request(), service_request_id="10000004", fmt="json"))[0] == 404
    assert answer_of(service.open311_token(make_request(), token="10000005", fmt="json"))[0] == 404  # check digit


def test_get_requests_passes_the_query_to_tracking_and_maps_each_view():
    service = gateway()
    service.tracking.open311_requests.return_value = [public_view(), public_view(tracking_id="10000012")]
    request = make_request(query_string={"status": "closed", "service_code": "jalan-rusak"})
    code, body = answer_of(service.open311_list_requests(request, fmt="json"))
    assert code == 200 and [item["service_request_id"] for item in body] == ["10000004", "10000012"]
    [sent] = service.tracking.open311_requests.call_args.args
    assert sent["statuses"] == ["completed", "rejected", "archived"] and sent["categories"] == ["jalan-rusak"]
