"""Attachments' pure rules: the file types allowed (known by their first bytes), the size limits, safe names."""
import base64
import binascii
import hashlib
import math
import re
import unicodedata
from collections import namedtuple

from services.common.errors import TooLarge, UnsupportedMediaType, ValidationFailed

MiB = 1024 * 1024
SNIFF_BYTES = 64  # enough for every signature below, an ftyp box's brands included
# A file crosses the bus in parts this big: each RPC message stays far under RabbitMQ 4's 16 MiB default cap.
TRANSFER_PART_BYTES = 4 * MiB
UPLOAD_ID = re.compile(r"^upl_[0-9a-f]{32}$")
MAX_FILENAME_CHARS = 100

FileType = namedtuple("FileType", "content_type kind label extensions")
FILE_TYPES = {file_type.content_type: file_type for file_type in (
    FileType("image/jpeg", "image", "JPEG", (".jpg", ".jpeg")),
    FileType("image/png", "image", "PNG", (".png",)),
    FileType("image/webp", "image", "WebP", (".webp",)),
    FileType("image/heic", "image", "HEIC", (".heic",)),
    FileType("image/heif", "image", "HEIF", (".heif",)),
    FileType("application/pdf", "document", "PDF", (".pdf",)),
    FileType("video/mp4", "video", "MP4", (".mp4", ".m4v")),
    FileType("video/quicktime", "video", "MOV", (".mov", ".qt")),
    FileType("video/3gpp", "video", "3GP", (".3gp",)),
    FileType("video/3gpp2", "video", "3G2", (".3g2",)),
)}
ALLOWED_LABELS = ", ".join(dict.fromkeys(file_type.label for file_type in FILE_TYPES.values()))

# ISO base media (ftyp) brands: phones write HEIC photos and MP4 / MOV / 3GP videos in this one container.
_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "image/heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "image/heif"),
    **dict.fromkeys((b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
                     b"M4VH", b"M4VP", b"mmp4", b"MSNV", b"dash", b"f4v "), "video/mp4"),
    b"qt  ": "video/quicktime",
}
# Same container, other content (audio, AVIF, e-books): a compatible brand must not let them in.
_REFUSED_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"avif", b"avis", b"crx ", b"jp2 ", b"F4A ", b"F4B "})

Limits = namedtuple("Limits", "max_bytes max_video_bytes max_total_bytes max_count")
DEFAULT_LIMITS = Limits(max_bytes=10 * MiB, max_video_bytes=25 * MiB, max_total_bytes=25 * MiB, max_count=5)
CONFIG_KEYS = Limits(max_bytes="ATTACHMENT_MAX_BYTES", max_video_bytes="ATTACHMENT_MAX_VIDEO_BYTES",
                     max_total_bytes="ATTACHMENTS_MAX_TOTAL_BYTES", max_count="ATTACHMENTS_MAX_COUNT")

# One file of a request as the checks see it: its name as sent, its first bytes and its size.
Candidate = namedtuple("Candidate", "filename head size")


def limits_from_config(config):
    """The limits from a service's config; a missing value takes its default, anything else must be ≥ 1."""
    values = {}
    for field, key in CONFIG_KEYS._asdict().items():
        value = config.get(key)
        text = str(value).strip() if value not in (None, "") else str(getattr(DEFAULT_LIMITS, field))
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise ValueError(f"{key} must be a whole number ≥ 1, not {value!r}")
        values[field] = int(text)
    return Limits(**values)


