"""Attachments at the HTTP edge, a mixin of GatewayService: multipart uploads read within the limits and checked
before intake hears of them, sent on in parts; lists and downloads for those who may see the report."""
import base64
import hashlib
import logging
import uuid
from collections import namedtuple
from urllib.parse import quote

from nameko.extensions import DependencyProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.common.errors import (
    Forbidden, IllegalTransition, InvalidTrackingId, NotFound, TooLarge, Unavailable, UnsupportedMediaType,
    ValidationFailed,
)
from services.common.tracking_ids import is_valid_tracking_id
from services.gateway import limits, policy, proof_of_work
from services.gateway.http import MAX_BODY_BYTES, api, json_response, list_envelope, parse_json
from services.gateway.proxy import http
from services.intake import attachments

log = logging.getLogger(__name__)

FILE_FIELD = "file"
REPORT_FIELD = "report"
# Beyond the files themselves: the `report` part (1 MiB at most, like a JSON body) and the multipart framing.
FORM_ALLOWANCE_BYTES = MAX_BODY_BYTES + 64 * 1024
UPLOADING_ROLES = frozenset({"national_admin", "agency_admin", "agency_officer"})  # supervisors only read
OFFICER_AUDIENCES = {"national_admin": "national_admin", "supervisor": "supervisor",
                     "agency_admin": "agency", "agency_officer": "agency"}
CLOSED_STATUSES = ("completed", "rejected", "archived")
MULTIPART_ONLY = "Kirim lampiran sebagai multipart/form-data, berkas pada kolom 'file'."
MAX_FILENAME_SENT = 1000

# One file of a request: its name as sent, its spooled content, its size and its first bytes.
Upload = namedtuple("Upload", "filename stream size head")


class AttachmentLimits(DependencyProvider):
    """The limits from config (ATTACHMENT_*), the same settings intake enforces; a bad value stops the start."""

    def setup(self):
        self.limits = attachments.limits_from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.limits


