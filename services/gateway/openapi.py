"""The OpenAPI 3.1 document of the gateway's public API (DESIGN §4), built with apispec from the real schemas.

Request bodies and query parameters are the marshmallow schemas the services load them with; responses are
the documentation schemas of services/gateway/schemas.py. `document_json()` builds it once per process."""
import functools
import json

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from werkzeug.wrappers import Response

from services.common.dead_letters import STATES as DEAD_EVENT_STATES
from services.common.dead_letters import DeadEventQuerySchema, ReplaySchema
from services.gateway import policy, schemas
from services.gateway.accounts import LoginSchema
from services.gateway.dead_event_routes import DEAD_LETTER_SERVICES
from services.intake.schemas import SmsMessageSchema, SubmissionSchema
from services.intake.twitter import CRC_TOKEN_MAX_LENGTH
from services.routing.schemas import (DeclineSchema, DisposeSchema, RejectSchema, RoutingRulesSchema, UnitSchema,
                                      VerifySchema)
from services.sla.schemas import FIRST_YEAR, LAST_YEAR, FiguresQuerySchema
from services.tracking.schemas import ACTION_SCHEMAS, FeedQuerySchema, InboxQuerySchema

TITLE = "LAPOR! API"
API_VERSION = "1.0"
OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FILES = {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"},
         "description": "JPEG, PNG, WebP, HEIC/HEIF, PDF, MP4, MOV or 3GP; limits in the README."}

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "An officer's token from POST /api/v1/auth/token."},
    "accessCode": {"type": "apiKey", "in": "header", "name": "X-Access-Code",
                   "description": "The reporter's access code (ABCD-EFGH), given once at submission."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "Another government system's API key, issued by a LAPOR operator."},
}
OFFICER = [{"bearerAuth": []}]
REPORTER = [{"accessCode": []}]
PUBLIC = []
# A report and what hangs off it: the public without credentials, or whoever the credentials say.
VIEWERS = [{}, {"bearerAuth": []}, {"accessCode": []}, {"apiKey": []}]

TAGS = [
    {"name": "reports", "description": "Laporan: submit, read, follow (citizens and the public)."},
    {"name": "reporter", "description": "The reporter's actions, with X-Access-Code."},
    {"name": "officers", "description": "Officer actions and views, with a bearer token."},
    {"name": "channels", "description": "SMS 1708 and Twitter/X, as their gateways deliver them."},
    {"name": "reference", "description": "Agencies (instansi) and regions (wilayah)."},
    {"name": "statistics", "description": "Public volumes and SLA compliance."},
    {"name": "administration", "description": "National admins: calendar, notifications, templates, audit, "
                                              "parked events."},
    {"name": "auth", "description": "Officer sign-in."},
    {"name": "open311", "description": "Open311 GeoReport v2 (errors in the spec's shape)."},
    {"name": "meta", "description": "This document."},
]

# Error answers: status → (component name, description). /api/v1 uses DESIGN §4's envelope, Open311 its array.
ERRORS = {
    400: ("BadRequest", "validation_error or invalid_tracking_id; `fields` names each problem."),
    401: ("Unauthorized", "unauthorized: no valid bearer token (or a wrong username or password)."),
    403: ("Forbidden", "forbidden: the role, access code or API key does not allow this."),
    404: ("NotFound", "not_found (also a confidential report, or one outside the officer's scope)."),
    409: ("Conflict", "illegal_transition, a stale `version`, or idempotency_conflict."),
    413: ("TooLarge", "too_large: the body is over 1 MiB (attachments: over their limits)."),
    415: ("UnsupportedMediaType", "unsupported_media_type: send the documented Content-Type."),
    429: ("RateLimited", "rate_limited: wait Retry-After seconds."),
    503: ("Unavailable", "unavailable: a dependency is down; nothing was written."),
}
CRC_TOKEN_PATTERN = "^[A-Za-z0-9_=+/-]+$"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "required": True,
                               "schema": {"type": "integer", "minimum": 1}}}

# Routing owns these officer actions (policy.OFFICER_ACTIONS); tracking's bodies are ACTION_SCHEMAS.
ROUTING_SCHEMAS = {"verify": VerifySchema, "reject": RejectSchema, "dispose": DisposeSchema,
                   "decline": DeclineSchema}
