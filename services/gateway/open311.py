"""Open311 GeoReport v2 in plain Python: LAPOR's categories and reports in the spec's shapes (DESIGN §4)."""
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.common.tracking_ids import is_valid_tracking_id

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's shape last changed (discovery's `changeset`).
CHANGESET = "2026-11-25T00:00:00+07:00"
CONTACT = "Pengelola SP4N-LAPOR! (Kementerian PANRB), https://www.lapor.go.id"
KEY_SERVICE = "Kunci API untuk sistem pemerintah diterbitkan oleh admin LAPOR; hubungi pengelola."
JAKARTA = ZoneInfo("Asia/Jakarta")

MAX_REQUESTS = 1000
# Service codes per GET requests.json. Each is a store query of its own per status on the stand-in store (no
# `$in` beside a date range), so 100 codes cost 400 queries; an Open311 client asks for one or a few.
MAX_SERVICE_CODES = 10
WINDOW = timedelta(days=90)
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_DESCRIPTION = 4000
MAX_MEDIA_URL = 1000
TITLE_LENGTH = 80
MAX_TEXT_ATTRIBUTE = {"string": 200, "text": 2000}
# The attribute that refines the location rather than the report's text.
ADDRESS_DETAIL = "address_detail"

CLOSED_STATUSES = ("completed", "rejected", "archived")
OPEN_STATUSES = ("received", "verified", "disposed", "in_progress")
LAPOR_STATUSES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}
STATUS_NOTES = {
    "received": ("Diterima; menunggu verifikasi admin LAPOR.", "Received; awaiting verification by LAPOR."),
    "verified": ("Terverifikasi; menunggu disposisi ke instansi.", "Verified; awaiting assignment to an agency."),
    "disposed": ("Didisposisikan ke instansi yang berwenang.", "Assigned to the responsible agency."),
    "in_progress": ("Sedang ditindaklanjuti oleh instansi.", "Being followed up by the agency."),
    "completed": ("Selesai ditindaklanjuti.", "Completed."),
    "rejected": ("Ditolak: bukan ranah LAPOR.", "Rejected: outside LAPOR's scope."),
    "archived": ("Diarsipkan.", "Archived."),
}

_SERVICE_CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# A '+' of an offset sent unencoded in a query string arrives as a space.
_UNENCODED_PLUS = re.compile(r" (\d{2}:?\d{2})$")
# intake's field paths → the Open311 parameter the client sent.
INTAKE_FIELDS = {
    "title": "description", "body": "description", "category": "service_code", "location.lat": "lat",
    "location.lon": "long", "location.address": "address_string", "location.region_code": "address_id",
    "reporter.name": "first_name", "reporter.phone": "phone", "reporter.email": "email",
}


def text(indonesian, english):
    """A message in both languages; the route picks the client's."""
    return {"id": indonesian, "en": english}


ONLY_JSON = text("Hanya format JSON (.json) yang tersedia.", "Only the JSON format (.json) is available.")
REQUEST_NOT_FOUND = text("Permintaan layanan (laporan) tidak ditemukan.", "No such service request.")
SERVICE_NOT_FOUND = text("Kode layanan tidak dikenal.", "Unknown service_code.")
REQUIRED = text("wajib diisi.", "is required.")


class Open311Error(Exception):
    """An answer in the spec's error shape: the HTTP status and one or more bilingual descriptions."""

    def __init__(self, status, descriptions):
        super().__init__(status, descriptions)
        self.status = status
        self.descriptions = list(descriptions)


def problem(parameter, message):
    """`parameter: message` in both languages (the parameter named as the client sent it)."""
    return text(f"{parameter}: {message['id']}", f"{parameter}: {message['en']}")


def error_body(status, descriptions, lang):
    return [{"code": status, "description": description[lang]} for description in descriptions]


def field_problems(fields):
    """intake's field errors ({path: [{id, en}]}) as descriptions naming the Open311 parameters, once each."""
    descriptions = []
    for path, messages in fields.items():
        for message in messages:
            if not isinstance(message, dict):
                message = text(str(message), str(message))
            described = problem(INTAKE_FIELDS.get(path, path), message)
            if described not in descriptions:
                descriptions.append(described)
    return descriptions


# Discovery and services.

def discovery(base_url):
    return {
        "changeset": CHANGESET, "contact": CONTACT, "key_service": KEY_SERVICE,
        "endpoints": [{"specification": SPECIFICATION, "url": base_url, "changeset": CHANGESET,
                       "type": "production", "formats": ["application/json"]}],
    }


def _in(item, key, lang):
    """`key` in the client's language: the data file keeps English as `<key>_en`."""
    return (item.get(f"{key}_en") or item[key]) if lang == "en" else item[key]


