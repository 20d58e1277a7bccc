"""Intake's attachment entrypoints, a mixin of IntakeService: files arrive in parts, are checked whole, cleaned of
their metadata (cleaning.py), kept in GridFS with ours, and are read back in parts (DESIGN §2: attachments live in
intake's database). The name as sent is kept encrypted with the PII key: it can name the reporter."""
import base64
import hashlib
import logging
from collections import namedtuple
from datetime import timedelta

from marshmallow import ValidationError
from services.common.entrypoints import rpc
from nameko.timer import timer
from pymongo.errors import PyMongoError

from services.common.errors import Forbidden, LaporError, NotFound, Unavailable, ValidationFailed
from services.common.events import now, submitted_by_api_key
from services.common.field_errors import flatten_field_errors
from services.common.mongo import unavailable_on_store_error
from services.intake import attachments as rules  # the pure rules; `attachments` is an RPC here
from services.intake import cleaning
from services.intake.schemas import UploaderSchema, UploadSchema

log = logging.getLogger(__name__)

STAGED_PART_TTL = timedelta(hours=1)
SWEEP_INTERVAL_SECONDS = 600
NOT_FOUND = "Laporan tidak ditemukan."
ATTACHMENT_NOT_FOUND = "Lampiran tidak ditemukan."

# A file of a request, whole, checked and cleaned, not yet stored: `content` and `sha256` are the cleaned bytes'.
CheckedFile = namedtuple("CheckedFile", "upload_id filename content sha256 file_type")


def _load(schema, data, message):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(message, fields=flatten_field_errors(exc.messages))


def attachment_view(meta, cipher):
    """What callers see of an attachment: never where or how it is stored. The name as sent is decrypted here;
    the gateway decides who sees it (an attachment stored before names were encrypted has it in clear)."""
    encrypted = meta.get("filename_encrypted")
    filename = cipher.decrypt(encrypted.encode()).decode() if encrypted else meta.get("filename")
    return {"id": meta["_id"], "filename": filename, "content_type": meta["content_type"],
            "size": meta["size"], "sha256": meta["sha256"], "uploaded_at": meta["uploaded_at"].isoformat(),
            "by": meta["by"]}


def submission_identity(report, uploads):
    """What an Idempotency-Key must match: the report, and the files' contents when it came with files."""
    if not uploads:
        return report
    return {"report": report, "attachments": sorted(upload.get("sha256", "") for upload in uploads)}


