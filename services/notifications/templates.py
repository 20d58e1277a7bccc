"""Message templates: the defaults in both languages, the placeholders each may use, checking and rendering."""
import re
import string
from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
MAX_TEMPLATE_LENGTH = 1000
SMS_LENGTH = 160
JAKARTA = ZoneInfo("Asia/Jakarta")

# Every template may use these; the table below adds each template's own.
COMMON = ("tracking_id", "portal_url", "report_url")

# name → (audience, its own placeholders, {language: default text}). Reporter texts fit one SMS with
# realistic values and stay within GSM-7 (no curly quotes, dashes or ellipses).
DEFAULTS = {
    "report_received": ("reporter", (), {
        "id": "LAPOR!: Laporan Anda diterima. Nomor pelacakan {tracking_id}. "
              "Cek status di {report_url} dengan kode akses Anda.",
        "en": "LAPOR!: Your report was received. Tracking ID {tracking_id}. "
              "Check its status at {report_url} with your access code.",
    }),
    "report_verified": ("reporter", (), {
        "id": "LAPOR!: Laporan {tracking_id} telah diverifikasi dan akan diteruskan ke instansi yang berwenang.",
        "en": "LAPOR!: Report {tracking_id} was verified and will be sent to the agency in charge.",
    }),
    "report_disposed": ("reporter", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan {tracking_id} diteruskan ke {agency_name}. Batas waktu tanggapan: {deadline}.",
        "en": "LAPOR!: Report {tracking_id} was sent to {agency_name}. Response due: {deadline}.",
    }),
    "report_rejected": ("reporter", ("reason", "note"), {
        "id": "LAPOR!: Laporan {tracking_id} tidak dapat diproses LAPOR!: {reason}. {note}",
        "en": "LAPOR!: Report {tracking_id} cannot be handled by LAPOR!: {reason}. {note}",
    }),
    "report_followed_up": ("reporter", ("agency_name", "note"), {
        "id": "LAPOR!: Tanggapan {agency_name} atas laporan {tracking_id}: {note} Selengkapnya: {report_url}",
        "en": "LAPOR!: {agency_name} replied on report {tracking_id}: {note} More: {report_url}",
    }),
    "report_info_requested": ("reporter", ("agency_name", "note"), {
        "id": "LAPOR!: {agency_name} meminta keterangan atas laporan {tracking_id}: {note} Balas di {report_url}",
        "en": "LAPOR!: {agency_name} asks about report {tracking_id}: {note} Reply at {report_url}",
    }),
    "report_completed": ("reporter", ("agency_name",), {
        "id": "LAPOR!: Laporan {tracking_id} dinyatakan selesai oleh {agency_name}. "
              "Mohon beri penilaian di {report_url}",
        "en": "LAPOR!: Report {tracking_id} was completed by {agency_name}. Please rate it at {report_url}",
    }),
    "report_reopened": ("reporter", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan {tracking_id} dibuka kembali dan ditangani {agency_name}. "
              "Batas waktu tanggapan: {deadline}.",
        "en": "LAPOR!: Report {tracking_id} was reopened; {agency_name} handles it. Response due: {deadline}.",
    }),
    "report_escalated": ("reporter", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan {tracking_id} dialihkan ke {agency_name} karena batas waktu terlewati. "
              "Batas baru: {deadline}.",
        "en": "LAPOR!: Report {tracking_id} was escalated to {agency_name} after a missed deadline. "
              "New deadline: {deadline}.",
    }),
    "access_code_reissued": ("reporter", ("access_code",), {
        "id": "LAPOR!: Kode akses baru untuk laporan {tracking_id}: {access_code}. Kode lama tetap berlaku sampai "
              "kode baru ini dipakai. Jangan berikan kode ini kepada siapa pun.",
        "en": "LAPOR!: New access code for report {tracking_id}: {access_code}. The old code keeps working until "
              "this one is used. Do not share it with anyone.",
    }),
    "access_code_receipt": ("reporter", ("access_code",), {
        "id": "LAPOR!: Kode akses laporan {tracking_id}: {access_code}. Pakai bersama nomor laporan untuk "
              "mengikuti laporan Anda. Jangan berikan kode ini kepada siapa pun.",
        "en": "LAPOR!: Access code for report {tracking_id}: {access_code}. Use it with the tracking ID to "
              "follow your report. Do not share it with anyone.",
    }),
    "agency_disposed": ("agency", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan baru {tracking_id} didisposisikan ke {agency_name}. "
              "Mohon ditanggapi paling lambat {deadline}. Lihat: {report_url}",
        "en": "LAPOR!: New report {tracking_id} was disposed to {agency_name}. "
              "Please respond by {deadline}. See: {report_url}",
    }),
    "agency_escalated": ("agency", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan {tracking_id} dieskalasi ke {agency_name} karena batas waktu unit di bawahnya "
              "terlewati. Mohon ditanggapi paling lambat {deadline}. Lihat: {report_url}",
        "en": "LAPOR!: Report {tracking_id} was escalated to {agency_name} after a unit below missed its "
              "deadline. Please respond by {deadline}. See: {report_url}",
    }),
    "agency_reopened": ("agency", ("agency_name", "deadline"), {
        "id": "LAPOR!: Laporan {tracking_id} dibuka kembali untuk {agency_name}. "
              "Mohon ditanggapi paling lambat {deadline}. Lihat: {report_url}",
        "en": "LAPOR!: Report {tracking_id} was reopened for {agency_name}. "
              "Please respond by {deadline}. See: {report_url}",
    }),
    "agency_deadline_approaching": ("agency", ("agency_name", "stage", "deadline"), {
        "id": "LAPOR!: Batas waktu {stage} laporan {tracking_id} untuk {agency_name} segera tiba: {deadline}. "
              "Lihat: {report_url}",
        "en": "LAPOR!: The {stage} deadline of report {tracking_id} for {agency_name} is near: {deadline}. "
              "See: {report_url}",
    }),
    "agency_deadline_breached": ("agency", ("agency_name", "stage", "deadline"), {
        "id": "LAPOR!: Batas waktu {stage} laporan {tracking_id} untuk {agency_name} terlewati ({deadline}). "
              "Laporan dapat dieskalasi ke instansi induk. Lihat: {report_url}",
        "en": "LAPOR!: The {stage} deadline of report {tracking_id} for {agency_name} was missed ({deadline}). "
              "The report may be escalated to the parent agency. See: {report_url}",
    }),
    "agency_reporter_reply": ("agency", ("agency_name", "note"), {
        "id": "LAPOR!: Pelapor membalas pada laporan {tracking_id} ({agency_name}): {note} Lihat: {report_url}",
        "en": "LAPOR!: The reporter replied on report {tracking_id} ({agency_name}): {note} See: {report_url}",
    }),
}