def service_item(category, lang):
    return {
        "service_code": category["code"],
        "service_name": _in(category, "name", lang),
        "description": _in(category, "description", lang),
        "metadata": bool(category["attributes"]),
        "type": "realtime",
        "keywords": ", ".join(category.get("keywords", [])),
        "group": _in(category, "group_name", lang),
    }


def service_definition(category, lang):
    attributes = [{
        "variable": True,
        "code": attribute["code"],
        "datatype": attribute["datatype"],
        "required": bool(attribute["required"]),
        "datatype_description": _in(attribute, "datatype_description", lang),
        "order": order,
        "description": _in(attribute, "description", lang),
        "values": [{"key": value["key"], "name": _in(value, "name", lang)} for value in attribute.get("values", [])],
    } for order, attribute in enumerate(category["attributes"], start=1)]
    return {"service_code": category["code"], "attributes": attributes}


def find_category(categories_by_code, service_code):
    category = categories_by_code.get(service_code)
    if category is None:
        raise Open311Error(404, [SERVICE_NOT_FOUND])
    return category


# Requests: LAPOR's public view of a report as a GeoReport request.

def open311_status(status):
    return "closed" if status in CLOSED_STATUSES else "open"


def w3c(iso_text):
    """An ISO-8601 timestamp as W3C-DTF in Asia/Jakarta, to the second."""
    if not iso_text:
        return None
    return datetime.fromisoformat(iso_text).astimezone(JAKARTA).replace(microsecond=0).isoformat()


def request_view(view, categories_by_code, lang):
    """A report's public view (never with reporter fields) as a GeoReport request; built field by field, so
    nothing beyond the spec's fields can slip out."""
    location = view.get("location") or {}
    category = categories_by_code.get(view.get("category"))
    agency = view.get("agency") or {}
    notes = STATUS_NOTES.get(view["status"])
    return {
        "service_request_id": view["tracking_id"],
        "status": open311_status(view["status"]),
        "status_notes": (notes[0] if lang == "id" else notes[1]) if notes else None,
        "service_name": _in(category, "name", lang) if category else None,
        "service_code": view.get("category"),
        "description": view["body"],
        "agency_responsible": agency.get("name"),
        "service_notice": None,
        "requested_datetime": w3c(view["created_at"]),
        "updated_datetime": w3c(view.get("updated_at")),
        "expected_datetime": w3c(view.get("due_at")),
        "address": location.get("address") or location.get("region_name"),
        "address_id": location.get("region_code"),
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": None,
    }


def created_answer(receipt, lang):
    """POST requests' answer: the request ID at once (so no token), and the reporter's access code as a LAPOR
    extension (the client hands it to the citizen, as the REST API's 201 does)."""
    tracking_id = receipt["tracking_id"]
    notice = text(
        f"Laporan diterima dengan nomor pelacakan {tracking_id}. Admin LAPOR memverifikasinya dalam 3 hari kerja, "
        "lalu mendisposisikannya ke instansi yang berwenang. Berikan kode akses kepada pelapor: kode itu "
        "diperlukan untuk membalas, menilai atau membuka kembali laporan.",
        f"Report received with tracking ID {tracking_id}. LAPOR verifies it within 3 working days, then assigns it "
        "to the responsible agency. Give the access code to the reporter: it is needed to reply to, rate or "
        "reopen the report.",
    )
    return [{"service_request_id": tracking_id, "service_notice": notice[lang], "access_code": receipt["access_code"]}]


def token_answer(token):
    """POST gives the request ID at once, so a token is the ID itself."""
    return [{"service_request_id": token, "token": token}]


# GET requests.json: the spec's parameters as tracking's `open311_requests` query.

def _listed(args, name):
    """A parameter's values: it may be repeated and comma delimited (`status=open,closed`)."""
    values = args.get(name) or []
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))


def _single(args, name):
    values = _listed(args, name)
    return values[0] if values else None


def list_query(args, current):
    """tracking's query for GET requests.json; `args` maps each parameter to its values. Open311Error (400)
    for anything the spec does not allow, every problem at once."""
    problems = []
    query = {"limit": _page_size(args, problems)}
    ids = _listed(args, "service_request_id")
    if ids:  # the spec: the IDs override every other parameter
        _check_ids(ids, problems)
        query["ids"] = ids
    else:
        statuses = _statuses(args, problems)
        if statuses is not None:
            query["statuses"] = statuses
        codes = _listed(args, "service_code")
        if len(codes) > MAX_SERVICE_CODES:
            problems.append(problem("service_code", text(f"paling banyak {MAX_SERVICE_CODES} kode layanan.",
                                                         f"at most {MAX_SERVICE_CODES} service codes.")))
            codes = []
        for code in codes:
            if not _SERVICE_CODE.match(code) or len(code) > 64:
                problems.append(problem("service_code", text(f"kode layanan tidak valid: {code}.",
                                                             f"not a valid service code: {code}.")))
        if codes:
            query["categories"] = codes
        query.update(_window(args, current, problems))
    if problems:
        raise Open311Error(400, problems)
    return query