class AttachmentRpc:
    """Needs the service's `storage` (IntakeRepository), `config`, `metrics`, `secrets` (the PII key) and
    `attachment_caller` (a Caller of the gateway's: only the gateway, which checked who may see or add a file with
    tracking, calls these; anyone else is refused and audited)."""

    @rpc
    @unavailable_on_store_error
    def stage_attachment_part(self, upload_id, index, content_b64):
        """One part (at most 4 MiB, base64) of a file on its way in; nothing is visible until it is attached."""
        self.attachment_caller.require()
        data = rules.decode_part(upload_id, index, content_b64, self._attachment_limits())
        self.storage.stage_part(upload_id, index, data)

    @rpc
    @unavailable_on_store_error
    def add_attachments(self, tracking_id, uploads, uploader):
        """Attach staged files to a report, all or none: [attachment views] in the order sent.

        The caller has checked that `uploader` may (the reporter's access code is tracking's to check); a
        government system may attach only to what it submitted. Types are judged by content; 413 / 415 /
        400 refuse the whole request and store nothing. The same content sent again is stored once."""
        self.attachment_caller.require()
        uploader = _load(UploaderSchema(), uploader, "Data pengunggah tidak valid.")
        submission = self.storage.get_submission(tracking_id)
        if submission is None:
            raise NotFound(NOT_FOUND)
        if uploader["role"] == "api_client" and not submitted_by_api_key(submission["event"], uploader.get("username")):
            raise Forbidden("Sistem ini hanya dapat melampirkan berkas pada laporan yang dikirimnya sendiri.")
        files = self._checked_files(uploads)
        return self._attach(tracking_id, files, uploader)

    @rpc
    @unavailable_on_store_error
    def attachments(self, tracking_id):
        """The report's attachments, oldest first; visibility is the caller's to decide (it asked tracking)."""
        self.attachment_caller.require()
        return [attachment_view(meta, self.secrets.cipher) for meta in self.storage.attachments_of(tracking_id)]

    @rpc
    @unavailable_on_store_error
    def attachment_part(self, tracking_id, attachment_id, index):
        """{"content_b64"}: part `index` (4 MiB each) of an attachment of this report."""
        self.attachment_caller.require()
        meta = self.storage.find_attachment(attachment_id) if isinstance(attachment_id, str) else None
        if meta is None or meta["tracking_id"] != tracking_id:
            raise NotFound(ATTACHMENT_NOT_FOUND)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < rules.part_count(
                meta["size"]):
            raise NotFound(ATTACHMENT_NOT_FOUND)
        offset = index * rules.TRANSFER_PART_BYTES
        content = self.storage.read_attachment(meta, offset, rules.TRANSFER_PART_BYTES)
        return {"content_b64": base64.b64encode(content).decode("ascii")}

    @timer(interval=SWEEP_INTERVAL_SECONDS)
    def sweep_staged_parts(self):
        """Parts of uploads never attached: refused, or the gateway stopped half-way."""
        try:
            swept = self.storage.discard_stale_parts(now() - STAGED_PART_TTL)
        except PyMongoError as exc:
            log.warning("staged attachment parts not swept: %s", exc)
            return
        if swept:
            log.info("swept %s staged attachment parts never attached", swept)

    def _attachment_limits(self):
        return rules.limits_from_config(self.config)

    def _checked_files(self, uploads):
        """The request's files, whole, checked against the per-request limits and cleaned of their metadata; their
        parts are dropped when the request is refused. Nothing is stored here, and no original is ever stored."""
        limits = self._attachment_limits()
        if not isinstance(uploads, list):
            raise ValidationFailed("Daftar lampiran tidak valid.", fields={"attachments": [
                {"id": "Harus berupa daftar.", "en": "Must be a list."}]})
        try:
            rules.check_count(len(uploads), limits)
            uploads = _load(UploadSchema(many=True), uploads, "Data lampiran tidak valid.")
            contents = [self._assembled(upload) for upload in uploads]
            candidates = [rules.Candidate(upload["filename"], content[:rules.SNIFF_BYTES], len(content))
                          for upload, content in zip(uploads, contents)]
            file_types = rules.check_files(candidates, limits)
            named = [(upload["filename"], content) for upload, content in zip(uploads, contents)]
            cleaned = cleaning.clean_files(named, file_types)
        except LaporError:
            self._discard([upload.get("upload_id") for upload in uploads if isinstance(upload, dict)])
            raise
        # Named after what is stored (a HEIC photo is kept as JPEG), identified by it: the same photo sent again,
        # with or without its EXIF, is the same attachment.
        return [CheckedFile(upload["upload_id"], rules.safe_filename(upload["filename"], file.file_type), file.content,
                            hashlib.sha256(file.content).hexdigest(), file.file_type)
                for upload, file in zip(uploads, cleaned)]

    def _assembled(self, upload):
        """A staged file, whole; Unavailable when a part went missing on the way (the client may send again)."""
        parts = self.storage.staged_parts(upload["upload_id"])
        content = b"".join(data for _, data in parts)
        complete = len(parts) == upload["parts"] and all(index == n for n, (index, _) in enumerate(parts))
        if not complete or len(content) != upload["size"] or hashlib.sha256(content).hexdigest() != upload["sha256"]:
            raise Unavailable("Lampiran tidak lengkap diterima; tidak ada yang tersimpan. Kirim ulang.")
        return content

    def _discard(self, upload_ids):
        try:
            self.storage.discard_parts([upload_id for upload_id in upload_ids if isinstance(upload_id, str)])
        except PyMongoError as exc:
            log.warning("staged parts not discarded (the sweep will): %s", exc)

    def _attach(self, tracking_id, files, uploader):
        """Store checked files for a report, all or none; a file the report already has is not stored again.

        The report's count and total are checked here, on what it holds now: two uploads to one report at the
        same moment could together pass them by one request's worth (each request is within them itself)."""
        ids = [rules.attachment_id(tracking_id, file.sha256) for file in files]
        new = {attachment_id: file for attachment_id, file in zip(ids, files)
               if self.storage.find_attachment(attachment_id) is None}
        try:
            if new:
                self._check_room(tracking_id, list(new.values()))
            stored = self._store_all(tracking_id, new, uploader)
        finally:
            self._discard([file.upload_id for file in files])  # stored or refused, the parts are done with
        return [attachment_view(stored.get(attachment_id) or self.storage.find_attachment(attachment_id),
                                self.secrets.cipher) for attachment_id in ids]

    def _check_room(self, tracking_id, files):
        """413 when the new files would take the report over its count or total."""
        limits = self._attachment_limits()
        count, size = self.storage.attachment_totals(tracking_id)
        rules.check_count(len(files), limits, count)
        rules.check_total(sum(len(file.content) for file in files), limits, size)

    def _store_all(self, tracking_id, new, uploader):
        """{attachment_id: metadata} of the files stored; on any failure, what this call stored is removed."""
        stored, created = {}, []
        try:
            for attachment_id, file in new.items():
                meta, is_new = self.storage.store_attachment(self._meta(attachment_id, tracking_id, file, uploader),
                                                             file.content)
                stored[attachment_id] = meta
                if is_new:  # else a concurrent twin (the same file, retried) stored it first
                    created.append(meta)
        except Exception:
            self._undo(tracking_id, created)
            raise
        for meta in created:
            self.metrics.counter("lapor_attachments_stored", "Attachments stored", ("kind",)).labels(
                rules.FILE_TYPES[meta["content_type"]].kind).inc()
        return stored

    def _undo(self, tracking_id, created):
        try:
            for meta in created:
                self.storage.delete_attachment(meta)
        except PyMongoError as exc:
            log.error("attachments of %s not fully undone after a failed store: %s", tracking_id, exc)

    def _meta(self, attachment_id, tracking_id, file, uploader):
        at = now()
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # as stored (BSON keeps milliseconds): one answer
        return {"_id": attachment_id, "tracking_id": tracking_id,
                "filename_encrypted": self.secrets.cipher.encrypt(file.filename.encode()).decode(),
                "content_type": file.file_type.content_type, "size": len(file.content), "sha256": file.sha256,
                "uploaded_at": at, "by": uploader["role"], "by_username": uploader.get("username")}