# A template that lost these would be useless: an access code message must carry the code.
REQUIRED = {"access_code_reissued": ("access_code",), "access_code_receipt": ("access_code",)}

# Variable parts an SMS may shorten so the message fits one SMS.
SHORTENABLE = ("note", "agency_name")

REASONS = {
    "elections": ("urusan pemilu, silakan hubungi KPU atau Bawaslu",
                  "an election matter; please contact KPU or Bawaslu"),
    "criminal": ("tindak pidana, silakan lapor ke kepolisian", "a criminal matter; please report it to the police"),
    "private_company": ("urusan perusahaan swasta, bukan instansi pemerintah",
                        "a private company matter, not a government agency"),
    "in_court": ("perkara ini sedang diproses di pengadilan", "the matter is already before a court"),
    "social_media": ("urusan konten media sosial", "a social media content matter"),
    "not_government": ("bukan urusan pemerintah", "not a government matter"),
    "too_general": ("laporan terlalu umum; mohon kirim laporan yang lebih rinci",
                    "the report is too general; please send a more detailed one"),
}
STAGES = {
    "verification": ("verifikasi", "verification"),
    "response": ("tanggapan", "response"),
    "completion": ("penyelesaian", "completion"),
    "auto_close": ("penutupan otomatis", "automatic close"),
}
# Shown when the deadline is not known yet (sla away): what DESIGN §1 promises for every disposition.
UNKNOWN_DEADLINE = ("5 hari kerja", "5 working days")
FALLBACKS = {"agency_name": ("instansi terkait", "the agency in charge"), "note": ("", ""), "stage": ("", "")}
# Codes shown in plain words.
LABELS = {"reason": REASONS, "stage": STAGES}


SUBJECTS = {"id": "LAPOR!: Laporan {tracking_id}", "en": "LAPOR!: Report {tracking_id}"}


class TemplateError(ValueError):
    """A template text that cannot be used: `problems` maps a short key to the bilingual reason."""

    def __init__(self, problems):
        super().__init__("; ".join(problem["en"] for problem in problems.values()))
        self.problems = problems


def names():
    return sorted(DEFAULTS)


def audience_of(name):
    return DEFAULTS[name][0]


def placeholders_of(name):
    return COMMON + DEFAULTS[name][1]


def default_text(name, language):
    return DEFAULTS[name][2][language]