def _page_size(args, problems):
    page_size = _single(args, "page_size")
    if page_size is None:
        return MAX_REQUESTS
    if not (page_size.isascii() and page_size.isdigit()) or not 1 <= int(page_size) <= MAX_REQUESTS:
        problems.append(problem("page_size", text(f"harus bilangan bulat 1 sampai {MAX_REQUESTS}.",
                                                  f"must be a whole number from 1 to {MAX_REQUESTS}.")))
        return MAX_REQUESTS
    return int(page_size)


def _check_ids(ids, problems):
    if len(ids) > MAX_REQUESTS:
        problems.append(problem("service_request_id", text(f"paling banyak {MAX_REQUESTS} nomor.",
                                                           f"at most {MAX_REQUESTS} IDs.")))
    bad = [tracking_id for tracking_id in ids if not is_valid_tracking_id(tracking_id)]
    if bad:
        shown = ", ".join(bad[:5])
        problems.append(problem("service_request_id", text(f"nomor pelacakan tidak valid: {shown}.",
                                                           f"not a valid tracking ID: {shown}.")))


def _statuses(args, problems):
    """LAPOR's statuses for `status=open|closed` (either or both); None when every status is wanted."""
    wanted = _listed(args, "status")
    unknown = [status for status in wanted if status not in LAPOR_STATUSES]
    if unknown:
        problems.append(problem("status", text("harus open atau closed.", "must be open or closed.")))
        return None
    if not wanted or set(wanted) == set(LAPOR_STATUSES):
        return None
    return [status for name in wanted for status in LAPOR_STATUSES[name]]


def _window(args, current, problems):
    """{created_from, created_until?} as ISO text: at most 90 days; the most recent 90 days by default.

    With no end_date there is no upper bound, so a report made this very second is not cut off."""
    start, end = _datetime_arg(args, "start_date", problems), _datetime_arg(args, "end_date", problems)
    if start and end:
        if end < start:
            problems.append(problem("end_date", text("tidak boleh sebelum start_date.",
                                                     "may not be before start_date.")))
        elif end - start > WINDOW:
            problems.append(problem("start_date", text("rentang start_date sampai end_date paling lama 90 hari.",
                                                       "start_date to end_date may span at most 90 days.")))
    elif start:
        end = start + WINDOW
    elif end:
        start = end - WINDOW
    else:
        start = current - WINDOW
    window = {"created_from": start.isoformat()} if start else {}
    if end:
        window["created_until"] = end.isoformat()
    return window


def _datetime_arg(args, name, problems):
    """W3C-DTF (`2026-01-01T00:00:00Z`, `…+07:00`, or a date); without an offset, Asia/Jakarta. A date alone as
    end_date means the whole day."""
    value = _single(args, name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(_UNENCODED_PLUS.sub(r"+\1", value))
    except ValueError:
        problems.append(problem(name, text("gunakan format W3C, mis. 2026-01-31T00:00:00+07:00.",
                                           "use the W3C format, e.g. 2026-01-31T00:00:00+07:00.")))
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:  # far-off dates overflow the 90-day window or the store
        problems.append(problem(name, text(f"tahun harus antara {FIRST_YEAR} dan {LAST_YEAR}.",
                                           f"the year must be from {FIRST_YEAR} to {LAST_YEAR}.")))
        return None
    if "T" not in value and name == "end_date":
        parsed = datetime.combine(parsed.date(), time.max.replace(microsecond=0))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=JAKARTA)


# POST requests.json: the form as an intake submission.

def submission(form, categories_by_code):
    """The intake report for a POST requests.json form (`form` maps each field to its values); Open311Error
    (400) naming every problem. Attributes go into the body (the address detail into the address)."""
    problems = []
    code = first_value(form, "service_code")
    category = categories_by_code.get(code) if code else None
    if code is None:
        problems.append(problem("service_code", REQUIRED))
    elif category is None:
        problems.append(problem("service_code", SERVICE_NOT_FOUND))
    location = _location(form, problems)
    description = _description(form, problems)
    media_url = _media_url(form, problems)
    lines, address_detail = _attributes(form, category, problems) if category else ([], None)
    if problems:
        raise Open311Error(400, problems)
    if address_detail:
        address = location.get("address")
        location["address"] = f"{address} ({address_detail})" if address else address_detail
    if media_url:
        lines.append(f"Foto/media: {media_url}")
    body = "\n\n".join([description, "\n".join(lines)]) if lines else description
    return {"type": "complaint", "title": title_from(description), "body": body, "category": code,
            "location": location, "anonymous": False, "confidential": False, "reporter": _reporter(form) or None}


