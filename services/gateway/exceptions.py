"""The gateway's own errors, and the one table that turns any error into an HTTP answer (DESIGN §4)."""
from services.common.errors import (
    Forbidden, IdempotencyConflict, IllegalTransition, InvalidTrackingId, LaporError, NotFound, RateLimited,
    TooLarge, Unavailable, UnsupportedMediaType, ValidationFailed,
)


class Unauthorized(LaporError):
    code = "unauthorized"


def with_english(exc, english):
    """`exc` (raised in the gateway itself, never over RPC) with its own English message, answered in place of
    the code's English headline to a client that asks for English."""
    exc.english = english
    return exc


HTTP_STATUS = {
    ValidationFailed: 400,
    InvalidTrackingId: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    IllegalTransition: 409,
    IdempotencyConflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    Unavailable: 503,
}

# The headline message per code; services' own Indonesian messages take its place where they give one.
MESSAGES = {
    "validation_error": {"id": "Isian tidak valid; lihat rincian per kolom.", "en": "Some fields are invalid; see the details per field."},
    "invalid_tracking_id": {"id": "Nomor pelacakan tidak valid (periksa kembali angkanya).", "en": "The tracking ID is not valid (check the digits)."},
    "unauthorized": {"id": "Anda perlu masuk terlebih dahulu.", "en": "Not signed in: the username, password or session is not valid."},
    "forbidden": {"id": "Anda tidak berhak melakukan ini.", "en": "You are not allowed to do this."},
    "not_found": {"id": "Tidak ditemukan.", "en": "Not found."},
    "illegal_transition": {"id": "Perubahan status ini tidak diizinkan.", "en": "This status change is not allowed."},
    "idempotency_conflict": {"id": "Idempotency-Key ini sudah dipakai untuk permintaan lain.", "en": "This Idempotency-Key was already used for a different request."},
    "too_large": {"id": "Isi permintaan terlalu besar (maksimal 1 MiB).", "en": "The request body is too large (1 MiB at most)."},
    "unsupported_media_type": {"id": "Gunakan Content-Type: application/json.", "en": "Use Content-Type: application/json."},
    "rate_limited": {"id": "Terlalu banyak permintaan; coba lagi nanti.", "en": "Too many requests; try again later."},
    "unavailable": {"id": "Layanan sedang tidak tersedia; tidak ada yang tersimpan. Coba lagi sebentar lagi.", "en": "The service is unavailable; nothing was saved. Please try again shortly."},
    "internal_error": {"id": "Terjadi kesalahan pada server.", "en": "Something went wrong on the server."},
}

# The headline when a 413 / 415 names the files it refuses (attachments) instead of the JSON body.
FILE_HEADLINES = {
    "too_large": {"id": "Lampiran melebihi batas; lihat rincian per berkas.", "en": "Over an attachment limit; see the details per file."},
    "unsupported_media_type": {"id": "Jenis berkas lampiran tidak diizinkan; lihat rincian per berkas.", "en": "An attachment's file type is not allowed; see the details per file."},
}