def read_upload_form(request, limits, with_report=False):
    """(the `report` part's JSON or None, [Upload]) of a multipart body, checked; nothing more than the report's
    total allowance and FORM_ALLOWANCE_BYTES is ever read."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(MULTIPART_ONLY)
    cap = limits.max_total_bytes + FORM_ALLOWANCE_BYTES
    if request.content_length is not None and request.content_length > cap:
        raise _too_large_body(limits)
    request.max_content_length = cap  # a chunked body has no length to check beforehand
    request.max_form_memory_size = MAX_BODY_BYTES
    request.max_form_parts = limits.max_count + 8
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise _too_large_body(limits)
    _refuse_unknown_fields(set(form) | set(files), with_report)
    report = _report_part(form, files) if with_report else None
    uploads = [upload_of(storage) for storage in files.getlist(FILE_FIELD)]
    uploads = [upload for upload in uploads if upload.filename or upload.size]  # a file input left empty
    if uploads or not with_report:
        attachments.check_files([attachments.Candidate(u.filename, u.head, u.size) for u in uploads], limits)
    return report, uploads


def _too_large_body(limits):
    total = f"{limits.max_total_bytes / attachments.MiB:.1f} MiB"
    return TooLarge(f"Kiriman terlalu besar: lampiran paling banyak {limits.max_count} berkas, {total} per laporan.",
                    fields={FILE_FIELD: [{"id": f"Paling banyak {limits.max_count} berkas, {total} per laporan.",
                                          "en": f"At most {limits.max_count} files, {total} per report."}]})


def _refuse_unknown_fields(names, with_report):
    allowed = {FILE_FIELD, REPORT_FIELD} if with_report else {FILE_FIELD}
    unknown = sorted(names - allowed)
    if unknown:
        raise ValidationFailed("Kolom formulir tidak dikenal.", fields={
            name: [{"id": "Kolom ini tidak dikenal.", "en": "Unknown field."}] for name in unknown})


def _report_part(form, files):
    """The report as JSON, sent as a plain form field or as a part with its own content type."""
    if REPORT_FIELD in files:
        raw = files[REPORT_FIELD].stream.read(MAX_BODY_BYTES + 1)
    elif REPORT_FIELD in form:
        raw = form[REPORT_FIELD].encode("utf-8")
    else:
        raise ValidationFailed("Bagian 'report' (JSON laporan) wajib ada.", fields={REPORT_FIELD: [{
            "id": "Wajib diisi: laporan sebagai JSON.", "en": "Missing data for required field: the report as JSON."}]})
    if len(raw) > MAX_BODY_BYTES:
        raise TooLarge("Bagian 'report' terlalu besar (maksimal 1 MiB).")
    return parse_json(raw)


def upload_of(storage):
    """An uploaded file (werkzeug's FileStorage) as intake's attachment check reads it: name, stream, size, head."""
    stream = storage.stream
    head = stream.read(attachments.SNIFF_BYTES)
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return Upload((storage.filename or "")[:MAX_FILENAME_SENT], stream, size, head)


def may_see_attachments(view, audience):
    """Everyone who sees the report, except the public for an anonymous one: a photo can show who took it."""
    return audience != "public" or not (view["anonymous"] or view["confidential"])


def shows_filename(view, audience):
    """The name as sent only to those who may see the reporter (DESIGN §4): it can carry the reporter's own."""
    return audience in ("reporter", "national_admin") or (audience == "agency" and not view["anonymous"])


def shown_attachment(item, tracking_id, with_filename):
    """One item of a report's `attachments`: the name as sent only `with_filename` (see shows_filename)."""
    filename = item["filename"] if with_filename else attachments.generic_filename(item["id"], item["content_type"])
    return {"id": item["id"], "filename": filename, "content_type": item["content_type"], "size": item["size"],
            "sha256": item["sha256"], "uploaded_at": item["uploaded_at"], "by": item["by"],
            "url": f"/api/v1/reports/{tracking_id}/attachments/{item['id']}"}


def streamed_parts(intake, tracking_id, attachment_id, parts):
    """The file's bytes one 4 MiB part at a time, for a streamed response: a 24 MiB download held 40 MiB of the
    gateway at once (issue 13 item 12). The first part is asked for now, so a missing file or an intake that does
    not answer is still an error response; a later one that fails cuts the body short of its Content-Length,
    which every client reports as a failed download."""
    def part(index):
        return base64.b64decode(intake.attachment_part(tracking_id, attachment_id, index)["content_b64"])

    first = part(0)

    def body():
        yield first
        for index in range(1, parts):
            yield part(index)

    return body()


def content_disposition(filename):
    """RFC 6266: an ASCII fallback for old clients, and the UTF-8 name (RFC 5987) for the rest."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _checked_tracking_id(tracking_id):
    if not is_valid_tracking_id(tracking_id):
        raise InvalidTrackingId("Nomor pelacakan tidak valid (periksa kembali angkanya).")
    return tracking_id


class AttachmentRoutes:
    """Needs the gateway's intake, tracking, auth and rate_limits, and its `_officer_view` and `_government_system`."""

    attachment_limits = AttachmentLimits()

    @http("POST", "/api/v1/reports/<tracking_id>/attachments")
    @api
    def upload_attachments(self, request, tracking_id):
        """The reporter (X-Access-Code), the submitting system (X-API-Key) or an officer holding the report
        attaches files: 201 with the stored ones; 413 / 415 refuse the whole request."""
        tracking_id = _checked_tracking_id(tracking_id)
        principal = self._government_system(request) or self.auth.principal(request)
        if principal is not None and principal["role"] in policy.OFFICER_ROLES:
            return self._audited_upload(request, tracking_id, principal)
        uploader, view = self._outside_uploader(request, tracking_id, principal)
        return self._attach_from(request, uploader, view, "reporter")

    @http("GET", "/api/v1/reports/<tracking_id>/attachments")
    @api
    def list_attachments(self, request, tracking_id):
        view, audience = self._seen_report(request, _checked_tracking_id(tracking_id))
        listed = self._with_attachments(view, audience, required=True)["attachments"]
        return json_response(list_envelope(listed, request, default_per_page=100))

    @http("GET", "/api/v1/reports/<tracking_id>/attachments/<attachment_id>")
    @api
    def download_attachment(self, request, tracking_id, attachment_id):
        """The file's bytes as stored, served as a download under the type judged from its content."""
        self.rate_limits.check(limits.READ, request.remote_addr)
        view, audience = self._seen_report(request, _checked_tracking_id(tracking_id))
        return self._attachment_download(view, audience, attachment_id)

    def _attachment_download(self, view, audience, attachment_id):
        """One attachment of a report the caller sees (the API's and the web pages' alike): a download under the
        type judged from its content, sandboxed, never rendered in LAPOR's origin."""
        listed = self._with_attachments(view, audience, required=True)["attachments"]
        item = next((item for item in listed if item["id"] == attachment_id), None)
        if item is None:
            raise NotFound("Lampiran tidak ditemukan.")
        body = streamed_parts(self.intake, view["tracking_id"], attachment_id, attachments.part_count(item["size"]))
        return Response(body, status=200, mimetype=item["content_type"], direct_passthrough=True, headers={
            "Content-Length": str(item["size"]),
            "Content-Disposition": content_disposition(item["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        })

    def _submit_with_attachments(self, request, channel, client, idempotency_key):
        """POST /api/v1/reports as multipart/form-data: the `report` part (the JSON body) and `file` parts.
        Every file is checked before anything is sent; intake stores the files with the report or neither."""
        report, uploads = read_upload_form(request, self.attachment_limits, with_report=True)
        staged = self._stage(uploads) if uploads else None
        receipt = self.intake.submit(report, channel=channel, idempotency_key=idempotency_key, client=client,
                                     attachments=staged)
        tracking_id = receipt["tracking_id"]
        if "attachments" in receipt:
            receipt["attachments"] = [shown_attachment(item, tracking_id, True) for item in receipt["attachments"]]
        return json_response(receipt, status=201, headers={"Location": f"/api/v1/reports/{tracking_id}"})

    def _seen_report(self, request, tracking_id):
        """(the report as the caller may see it, their audience), by the same headers as GET /reports/{id}:
        X-Access-Code, a Bearer token or X-API-Key. Tracking refuses whoever may not see it."""
        principal = self._government_system(request) or self.auth.principal(request)
        if principal is not None and principal["role"] in policy.OFFICER_ROLES:
            return self._officer_view(tracking_id, principal), OFFICER_AUDIENCES[principal["role"]]
        if principal is not None and principal["role"] == "api_client":
            view = self.tracking.report(tracking_id, viewer=principal)
            # Tracking gives a system its own submission as the reporter sees it: with the contact.
            return view, "reporter" if "reporter" in view else "public"
        access_code = request.headers.get("X-Access-Code") or None
        view = self.tracking.report(tracking_id, access_code=access_code, client=request.remote_addr)
        return view, "reporter" if access_code else "public"

    def _with_attachments(self, view, audience, required=False):
        """The view with `attachments`; without the key while intake cannot answer, unless `required`."""
        if not may_see_attachments(view, audience):
            return dict(view, attachments=[])
        try:
            items = self.intake.attachments(view["tracking_id"])
        except Unavailable as exc:
            if required:
                raise
            log.warning("attachments of %s not shown: %s", view["tracking_id"], exc)  # the report is worth showing
            return view
        with_filename = shows_filename(view, audience)
        return dict(view, attachments=[shown_attachment(item, view["tracking_id"], with_filename) for item in items])

    def _outside_uploader(self, request, tracking_id, principal):
        """(uploader, the report as they see it): the submitting system (intake checks that it is), or the
        reporter with the access code (tracking checks it)."""
        if principal is not None:  # an API client
            view = self._open_report(self.tracking.report(tracking_id, viewer=principal))
            return {"role": "api_client", "username": principal["username"]}, view
        self.rate_limits.check(limits.IP, request.remote_addr, proof=request.headers.get(proof_of_work.HEADER))
        access_code = request.headers.get("X-Access-Code") or None
        if access_code is None:
            self.tracking.report(tracking_id)  # 404 for a confidential report, as for any reporter action
            raise Forbidden("Kode akses diperlukan.")
        view = self.tracking.report(tracking_id, access_code=access_code, client=request.remote_addr)
        return {"role": "reporter"}, self._open_report(view)

    def _audited_upload(self, request, tracking_id, principal):
        """An officer's upload (the holder's follow-up evidence), recorded in the audit log whatever the outcome."""
        outcome = "refused"
        try:
            if principal["role"] not in UPLOADING_ROLES:
                raise Forbidden("Peran Anda tidak berhak menambah lampiran.")
            view = self._open_report(self._officer_view(tracking_id, principal))
            response = self._attach_from(request, {"role": "officer", "username": principal["username"]}, view,
                                         OFFICER_AUDIENCES[principal["role"]])
            outcome = "ok"
            return response
        except Exception as exc:
            outcome = getattr(exc, "code", "internal_error")
            raise
        finally:
            self.auth.record(principal, "attach", tracking_id, outcome, request.remote_addr)

    def _attach_from(self, request, uploader, view, audience):
        """Read, check and stage the files, then have intake attach them: 201 {"items": [the stored ones]}."""
        _, uploads = read_upload_form(request, self.attachment_limits)
        stored = self.intake.add_attachments(view["tracking_id"], self._stage(uploads), uploader)
        with_filename = shows_filename(view, audience)
        return json_response({"items": [shown_attachment(item, view["tracking_id"], with_filename)
                                        for item in stored]}, status=201)

    def _open_report(self, view):
        """The view, if the report still takes attachments: not once it is completed, rejected or archived."""
        if view["status"] in CLOSED_STATUSES:
            raise IllegalTransition("Laporan yang sudah selesai, ditolak atau diarsipkan tidak dapat diberi lampiran "
                                    "baru (buka kembali dahulu).")
        return view

    def _stage(self, uploads):
        """Send each file to intake in parts of 4 MiB at most; [the references intake attaches them by]."""
        staged = []
        for upload in uploads:
            upload_id, digest = f"upl_{uuid.uuid4().hex}", hashlib.sha256()
            upload.stream.seek(0)
            parts = attachments.part_count(upload.size)
            for index in range(parts):
                part = upload.stream.read(attachments.TRANSFER_PART_BYTES)
                digest.update(part)
                self.intake.stage_attachment_part(upload_id, index, base64.b64encode(part).decode("ascii"))
            staged.append({"upload_id": upload_id, "filename": upload.filename, "size": upload.size,
                           "sha256": digest.hexdigest(), "parts": parts})
        return staged