ACTION_SUMMARIES = {
    "verify": "Verify a received report", "reject": "Reject: outside LAPOR's scope (reason code)",
    "dispose": "Dispose to an agency (or on to a unit)", "decline": "Decline: not this agency's authority",
    "followups": "Follow up (tindak lanjut)", "request-info": "Ask the reporter for more information",
    "complete": "Complete the report", "archive": "Archive the report",
    "reopen": "Reopen a completed report (a national admin, or the reporter within the window)",
    "replies": "The reporter's reply", "rating": "The reporter's rating (once, after completion)",
}

SUBMISSION_EXAMPLE = {
    "type": "complaint", "title": "Pohon tumbang di Jalan Pala",
    "body": "Jalan Pala Iringmulyo ada pohon tumbang yang menghalangi jalan", "anonymous": False,
    "confidential": False, "agency_code": "KOTA-18.72", "location": {"region_code": "18.72"},
    "reporter": {"phone": "081234567890"}}
ACTION_EXAMPLES = {
    "verify": {"note": "Lengkap"}, "reject": {"reason": "too_general"}, "dispose": {"agency_code": "KOTA-18.72"},
    "decline": {"reason": "Bukan kewenangan kami", "suggested_agency_code": "PROV-18"},
    "followups": {"message": "Tim menuju lokasi"}, "request-info": {"message": "Mohon kirim foto lokasi"},
    "complete": {"note": "Pohon sudah dipotong"}, "archive": {"note": "Tuntas"}, "reopen": {"reason": "Belum tuntas"},
    "replies": {"message": "Depan SD 2"}, "rating": {"score": 5, "comment": "Cepat"},
}


def _tracking_id_parameter():
    return {"in": "path", "name": "tracking_id", "required": True,
            "description": "A sequence number of 7+ digits and its Damm check digit.",
            "schema": {"type": "string", "pattern": "^[1-9][0-9]{7,15}$", "examples": ["10000004"]}}


def _path(name, description, **schema):
    return {"in": "path", "name": name, "required": True, "description": description,
            "schema": {"type": "string", **schema}}


def _query(name, description, **schema):
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _header(name, description, **schema):
    return {"in": "header", "name": name, "required": False, "description": description,
            "schema": schema or {"type": "string"}}


PROOF_HEADER = _header("X-Lapor-Proof", "Past the soft per-address limit: `<challenge>:<solution>` for the challenge "
                       "of the last 429 (`error.work`); the SHA-256 of that string starts with `bits` zero bits.",
                       type="string", maxLength=200)
PAGE = [_query("page", "Page number, from 1.", type="integer", minimum=1),
        _query("per_page", "Items per page (at most 200).", type="integer", minimum=1, maximum=200)]


def _json_body(schema, required=True, description=None, example=None):
    body = {"required": required, "content": {JSON: {"schema": schema}}}
    if example is not None:
        body["content"][JSON]["example"] = example
    if description:
        body["description"] = description
    return body