def subject(tracking_id, language):
    """The e-mail subject: the tracking ID, so a reporter's mail client threads one report's messages."""
    return SUBJECTS.get(language, SUBJECTS[DEFAULT_LANGUAGE]).format(tracking_id=tracking_id)


def check(name, language, text):
    """Raise TemplateError unless `text` is a usable template for `name` in `language`."""
    if name not in DEFAULTS:
        raise KeyError(name)
    if language not in LANGUAGES:
        raise TemplateError({"language": {"id": f"Bahasa harus salah satu dari: {', '.join(LANGUAGES)}.",
                                          "en": f"Language must be one of: {', '.join(LANGUAGES)}."}})
    if not isinstance(text, str) or not text.strip():
        raise TemplateError({"text": {"id": "Tidak boleh kosong.", "en": "May not be blank."}})
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError({"text": {"id": f"Terlalu panjang, maksimal {MAX_TEMPLATE_LENGTH} karakter.",
                                      "en": f"Longer than maximum length {MAX_TEMPLATE_LENGTH}."}})
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        raise TemplateError({"text": {"id": "Kurung kurawal tidak seimbang; tulis {{ atau }} untuk kurung biasa.",
                                      "en": "Unbalanced braces; write {{ or }} for a literal brace."}})
    allowed = placeholders_of(name)
    used = set()
    for _, field, spec, conversion in fields:
        if field is None:
            continue
        # Only plain names: attribute or index access and format specs could reach into the values.
        if field not in allowed or spec or conversion:
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TemplateError({"text": {
                "id": f"Placeholder {shown} tidak dikenal; yang boleh: {_braced(allowed)}.",
                "en": f"Unknown placeholder {shown}; allowed: {_braced(allowed)}."}})
        used.add(field)
    missing = [field for field in REQUIRED.get(name, ()) if field not in used]
    if missing:
        raise TemplateError({"text": {"id": f"Placeholder wajib hilang: {_braced(missing)}.",
                                      "en": f"Required placeholder missing: {_braced(missing)}."}})


def _braced(fields):
    return ", ".join("{" + field + "}" for field in fields)


def values_for(name, data, portal_url, language):
    """The template's values in `language` from language-neutral `data` (codes, ISO due dates, names)."""
    index = LANGUAGES.index(language)
    portal = portal_url.rstrip("/")
    values = {"tracking_id": data["tracking_id"], "portal_url": portal,
              "report_url": f"{portal}/lacak?id={data['tracking_id']}"}
    for field in DEFAULTS[name][1]:
        raw = data.get(field)
        if field == "deadline":
            values[field] = format_deadline(data.get("due_at"), language)
        elif not raw:
            values[field] = FALLBACKS.get(field, ("-", "-"))[index]
        elif field in LABELS:
            values[field] = LABELS[field].get(raw, (raw, raw))[index]
        else:
            values[field] = str(raw).strip()
    return values


def format_deadline(due_at, language):
    """`27/11/2026 16.00 WIB` (Indonesian writes the time with a dot), or the promised span if unknown."""
    if not due_at:
        return UNKNOWN_DEADLINE[LANGUAGES.index(language)]
    if isinstance(due_at, str):
        due_at = datetime.fromisoformat(due_at)
    local = due_at.astimezone(JAKARTA)
    return local.strftime("%d/%m/%Y %H.%M WIB" if language == "id" else "%d/%m/%Y %H:%M WIB")


def render(text, values, limit=None):
    """`text` with `values`; with `limit` (an SMS), the shortenable values are cut so the whole fits."""
    rendered = _tidy(text.format(**values))
    if limit is None or len(rendered) <= limit:
        return rendered
    values = dict(values)
    for field in SHORTENABLE:
        if field not in values or not values[field]:
            continue
        # One character stands in for the value: an empty one would also lose the space around it.
        without = len(_tidy(text.format(**dict(values, **{field: "x"})))) - 1
        room = limit - without
        values[field] = _shorten(values[field], room)
        rendered = _tidy(text.format(**values))
        if len(rendered) <= limit:
            break
    return rendered


def _shorten(value, room):
    if len(value) <= room:
        return value
    if room <= 3:
        return ""
    cut = value[:room - 3]
    # At a word boundary when one is near; a very long word is simply cut.
    if " " in cut[len(cut) // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "..."


def _tidy(text):
    """An empty value leaves no doubled space or space before a full stop; line breaks stay."""
    text = re.sub(r" +([.,])(?=\s|$)", r"\1", re.sub(r"[ \t]{2,}", " ", text))
    return text.replace("....", "...").strip()
