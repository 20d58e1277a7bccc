"""Field errors in both languages: marshmallow's (and our validators') English, with Bahasa Indonesia.

Services send `{"field.path": [{"id": …, "en": …}]}`; the gateway shows the client's language.
"""
import re

# English messages (marshmallow's and ours) with their Indonesian text. Patterns keep the numbers.
_MESSAGE_TRANSLATIONS = (
    (r"^Missing data for required field\.$", "Wajib diisi."),
    (r"^Field may not be null\.$", "Tidak boleh kosong (null)."),
    (r"^Unknown field\.$", "Kolom ini tidak dikenal."),
    (r"^Not a valid string\.$", "Harus berupa teks."),
    (r"^Not a valid boolean\.$", "Harus bernilai true atau false."),
    (r"^Not a valid number\.$", "Harus berupa angka."),
    (r"^Not a valid email address\.$", "Alamat e-mail tidak valid."),
    (r"^Not a valid datetime\.$", "Tanggal dan waktu tidak valid (gunakan ISO-8601, mis. 2026-11-25T09:30:00+07:00)."),
    (r"^Not a valid aware datetime\.$", "Tanggal dan waktu harus memuat zona waktu (mis. +07:00)."),
    (r"^Invalid input type\.$", "Jenis data tidak sesuai."),
    (r"^Invalid input\.$", "Isian tidak valid."),
    (r"^Must be one of: (.*)\.$", r"Harus salah satu dari: \1."),
    (r"^Length must be between (\d+) and (\d+)\.$", r"Panjang harus antara \1 dan \2 karakter."),
    (r"^Shorter than minimum length (\d+)\.$", r"Terlalu pendek, minimal \1 karakter."),
    (r"^Longer than maximum length (\d+)\.$", r"Terlalu panjang, maksimal \1 karakter."),
    (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$", r"Harus antara \1 dan \2."),
    (r"^Not a valid Indonesian phone number\.$", "Nomor telepon Indonesia tidak valid (mis. 081234567890)."),
    (r"^Unknown region code\.$", "Kode wilayah tidak dikenal (gunakan kode Kemendagri, mis. 18.72)."),
    (r"^Unknown category\.$", "Kategori tidak dikenal (lihat daftar kategori LAPOR, mis. jalan-rusak)."),
    (r"^May not be in the future\.$", "Tidak boleh di masa depan."),
    (r"^May not be blank\.$", "Tidak boleh kosong."),
    (r"^Request body must be a JSON object\.$", "Isi permintaan harus berupa objek JSON."),
    (r"^Not a valid date\.$", "Tanggal tidak valid (gunakan YYYY-MM-DD)."),
    (r"^Not a valid integer\.$", "Harus bilangan bulat."),
)


def translate_message(english):
    for pattern, indonesian in _MESSAGE_TRANSLATIONS:
        if re.match(pattern, english):
            return {"id": re.sub(pattern, indonesian, english), "en": english}
    return {"id": english, "en": english}


def flatten_field_errors(messages, prefix=""):
    """marshmallow's nested error dict → {"location.lat": [{"id": …, "en": …}]}."""
    flat = {}
    if isinstance(messages, list):
        flat[prefix or "_schema"] = [translate_message(str(m)) for m in messages]
        return flat
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_field_errors(value, path))
        else:
            flat[path] = [translate_message(str(m)) for m in value]
    return flat