def title_from(description):
    """The description's first words, up to 80 characters (an ellipsis when cut)."""
    words, title = description.split(), ""
    for word in words:
        longer = f"{title} {word}".strip()
        if len(longer) > TITLE_LENGTH:
            break
        title = longer
    title = title or description.strip()[:TITLE_LENGTH]
    return title if title == " ".join(words) else f"{title}…"


def first_value(form, name):
    values = form.get(name) or []
    if isinstance(values, str):
        values = [values]
    value = values[0].strip() if values else ""
    return value or None


def _location(form, problems):
    """lat/long, address_string, address_id (a Kemendagri region code): the spec wants at least one."""
    before = len(problems)
    lat, long_ = _number(form, "lat", problems), _number(form, "long", problems)
    if len(problems) == before and (lat is None) != (long_ is None):
        problems.append(problem("lat/long", text("harus diisi berpasangan.", "must be given together.")))
    location = {"lat": lat, "lon": long_, "address": first_value(form, "address_string"),
                "region_code": first_value(form, "address_id")}
    location = {key: value for key, value in location.items() if value is not None}
    if not location and len(problems) == before:
        problems.append(problem("lat/long, address_string, address_id", text(
            "isi salah satu untuk lokasi laporan.", "one of them is required for the location.")))
    return location


def _number(form, name, problems):
    value = first_value(form, name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        problems.append(problem(name, text("harus berupa angka.", "must be a number.")))
        return None


def _description(form, problems):
    description = first_value(form, "description")
    if description is None:
        problems.append(problem("description", REQUIRED))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(problem("description", text(f"terlalu panjang, maksimal {MAX_DESCRIPTION} karakter.",
                                                    f"longer than {MAX_DESCRIPTION} characters.")))
    return description


def _media_url(form, problems):
    media_url = first_value(form, "media_url")
    if media_url and (not re.match(r"^https?://\S+$", media_url) or len(media_url) > MAX_MEDIA_URL):
        problems.append(problem("media_url", text("harus URL http(s) yang valid.", "must be a valid http(s) URL.")))
    return media_url


def _reporter(form):
    name = " ".join(part for part in (first_value(form, "first_name"), first_value(form, "last_name")) if part)
    reporter = {"name": name or None, "phone": first_value(form, "phone"), "email": first_value(form, "email")}
    return {key: value for key, value in reporter.items() if value}


def _attributes(form, category, problems):
    """(body lines "description: value", the address detail) from `attribute[code]` fields, checked against
    the service definition: known codes only, required ones present, list values among the keys."""
    given = {}
    for key, values in form.items():
        match = _ATTRIBUTE_KEY.match(key)
        if match:
            values = [values] if isinstance(values, str) else values
            given.setdefault(match.group(1), []).extend(value.strip() for value in values if value.strip())
    definitions = {attribute["code"]: attribute for attribute in category["attributes"]}
    for code in given.keys() - definitions.keys():
        problems.append(problem(f"attribute[{code}]", text("tidak dikenal untuk layanan ini.",
                                                          "is not an attribute of this service.")))
    lines, address_detail = [], None
    for code, attribute in definitions.items():
        shown = _attribute_value(attribute, given.get(code, []), problems)
        if shown is None:
            continue
        if code == ADDRESS_DETAIL:
            address_detail = shown
        else:
            lines.append(f"{attribute['description']}: {shown}")
    return lines, address_detail


def _attribute_value(attribute, values, problems):
    """The value as officers read it (a list value by its Indonesian name); None when not given or invalid."""
    name, datatype = f"attribute[{attribute['code']}]", attribute["datatype"]
    if not values:
        if attribute["required"]:
            problems.append(problem(name, REQUIRED))
        return None
    if datatype in ("singlevaluelist", "multivaluelist"):
        names = {value["key"]: value["name"] for value in attribute.get("values", [])}
        if (datatype == "singlevaluelist" and len(values) > 1) or any(value not in names for value in values):
            keys = ", ".join(names)
            problems.append(problem(name, text(f"pilih dari: {keys}.", f"choose from: {keys}.")))
            return None
        return ", ".join(names[value] for value in values)
    value = values[0]
    limit = MAX_TEXT_ATTRIBUTE.get(datatype, MAX_TEXT_ATTRIBUTE["string"])
    if len(values) > 1 or len(value) > limit or not _fits(datatype, value):
        problems.append(problem(name, text(f"satu nilai {datatype}, paling banyak {limit} karakter.",
                                           f"one {datatype} value of at most {limit} characters.")))
        return None
    return value


def _fits(datatype, value):
    parse = {"number": float, "datetime": datetime.fromisoformat}.get(datatype)
    try:
        return parse is None or parse(value) is not None
    except ValueError:
        return False