def _answer(schema, description="OK", headers=None, media_type=JSON):
    answer = {"description": description, "content": {media_type: {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _operation(operation_id, tag, summary, answers, errors, security=None, parameters=(), body=None,
               description=None, open311=False):
    """One operation: its answers by status, then a $ref to the shared error answer per status in `errors`."""
    prefix = "Open311" if open311 else ""
    responses = {str(status): answer for status, answer in answers.items()}
    responses.update({str(status): {"$ref": f"#/components/responses/{prefix}{ERRORS[status][0]}"}
                      for status in sorted(errors)})
    operation = {"operationId": operation_id, "tags": [tag], "summary": summary, "responses": responses,
                 "parameters": ["AcceptLanguage", *parameters]}
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = body
    if description:
        operation["description"] = description
    return operation


def _citizen_paths():
    report_id = _tracking_id_parameter()
    return {
        "/api/v1/reports": {
            "get": _operation(
                "list_reports", "reports", "The public feed: non-confidential reports, newest first",
                {200: _answer(schemas.list_envelope(schemas.ReportSchema, "ReportListSchema"))}, (400, 503),
                security=PUBLIC, parameters=[{"in": "query", "schema": FeedQuerySchema}]),
            "post": _operation(
                "submit_report", "reports", "Submit a report (complaint, aspiration or information request)",
                {201: _answer(schemas.ReceiptSchema, "Received", headers={"Location": {
                    "description": "The report's URL.", "required": True, "schema": {"type": "string"}}})},
                (400, 403, 409, 413, 415, 429, 503), security=[{}, {"apiKey": []}], body=_submission_body(),
                parameters=[
                    _header("Idempotency-Key", "A replay within 24 hours answers the same (16–128 ASCII).",
                            type="string", minLength=16, maxLength=128),
                    _header("X-Lapor-Channel", "The mobile app sends `mobile`.", type="string",
                            enum=["web", "mobile"]),
                    PROOF_HEADER],
                description="With X-API-Key the channel is `api` and the system may read the report back in full."),
        },
        "/api/v1/reports/{tracking_id}": {"get": _operation(
            "get_report", "reports", "A report as the caller may see it",
            {200: _answer(schemas.ReportSchema)}, (400, 401, 403, 404, 429, 503), security=VIEWERS,
            parameters=[report_id],
            description="Public view without credentials; the reporter's with X-Access-Code; an officer's with a "
                        "bearer token (404 outside their scope); a confidential report without them is 404. A wrong "
                        "code is 403 on a public report and 404 on a confidential one or an ID no report holds; 10 "
                        "wrong codes for one report from one client, or 30 on any reports, lock that client out "
                        "(429 with Retry-After, the right code included) for the rest of 15 minutes, alike whether "
                        "the report exists; other clients, the reporter's own, are not concerned.")},
        "/api/v1/reports/{tracking_id}/timeline": {"get": _operation(
            "get_timeline", "reports", "The report's timeline entries visible to the caller",
            {200: _answer(schemas.list_envelope(schemas.TimelineItemSchema, "TimelineSchema"))},
            (400, 401, 403, 404, 429, 503), security=VIEWERS[:3], parameters=[report_id, *PAGE])},
        "/api/v1/reports/{tracking_id}/support": {"post": _operation(
            "support_report", "reports", "Support (dukung) a report, once per client address",
            {200: _answer(schemas.SupportSchema)}, (400, 404, 503), security=PUBLIC, parameters=[report_id])},
        "/api/v1/reports/{tracking_id}/access-code": {"post": _operation(
            "request_access_code", "reports", "Ask for a new access code, sent to the contact on file",
            {202: _answer(schemas.NoticeSchema, "Accepted (always: it reveals nothing)")}, (400, 429, 503),
            security=PUBLIC, parameters=[report_id],
            description="The same 202 for every report: an unknown ID, no contact on file, over the report's 3 a "
                        "day, anonymous or confidential, a message that fails (the request is handed on without "
                        "waiting). 429 once the client address has asked LAPOR_RATE_LIMIT_ACCESS_CODE_PER_DAY "
                        "times (default 10) that day, on any reports.")},
    }


def _submission_body():
    """JSON, or multipart/form-data with the same JSON as the `report` part and the files as `file` parts."""
    body = _json_body(SubmissionSchema, example=SUBMISSION_EXAMPLE)
    body["content"][MULTIPART] = {"schema": {
        "type": "object", "required": ["report"], "additionalProperties": False, "properties": {
            "report": {"type": "string", "contentMediaType": JSON,
                       "description": "The JSON body (the Submission schema) as one part."},
            "file": FILES}}}
    return body


def _attachment_paths():
    report_id = _tracking_id_parameter()
    return {
        "/api/v1/reports/{tracking_id}/attachments": {
            "get": _operation(
                "list_attachments", "reports", "The report's attachments, as the caller may see them",
                {200: _answer(schemas.list_envelope(schemas.AttachmentSchema, "AttachmentListSchema"))},
                (400, 401, 403, 404, 429, 503), security=VIEWERS, parameters=[report_id, *PAGE]),
            "post": _operation(
                "upload_attachments", "reports", "Attach files (photos, PDF, video) to an open report",
                {201: _answer(schemas.AttachmentsAddedSchema, "Stored")},
                (400, 401, 403, 404, 409, 413, 415, 429, 503), security=VIEWERS[1:],
                parameters=[report_id, PROOF_HEADER],
                body={"required": True, "content": {MULTIPART: {"schema": {
                    "type": "object", "required": ["file"], "additionalProperties": False,
                    "properties": {"file": FILES}}}}},
                description="By the reporter (X-Access-Code), the submitting system (X-API-Key) or an officer "
                            "holding the report. Files are judged by their content; over the limits the whole "
                            "request is 413, an unknown type 415, a photo or PDF that cannot be read 400. Photos "
                            "and PDFs are stored without their metadata (EXIF, XMP, document info), photos turned "
                            "upright and HEIC as JPEG; the answer's size and sha256 are the stored file's."),
        },
        "/api/v1/reports/{tracking_id}/attachments/{attachment_id}": {"get": _operation(
            "download_attachment", "reports", "One attachment's bytes, as a download",
            {200: {"description": "The file, under the type judged from its content.",
                   "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}},
            (400, 401, 403, 404, 429, 503), security=VIEWERS,
            parameters=[report_id, _path("attachment_id", "The attachment's id.")])},
    }


def _action_paths():
    """POST /api/v1/reports/{tracking_id}/<segment>: every officer and reporter action of policy.py."""
    paths = {}
    for segment in sorted(set(policy.OFFICER_ACTIONS) | set(policy.REPORTER_ACTIONS)):
        officer = policy.OFFICER_ACTIONS.get(segment)
        reporter_action = policy.REPORTER_ACTIONS.get(segment)
        if officer is not None:
            schema = ROUTING_SCHEMAS[segment] if officer.owner == "routing" else ACTION_SCHEMAS[officer.name]
        else:
            schema = ACTION_SCHEMAS[reporter_action]
        security = (OFFICER if officer else []) + (REPORTER if reporter_action else [])
        roles = ", ".join(sorted(officer.roles)) if officer else None
        who = " or ".join(part for part in (roles, "the reporter (X-Access-Code)" if reporter_action else None) if part)
        errors = (400, 401, 403, 404, 409, 413, 415, 503) + ((429,) if reporter_action else ())
        paths[f"/api/v1/reports/{{tracking_id}}/{segment}"] = {"post": _operation(
            f"{segment.replace('-', '_')}_report", "officers" if officer else "reporter", ACTION_SUMMARIES[segment],
            {200: _answer(schemas.ReportSchema, "The updated report, as the caller sees it")}, errors,
            security=security, parameters=[_tracking_id_parameter()],
            body=_json_body(schema, required=not _all_optional(schema), example=ACTION_EXAMPLES.get(segment)),
            description=f"By: {who}. A `version` other than the report's current one is 409 and changes nothing.")}
    return paths


def _all_optional(schema):
    """An action whose every field is optional may be sent without a body (read_json's empty_is_object)."""
    return not any(field.required for field in schema().fields.values())


def _channel_paths():
    return {
        "/api/v1/channels/sms": {"post": _operation(
            "receive_sms", "channels", "An SMS to 1708, as the operator's SMS gateway forwards it",
            {200: _answer(schemas.SmsReceiptSchema)}, (400, 401, 409, 413, 415, 429, 503), security=PUBLIC,
            parameters=[
                dict(_header("X-LAPOR-Timestamp", "When the operator's gateway signed the request, in Unix "
                             "seconds.", type="string", pattern="^[0-9]{1,12}$"), required=True),
                dict(_header("X-LAPOR-Signature", "`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>` "
                             "with LAPOR_SMS_WEBHOOK_SECRET."), required=True)],
            description=("503 until LAPOR_SMS_WEBHOOK_SECRET is set. Unsigned, wrongly signed, or signed more than "
                         "300 s from LAPOR's clock: 401, and nothing is filed or counted against the number."),
            body=_json_body(SmsMessageSchema, example={
                "from": "081234567890", "message_id": "smsc-20261125-0001",
                "text": "KOTA METRO Jalan Pala Iringmulyo terdapat pohon tumbang yang menghalangi jalan"}))},
        "/api/v1/channels/twitter": {
            "get": _operation(
                "twitter_crc", "channels", "Twitter's challenge-response check (CRC)",
                {200: _answer(schemas.CrcAnswerSchema)}, (400, 429, 503), security=PUBLIC,
                parameters=[_query("crc_token", "The challenge: X's short token.", type="string", minLength=1,
                                   maxLength=CRC_TOKEN_MAX_LENGTH, pattern=CRC_TOKEN_PATTERN)],
                description=("503 until LAPOR_TWITTER_CONSUMER_SECRET is set. The answer is the HMAC deliveries are "
                             f"signed with, so only a token of 1–{CRC_TOKEN_MAX_LENGTH} characters of A–Z, a–z, 0–9, "
                             "_ - = + / that is not JSON is answered (else 400), and each client address only "
                             "LAPOR_RATE_LIMIT_TWITTER_CRC_PER_HOUR times an hour (default 30; then 429).")),
            "post": _operation(
                "receive_tweets", "channels", "An Account Activity delivery: each mention becomes a complaint",
                {200: _answer(schemas.TwitterAnswerSchema)}, (400, 403, 413, 415, 503), security=PUBLIC,
                body=_json_body(schemas.TwitterDeliverySchema, description=(
                    "Each tweet_create_events item as intake's Tweet schema; other events are ignored.")),
                parameters=[_header("X-Twitter-Webhooks-Signature", "sha256=<base64 HMAC-SHA256 of the body>.")],
                description=("Each author gets the access code by direct message. 503 while intake or notifications "
                             "is away, possibly after the report was stored: Twitter delivers again, and a "
                             "redelivered tweet makes neither a second report nor a second direct message.")),
        },
    }


def _reference_paths():
    return {
        "/api/v1/agencies": {"get": _operation(
            "list_agencies", "reference", "Agencies (instansi)",
            {200: _answer(schemas.list_envelope(schemas.AgencySchema, "AgencyListSchema"))}, (400, 503),
            security=PUBLIC, parameters=[
                _query("q", "Part of the name."), _query("parent", "The parent agency's code."),
                _query("tree", "1 or true: nest `children`.", type="string", enum=["0", "1", "true", "false"]),
                *PAGE])},
        "/api/v1/regions": {"get": _operation(
            "list_regions", "reference", "Regions (wilayah, Kemendagri)",
            {200: _answer(schemas.list_envelope(schemas.RegionSchema, "RegionListSchema"))}, (400, 503),
            security=PUBLIC, parameters=[
                _query("q", "Part of the name."), _query("level", "1 provinces, 2 regencies and cities.",
                                                         type="integer", enum=[1, 2]),
                _query("parent", "The parent region's code."), *PAGE])},
        "/api/v1/stats": {"get": _operation(
            "stats", "statistics", "Volumes of non-confidential reports and the median first response",
            {200: _answer(schemas.StatsSchema)}, (503,), security=PUBLIC)},
        "/api/v1/stats/sla": {"get": _operation(
            "sla_stats", "statistics", "SLA compliance per agency and period (whole days, Asia/Jakarta)",
            {200: _answer(schemas.SlaFiguresSchema)}, (400, 503), security=PUBLIC,
            parameters=[{"in": "query", "schema": FiguresQuerySchema}],
            description="Dispositions of non-confidential reports only, like every public figure; the officers' "
                        "oversight (/konsol/pengawasan) counts confidential ones too.")},
    }


def _officer_paths():
    return {
        "/api/v1/auth/token": {"post": _operation(
            "issue_token", "auth", "Sign in: a bearer token for an officer",
            {200: _answer(schemas.TokenSchema)}, (400, 401, 413, 415, 429, 503), security=PUBLIC,
            body=_json_body(LoginSchema, example={"username": "demo.admin", "password": "demo12345"}),
            description="Five wrong passwords for a username (twenty from an address) in 15 minutes lock logins.")},
        "/api/v1/auth/logout": {"post": _operation(
            "logout", "auth", "Sign out: this bearer token is refused from now on",
            {204: {"description": "Signed out."}}, (401, 503), security=OFFICER,
            description="The token is denied until it would have expired; other sessions of the officer go on.")},
        "/api/v1/inbox": {"get": _operation(
            "inbox", "officers", "The officer's work list (the national queue, an agency's open reports)",
            {200: _answer(schemas.list_envelope(schemas.ReportSchema, "InboxSchema"))}, (400, 401, 403, 503),
            security=OFFICER, parameters=[{"in": "query", "schema": InboxQuerySchema}])},
        "/api/v1/calendar": {"get": _operation(
            "working_calendar", "administration", "A year's holidays, cuti bersama and overrides",
            {200: _answer(schemas.CalendarSchema)}, (400, 401, 403, 503), security=OFFICER,
            parameters=[_query("year", "Default: this year in Asia/Jakarta.", type="integer",
                               minimum=FIRST_YEAR, maximum=LAST_YEAR)])},
        "/api/v1/calendar/days": {"post": _operation(
            "add_calendar_day", "administration", "A decree: a holiday or a working day (national admins)",
            {200: _answer(schemas.CalendarChangedSchema)}, (400, 401, 403, 413, 415, 503), security=OFFICER,
            body=_json_body(schemas.CalendarDayChangeSchema, example={
                "day": "2027-03-16", "kind": "holiday", "note": "Cuti bersama (SKB 3 Menteri)"}))},
        "/api/v1/calendar/days/{day}": {"delete": _operation(
            "remove_calendar_day", "administration", "Remove a day's override (national admins)",
            {200: _answer(schemas.CalendarChangedSchema)}, (400, 401, 403, 404, 503), security=OFFICER,
            parameters=[_path("day", "YYYY-MM-DD.", format="date")])},
        "/api/v1/notifications": {"get": _operation(
            "notifications_outbox", "administration", "The notification outbox, newest first (national admins)",
            {200: _answer(schemas.list_envelope(schemas.NotificationSchema, "NotificationListSchema"))},
            (400, 401, 403, 503), security=OFFICER, parameters=[
                _query("tracking_id", "One report's messages."), _query("status", "e.g. sent, failed, dead."),
                _query("channel", "e.g. sms, email, webhook."), *PAGE])},
        "/api/v1/notifications/{message_id}/resend": {"post": _operation(
            "resend_notification", "administration", "Send a failed message again (national admins)",
            {200: _answer(schemas.NotificationSchema)}, (401, 403, 404, 409, 503), security=OFFICER,
            parameters=[_path("message_id", "The message's id.")])},
        "/api/v1/notification-templates": {"get": _operation(
            "notification_templates", "administration", "Every template in both languages (national admins)",
            {200: _answer(schemas.list_envelope(schemas.TemplateSchema, "TemplateListSchema"))},
            (400, 401, 403, 503), security=OFFICER, parameters=PAGE)},
        "/api/v1/notification-templates/{name}/{language}": {
            "put": _operation(
                "update_notification_template", "administration", "Change a template's text (national admins)",
                {200: _answer(schemas.TemplateSchema)}, (400, 401, 403, 404, 413, 415, 503), security=OFFICER,
                parameters=_template_parameters(), body=_json_body(schemas.TemplateTextSchema)),
            "delete": _operation(
                "reset_notification_template", "administration", "Back to the default text (national admins)",
                {200: _answer(schemas.TemplateSchema)}, (401, 403, 404, 503), security=OFFICER,
                parameters=_template_parameters()),
        },
        "/api/v1/audit": {"get": _operation(
            "audit_log", "administration", "The audit log, newest first (national admins, supervisors)",
            {200: _answer(schemas.list_envelope(schemas.AuditEntrySchema, "AuditLogSchema"))},
            (400, 401, 403, 503), security=OFFICER, parameters=[
                _query("username", "One officer's entries."), _query("tracking_id", "One report's entries."),
                *PAGE])},
    }


RULE = {"type": "object", "properties": {"category": {"type": "string"}, "target": {"type": "string"}}}
ROUTING_RULES = {"type": "object", "properties": {
    "version": {"type": "integer", "description": "0: the taxonomy's own targets, before any save."},
    "rules": {"type": "array", "items": RULE},
    "saved_by": {"type": ["object", "null"]}, "saved_at": {"type": ["string", "null"], "format": "date-time"},
    "defaults": {"type": "array", "items": RULE, "description": "The taxonomy's target of every category."}}}


def _routing_admin_paths():
    return {
        "/api/v1/agencies/{code}/units": {"post": _operation(
            "add_unit", "administration", "Add a unit (dinas, kantor) under an agency",
            {201: _answer(schemas.AgencySchema, "The new unit")}, (400, 401, 403, 404, 413, 415, 503),
            security=OFFICER, parameters=[_path("code", "The parent agency's code.")],
            body=_json_body(UnitSchema, example={"name": "Dinas Pendidikan Kota Metro", "categories": ["education"],
                                                 "email": "disdik@metrokota.go.id"}),
            description="National admins anywhere; an agency admin under an agency of its scope. Without `code` "
                        "it is PARENT-NAME-SLUG. The unit joins an agency admin's scope at their next sign-in.")},
        "/api/v1/routing-rules": {
            "get": _operation(
                "routing_rules", "administration", "The current routing rules (category → target)",
                {200: _answer(ROUTING_RULES)}, (401, 403, 503), security=OFFICER),
            "put": _operation(
                "save_routing_rules", "administration", "Save a new version of the routing rules (national admins)",
                {200: _answer(ROUTING_RULES)}, (400, 401, 403, 409, 413, 415, 503), security=OFFICER,
                body=_json_body(RoutingRulesSchema, example={"rules": [
                    {"category": "roads", "target": "local_province"},
                    {"category": "water", "target": "KEMENPU-SDA"}]}),
                description="The whole set: a category without a rule follows the taxonomy. Targets: local_regency, "
                            "local_province or an agency code. Each save is a new version; triage follows it."),
        },
    }


def _dead_event_paths():
    event_type = DeadEventQuerySchema().fields["event_type"]
    return {
        "/api/v1/admin/dead-events": {"get": _operation(
            "list_dead_events", "administration", "Parked events (dead_events) of the services (national admins)",
            {200: _answer(schemas.list_envelope(schemas.DeadEventSchema, "DeadEventListSchema"))},
            (400, 401, 403, 503), security=OFFICER, parameters=[
                _query("service", "One service; without it, every service in turn (by name), each newest first.",
                       type="string", enum=list(DEAD_LETTER_SERVICES)),
                _query("event_type", "One event type.", type="string", enum=list(event_type.validate.choices)),
                _query("handler", "One handler, e.g. on_report_updated."),
                _query("status", "parked (the default), replayed or all.", type="string",
                       enum=list(DEAD_EVENT_STATES)),
                *PAGE],
            description="Events a handler failed on every retry, with the error. Payloads carry reporter_ref at "
                        "most: contact data, access codes and secrets are never shown.")},
        "/api/v1/admin/dead-events/{service}/replay": {"post": _operation(
            "replay_dead_events", "administration", "Deliver parked events again after a fix (national admins)",
            {200: _answer(schemas.ReplayAnswerSchema)}, (400, 401, 403, 404, 413, 415, 503), security=OFFICER,
            parameters=[_path("service", "The service that parked them.", enum=list(DEAD_LETTER_SERVICES))],
            body=_json_body(ReplaySchema, example={"event_type": "report_updated", "handler": "on_report_updated"}),
            description="`{id}` for one record, or `{event_type, handler?}` for every parked record of that type "
                        "(`limit` per call). The owning service's handler runs again on the stored payload, once "
                        "per event: an event processed meanwhile is not run again, a success marks the record "
                        "replayed, a failure leaves it parked with the new error. Repeating it is harmless. "
                        "Audited.")},
    }


def _template_parameters():
    return [_path("name", "The template's name, e.g. report_received."),
            _path("language", "id or en.", enum=["id", "en"])]


def _open311_paths():
    request_id = _path("service_request_id", "A LAPOR tracking ID.")
    return {
        "/open311/v2/discovery.json": {"get": _operation(
            "open311_discovery", "open311", "Discovery", {200: _answer(schemas.Open311DiscoverySchema)}, (),
            security=PUBLIC, open311=True)},
        "/open311/v2/services.json": {"get": _operation(
            "open311_services", "open311", "Service list: LAPOR's categories",
            {200: _array_answer(schemas.Open311ServiceSchema)}, (503,), security=PUBLIC, open311=True)},
        "/open311/v2/services/{service_code}.json": {"get": _operation(
            "open311_service_definition", "open311", "A service definition (its attributes)",
            {200: _answer(schemas.Open311ServiceDefinitionSchema)}, (404, 503), security=PUBLIC, open311=True,
            parameters=[_path("service_code", "A LAPOR category code, e.g. jalan-rusak.")])},
        "/open311/v2/requests.json": {
            "get": _operation(
                "open311_list_requests", "open311", "Service requests: public reports, newest first",
                {200: _array_answer(schemas.Open311RequestSchema)}, (400, 503), security=PUBLIC, open311=True,
                parameters=[
                    _query("service_request_id", "Comma-separated IDs; overrides every other parameter."),
                    _query("service_code", "Comma-separated category codes."),
                    _query("start_date", "W3C date-time; at most 90 days before end_date."),
                    _query("end_date", "W3C date-time or date."),
                    _query("status", "open, closed or both (comma-separated)."),
                    _query("page_size", "At most 1000.", type="integer", minimum=1, maximum=1000)]),
            "post": _operation(
                "open311_create_request", "open311", "File a service request (another government system)",
                {200: _array_answer(schemas.Open311CreatedSchema)}, (400, 403, 413, 415, 429, 503),
                security=[{"apiKey": []}, {}], open311=True,
                body={"required": True, "content": {FORM: {"schema": schemas.Open311CreateFormSchema}}},
                description="Needs `api_key` (or X-API-Key) and one location: lat+long, address_string or "
                            "address_id. `attribute[code]` fields follow the service definition."),
        },
        "/open311/v2/requests/{service_request_id}.json": {"get": _operation(
            "open311_get_request", "open311", "One service request (a one-element array)",
            {200: _array_answer(schemas.Open311RequestSchema)}, (404, 503), security=PUBLIC, open311=True,
            parameters=[request_id])},
        "/open311/v2/tokens/{token}.json": {"get": _operation(
            "open311_token", "open311", "A token resolves to the request ID (POST answers with it at once)",
            {200: _array_answer(schemas.Open311CreatedSchema)}, (404, 503), security=PUBLIC, open311=True,
            parameters=[_path("token", "The token (the tracking ID).")])},
    }


def _array_answer(item_schema):
    return {"description": "OK", "content": {JSON: {"schema": {"type": "array", "items": item_schema}}}}


def _meta_paths():
    return {"/api/v1/openapi.json": {"get": {
        "operationId": "openapi_document", "tags": ["meta"], "summary": "This OpenAPI document",
        "security": PUBLIC, "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {
            "schema": {"type": "object"}}}}}}}}


def _components(spec):
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    spec.components.schema("Open311Error", schema=schemas.Open311ErrorSchema)
    spec.components.parameter("AcceptLanguage", "header", {
        "name": "Accept-Language", "required": False, "schema": {"type": "string", "examples": ["id", "en"]},
        "description": "`en` for English messages; Bahasa Indonesia otherwise."})
    open311_errors = {"type": "array", "items": {"$ref": "#/components/schemas/Open311Error"}}
    for status, (name, description) in ERRORS.items():
        headers = RETRY_AFTER if status == 429 else None
        spec.components.response(name, _answer({"$ref": "#/components/schemas/Error"}, description, headers))
        spec.components.response(f"Open311{name}", _answer(open311_errors, description, headers))


def build():
    """The document as a dict, built from the schemas (each call builds it anew)."""
    spec = APISpec(title=TITLE, version=API_VERSION, openapi_version=OPENAPI_VERSION,
                   plugins=[MarshmallowPlugin()], tags=TAGS,
                   info={"description": "LAPOR! — SP4N-LAPOR public API (DESIGN §4). JSON in and out, UTF-8; "
                                        "errors as {\"error\": {\"code\", \"message\", \"fields\"}}."})
    _components(spec)
    for paths in (_citizen_paths(), _attachment_paths(), _action_paths(), _channel_paths(), _reference_paths(),
                  _officer_paths(), _routing_admin_paths(), _dead_event_paths(), _open311_paths(), _meta_paths()):
        for path, operations in paths.items():
            spec.path(path=path, operations=operations)
    return spec.to_dict()


@functools.cache
def document_json():
    """The document as JSON text, built once per process."""
    return json.dumps(build(), ensure_ascii=False)


def document():
    """A fresh copy of the document (callers may change it)."""
    return json.loads(document_json())


def answer():
    """The HTTP answer of GET /api/v1/openapi.json."""
    return Response(document_json(), mimetype=JSON)