def sniff(head):
    """The allowed content type `head` (a file's first bytes) starts like, or None: the name plays no part."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _ftyp_type(head)
    return None


def _ftyp_type(head):
    box_size = int.from_bytes(head[:4], "big")
    if box_size < 16:
        return None
    major = head[8:12]
    if major in _BRANDS or major in _REFUSED_BRANDS:
        return _BRANDS.get(major)
    if major[:3] in (b"3gp", b"3gr", b"3gs", b"3ge", b"3gg"):
        return "video/3gpp"
    if major[:3] == b"3g2":
        return "video/3gpp2"
    compatible = [head[at:at + 4] for at in range(16, min(box_size, len(head)) - 3, 4)]
    if any(brand in _REFUSED_BRANDS for brand in compatible):
        return None
    return next((_BRANDS[brand] for brand in compatible if brand in _BRANDS), None)


def max_bytes_for(file_type, limits):
    return limits.max_video_bytes if file_type.kind == "video" else limits.max_bytes


def check_files(candidates, limits, stored_count=0, stored_bytes=0):
    """The FileType of each candidate, or the refusal of the whole request: nothing is stored unless all pass.

    415 names every file of a type not allowed; 413 every file over its limit, or the report's count or
    total (with `stored_*`, what the report already has) once these files are added."""
    if not candidates:
        raise ValidationFailed("Tidak ada berkas lampiran.", fields={"file": [_text(
            "Kirim minimal satu berkas pada kolom 'file'.", "Send at least one file in the 'file' field.")]})
    check_count(len(candidates), limits, stored_count)
    file_types, empty, unsupported, too_large = [], {}, {}, {}
    for index, candidate in enumerate(candidates):
        field, name = f"file[{index}]", display_name(candidate.filename)
        file_type = FILE_TYPES.get(sniff(candidate.head))
        file_types.append(file_type)
        if candidate.size == 0:
            empty[field] = [_text(f"{name}: berkas kosong.", f"{name}: the file is empty.")]
        elif file_type is None:
            unsupported[field] = [_text(f"{name}: jenis berkas tidak diizinkan (dikenali dari isinya). "
                                        f"Yang diizinkan: {ALLOWED_LABELS}.",
                                        f"{name}: this file type is not allowed (judged by its content). "
                                        f"Allowed: {ALLOWED_LABELS}.")]
        elif candidate.size > max_bytes_for(file_type, limits):
            limit = _mib(max_bytes_for(file_type, limits))
            too_large[field] = [_text(f"{name}: {_mib(candidate.size)}, melebihi batas {limit} per berkas "
                                      f"{file_type.label}.", f"{name}: {_mib(candidate.size)}, over the "
                                      f"{limit} limit per {file_type.label} file.")]
    _raise_refusals(empty, unsupported, too_large)
    check_total(sum(candidate.size for candidate in candidates), limits, stored_bytes)
    return file_types


def check_count(count, limits, stored_count=0):
    if stored_count + count > limits.max_count:
        raise TooLarge(f"Terlalu banyak lampiran: paling banyak {limits.max_count} per laporan.", fields={"file": [
            _text(f"Laporan ini sudah punya {stored_count} lampiran; paling banyak {limits.max_count}.",
                  f"This report already has {stored_count} attachments; {limits.max_count} at most.")]})


def check_total(request_bytes, limits, stored_bytes=0):
    if stored_bytes + request_bytes > limits.max_total_bytes:
        total = _mib(limits.max_total_bytes)
        raise TooLarge(f"Lampiran terlalu besar: paling banyak {total} per laporan.", fields={"file": [
            _text(f"Lampiran ini {_mib(request_bytes)}, lampiran yang sudah ada {_mib(stored_bytes)}; "
                  f"batasnya {total} per laporan.", f"These files are {_mib(request_bytes)} and the report "
                  f"already has {_mib(stored_bytes)}; the limit is {total} per report.")]})


def _raise_refusals(empty, unsupported, too_large):
    if empty:
        raise ValidationFailed("Berkas lampiran kosong.", fields=empty)
    if unsupported:
        raise UnsupportedMediaType("Jenis berkas lampiran tidak diizinkan.", fields=unsupported)
    if too_large:
        raise TooLarge("Berkas lampiran terlalu besar.", fields=too_large)


def safe_filename(name, file_type):
    """The name to keep and serve: no path, no control or bidi characters, an extension that fits the content."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"\s+", " ", re.sub(r'[<>:"|?*;%]', "_", base)).strip(" .")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    extension = f".{extension.lower()}"
    if extension not in file_type.extensions:
        # "photo.html" holding a PNG is saved as photo.png: the name must not make it open as something else.
        extension = file_type.extensions[0]
    stem = stem.strip(" .")[:MAX_FILENAME_CHARS - len(extension)] or "lampiran"
    return f"{stem}{extension}"


def generic_filename(attachment_id, content_type):
    """The name shown to those who may not see the reporter (a file name can carry the reporter's own): the
    same in a list, an upload's answer and a download."""
    return f"lampiran-{attachment_id.removeprefix('att_')[:8]}{FILE_TYPES[content_type].extensions[0]}"


def display_name(name):
    """The sent name, cut short and stripped of control characters, for error messages."""
    text = "".join(ch for ch in str(name or "") if unicodedata.category(ch)[0] != "C").strip()
    return (text[:60] + "…" if len(text) > 60 else text) or "(tanpa nama)"


def attachment_id(tracking_id, sha256):
    """One id per report and content: a retried upload of the same file finds the one already stored."""
    return "att_" + hashlib.sha256(f"{tracking_id}:{sha256}".encode()).hexdigest()[:24]


def part_count(size):
    return max(1, math.ceil(size / TRANSFER_PART_BYTES))


def max_parts(limits):
    return part_count(max(limits.max_bytes, limits.max_video_bytes))


def decode_part(upload_id, index, content_b64, limits):
    """The bytes of one staged part; ValidationFailed for a malformed id, index or body."""
    problems = {}
    if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
        problems["upload_id"] = [_text("Harus berbentuk upl_ diikuti 32 digit heksadesimal.",
                                       "Must be upl_ followed by 32 hexadecimal digits.")]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < max_parts(limits):
        problems["index"] = [_text(f"Harus bilangan bulat 0–{max_parts(limits) - 1}.",
                                   f"Must be a whole number 0–{max_parts(limits) - 1}.")]
    data = _b64decode(content_b64)
    if data is None or not 0 < len(data) <= TRANSFER_PART_BYTES:
        problems["content_b64"] = [_text("Harus base64 berisi 1 byte sampai 4 MiB.",
                                         "Must be base64 of 1 byte to 4 MiB.")]
    if problems:
        raise ValidationFailed("Bagian lampiran tidak valid.", fields=problems)
    return data


def _b64decode(text):
    if not isinstance(text, str) or len(text) > (TRANSFER_PART_BYTES // 3 + 1) * 4:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _mib(size):
    return f"{size / MiB:.1f} MiB"


def _text(indonesian, english):
    return {"id": indonesian, "en": english}
