"""The web pages' words in Bahasa Indonesia (the default) and English: one catalogue, looked up by key."""

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

# key → (Bahasa Indonesia, English). Keys name what the words are for, not where they appear.
MESSAGES = {
    # site
    "site.tagline": ("Layanan Aspirasi dan Pengaduan Online Rakyat",
                     "People's Online Aspiration and Complaint Service"),
    "site.skip": ("Langsung ke isi", "Skip to content"),
    "site.language": ("Bahasa", "Language"),
    "nav.home": ("Beranda", "Home"),
    "nav.submit": ("Buat laporan", "Report"),
    "nav.track": ("Lacak", "Track"),
    "nav.feed": ("Laporan publik", "Public reports"),
    "nav.stats": ("Statistik", "Statistics"),
    "nav.login": ("Masuk petugas", "Officer sign-in"),
    "nav.logout": ("Keluar", "Sign out"),
    "nav.console": ("Kotak masuk", "Inbox"),
    "nav.dashboard": ("Pengawasan", "Oversight"),
    "nav.agencies": ("Instansi", "Agencies"),
    "nav.templates": ("Templat pesan", "Message templates"),
    "nav.calendar": ("Kalender", "Calendar"),
    "nav.notifications": ("Notifikasi gagal", "Failed notifications"),
    "nav.accounts": ("Akun", "Accounts"),
    "nav.routing_rules": ("Aturan disposisi", "Routing rules"),
    "nav.my_agency": ("Instansi saya", "My agency"),
    "nav.main": ("Menu utama", "Main menu"),
    "nav.console_menu": ("Menu petugas", "Officer menu"),
    "footer.text": ("LAPOR! — SP4N. Laporan dilindungi; identitas pelapor anonim tidak pernah ditampilkan ke "
                    "instansi maupun publik.",
                    "LAPOR! — SP4N. Reports are protected; an anonymous reporter's identity is never shown to "
                    "the agency or the public."),
    # common words
    "common.search": ("Cari", "Search"),
    "common.filter": ("Saring", "Filter"),
    "common.reset": ("Hapus saringan", "Clear filters"),
    "common.send": ("Kirim", "Send"),
    "common.save": ("Simpan", "Save"),
    "common.all": ("Semua", "All"),
    "common.none": ("Tidak ada", "None"),
    "common.optional": ("opsional", "optional"),
    "common.previous": ("Sebelumnya", "Previous"),
    "common.next": ("Berikutnya", "Next"),
    "common.page_of": ("Halaman {page} dari {pages} ({total} laporan)", "Page {page} of {pages} ({total} reports)"),
    "common.items_page_of": ("Halaman {page} dari {pages} ({total})", "Page {page} of {pages} ({total})"),
    "common.empty": ("Belum ada data.", "Nothing here yet."),
    "common.pagination": ("Navigasi halaman", "Pagination"),
    "common.yes": ("Ya", "Yes"),
    "common.no": ("Tidak", "No"),
    "common.done": ("Berhasil disimpan.", "Saved."),
    "common.open_report": ("Buka laporan {id}", "Open report {id}"),
    # report fields
    "field.tracking_id": ("Nomor pelacakan", "Tracking ID"),
    "field.access_code": ("Kode akses", "Access code"),
    "field.type": ("Jenis laporan", "Type of report"),
    "field.title": ("Judul", "Title"),
    "field.body": ("Isi laporan", "Report"),
    "field.body_hint": ("Ceritakan kronologinya: apa yang terjadi, kapan, di mana, siapa yang terlibat.",
                        "Tell the chronology: what happened, when, where, who was involved."),
    "field.occurred_at": ("Waktu kejadian", "When it happened"),
    "field.province": ("Provinsi", "Province"),
    "field.region": ("Kabupaten/kota", "Regency/city"),
    "field.region_search": ("Cari kabupaten/kota", "Search regencies/cities"),
    "field.whole_province": ("— seluruh provinsi / tidak tahu —", "— the whole province / not sure —"),
    "field.choose": ("— pilih —", "— choose —"),
    "field.address": ("Alamat atau patokan lokasi", "Address or landmark"),
    "field.agency": ("Instansi tujuan", "Agency"),
    "field.agency_search": ("Cari instansi", "Search agencies"),
    "field.agency_auto": ("— biarkan LAPOR memilih —", "— let LAPOR choose —"),
    "field.category": ("Kategori", "Category"),
    "field.category_none": ("— tidak tahu —", "— not sure —"),
    "field.attachments": ("Lampiran (foto, dokumen)", "Attachments (photos, documents)"),
    "field.attachments_hint": ("Foto, video atau dokumen (PDF) sebagai bukti. Jenis berkas dikenali dari isinya. "
                               "Lampiran laporan anonim atau rahasia tidak tampil di laman publik.",
                               "Photos, videos or documents (PDF) as evidence. The type is judged from the content. "
                               "Attachments of an anonymous or confidential report are not shown publicly."),
    "field.attachments_too_large": ("Lampiran terlalu besar untuk satu laporan; kurangi jumlah atau ukurannya.",
                                    "The attachments are too large for one report; send fewer or smaller files."),
    "field.anonymous": ("Anonim", "Anonymous"),
    "field.anonymous_hint": ("Nama dan kontak Anda tidak ditampilkan kepada instansi terlapor maupun publik. "
                             "Admin LAPOR tetap dapat menghubungi Anda bila perlu.",
                             "Your name and contact are not shown to the agency reported on or to the public. "
                             "LAPOR's admins can still reach you if needed."),
    "field.confidential": ("Rahasia", "Confidential"),
    "field.confidential_hint": ("Seluruh laporan tidak tampil di laman publik, pencarian, maupun statistik "
                                "rinci; hanya Anda (dengan kode akses) dan petugas yang berwenang yang melihatnya.",
                                "The whole report stays off the public pages, search and detailed statistics; "
                                "only you (with the access code) and the officers in charge see it."),
    "field.reporter": ("Identitas dan kontak pelapor", "Your name and contact"),
    "field.reporter_hint": ("Opsional, tetapi tanpa kontak Anda tidak menerima kabar perkembangan dan tidak "
                            "dapat meminta kode akses baru.",
                            "Optional, but without a contact you get no progress updates and cannot ask for a "
                            "new access code."),
    "field.name": ("Nama", "Name"),
    "field.phone": ("Nomor ponsel", "Mobile number"),
    "field.email": ("E-mail", "E-mail"),
    "field.status": ("Status", "Status"),
    "field.region_short": ("Wilayah", "Region"),
    "field.created_at": ("Dikirim", "Sent"),
    "field.due_at": ("Batas waktu", "Deadline"),
    "field.age": ("Umur laporan", "Age"),
    "field.support": ("Dukungan", "Support"),
    "field.channel": ("Kanal", "Channel"),
    "field.reporter_view": ("Pelapor", "Reporter"),
    "field.hidden_reporter": ("Pelapor anonim (identitas disembunyikan)", "Anonymous reporter (identity hidden)"),
    "field.flags": ("Tanda", "Flags"),
    "field.from": ("Dari tanggal", "From"),
    "field.to": ("Sampai tanggal", "To"),
    "field.q": ("Kata kunci", "Keywords"),
    "field.note": ("Catatan", "Note"),
    "field.message": ("Pesan", "Message"),
    "field.reason": ("Alasan", "Reason"),
    "field.reason_code": ("Alasan (bukan ranah LAPOR)", "Reason (outside LAPOR's remit)"),
    "field.suggested_agency": ("Instansi yang disarankan", "Suggested agency"),
    "field.case_class": ("Kelas kasus", "Case class"),
    "field.score": ("Nilai (1–5)", "Score (1–5)"),
    "field.comment": ("Komentar", "Comment"),
    "field.username": ("Nama pengguna", "Username"),
    "field.password": ("Kata sandi", "Password"),
    "field.role": ("Peran", "Role"),
    "field.agency_code": ("Kode instansi", "Agency code"),
    "field.version_note": ("", ""),
    # submit
    "submit.title": ("Buat laporan", "Send a report"),
    "submit.intro": ("Isi formulir di bawah. Kolom bertanda * wajib diisi. Setelah terkirim Anda mendapat nomor "
                     "pelacakan dan kode akses.",
                     "Fill in the form below. Fields marked * are required. Once sent you get a tracking ID and "
                     "an access code."),
    "submit.where": ("Lokasi", "Location"),
    "submit.privacy": ("Kerahasiaan", "Privacy"),
    "submit.button": ("Kirim laporan", "Send report"),
    "submit.failed": ("Laporan belum terkirim: periksa isian yang ditandai.",
                      "The report was not sent: check the marked fields."),
    "submit.work": ("Banyak laporan datang dari jaringan Anda dalam satu jam ini. Peramban Anda menyiapkan "
                    "pengiriman (beberapa detik); setelah siap, tekan Kirim laporan lagi. Lampiran perlu dipilih "
                    "lagi. Tanpa JavaScript, coba lagi dalam {minutes} menit.",
                    "Many reports have come from your network this hour. Your browser is preparing the sending "
                    "(a few seconds); once it is ready, press Send report again. Attachments need choosing again. "
                    "Without JavaScript, try again in {minutes} minutes."),
    "submit.work_busy": ("Menyiapkan pengiriman…", "Preparing to send…"),
    "submit.work_ready": ("Siap: tekan Kirim laporan.", "Ready: press Send report."),
    "receipt.title": ("Laporan terkirim", "Report sent"),
    "receipt.intro": ("Terima kasih. Laporan Anda sudah kami terima.", "Thank you. We have received your report."),
    "receipt.keep": ("Simpan kode akses ini sekarang. Kode ini hanya ditampilkan sekali dan diperlukan untuk "
                     "melihat perkembangan, membalas, dan menilai tindak lanjut.",
                     "Keep this access code now. It is shown only once and you need it to follow the progress, "
                     "reply and rate the outcome."),
    "receipt.track": ("Lacak laporan ini", "Track this report"),
    "receipt.expired": ("Tanda terima ini tidak tersedia lagi. Nomor pelacakan dan kode akses ditampilkan sekali "
                        "saja, di peramban yang mengirim laporan, tepat setelah laporan dikirim.",
                        "This receipt is no longer available. The tracking ID and access code are shown only once, "
                        "in the browser that sent the report, right after sending."),
    # track
    "track.title": ("Lacak laporan", "Track a report"),
    "track.intro": ("Masukkan nomor pelacakan. Dengan kode akses Anda melihat tampilan pelapor: status, instansi, "
                    "batas waktu, riwayat lengkap, dan dapat membalas, menilai, atau meminta laporan dibuka lagi.",
                    "Enter the tracking ID. With the access code you see the reporter's view: status, agency, "
                    "deadline, the full history, and you can reply, rate or ask to reopen."),
    "track.button": ("Lacak", "Track"),
    "track.with_code": ("Masuk sebagai pelapor", "Open as the reporter"),
    "track.code_wrong": ("Laporan tidak ditemukan atau kode akses salah.",
                         "No such report, or the access code is wrong."),
    "track.public_view": ("Tampilan publik. Masukkan kode akses untuk tampilan pelapor.",
                          "Public view. Enter the access code for the reporter's view."),
    "track.reporter_view": ("Tampilan pelapor", "Reporter's view"),
    "track.forget": ("Lupakan kode di perangkat ini", "Forget the code on this device"),
    "track.lost_code": ("Lupa kode akses?", "Lost the access code?"),
    "track.lost_code_button": ("Kirim kode baru ke kontak saya", "Send a new code to my contact"),
    "track.reply": ("Balas petugas", "Reply to the officer"),
    "track.rate": ("Nilai tindak lanjut", "Rate the outcome"),
    "track.reopen": ("Minta laporan dibuka kembali", "Ask to reopen"),
    "track.replied": ("Balasan terkirim.", "Reply sent."),
    "track.rated": ("Terima kasih atas penilaian Anda.", "Thank you for your rating."),
    "track.reopened": ("Laporan dibuka kembali.", "The report is open again."),
    "track.code_requested": ("Jika laporan ini punya kontak pelapor, kode akses baru dikirim ke kontak tersebut. "
                             "Kode lama tetap berlaku sampai kode baru dipakai.",
                             "If this report has a reporter contact, a new access code is sent to it. The old "
                             "code keeps working until the new one is used."),
    # feed and public report
    "feed.title": ("Laporan publik", "Public reports"),
    "feed.intro": ("Laporan yang tidak rahasia, terbaru lebih dulu.",
                   "Reports that are not confidential, newest first."),
    "report.timeline": ("Riwayat", "History"),
    "report.support_button": ("Dukung laporan ini", "Support this report"),
    "report.supported": ("Dukungan Anda tercatat.", "Your support is counted."),
    "report.support_repeat": ("Anda sudah mendukung laporan ini.", "You already support this report."),
    "report.no_agency": ("Belum didisposisikan", "Not yet disposed"),
    "report.no_deadline": ("—", "—"),
    "report.automatic": ("otomatis", "automatic"),
    "report.by": ("oleh", "by"),
    "report.reply_from_officer": ("Tanggapan", "Response"),
    "report.overdue": ("Lewat batas waktu", "Past the deadline"),
    # stats
    "stats.title": ("Statistik", "Statistics"),
    "stats.total": ("Jumlah laporan publik", "Public reports"),
    "stats.confidential": ("Laporan rahasia (tanpa rincian)", "Confidential reports (no breakdown)"),
    "stats.median": ("Median waktu tanggapan pertama", "Median time to the first response"),
    "stats.hours": ("{n} jam", "{n} hours"),
    "stats.by_status": ("Menurut status", "By status"),
    "stats.by_type": ("Menurut jenis", "By type"),
    "stats.by_channel": ("Menurut kanal", "By channel"),
    "stats.by_agency": ("Instansi dengan laporan terbanyak", "Agencies with the most reports"),
    "stats.by_region": ("Wilayah dengan laporan terbanyak", "Regions with the most reports"),
    "stats.sla": ("Kepatuhan waktu tanggapan (30 hari terakhir)", "Response-time compliance (last 30 days)"),
    "stats.sla_period": ("Periode {first} s.d. {last}", "Period {first} to {last}"),
    "stats.compliance": ("Kepatuhan", "Compliance"),
    "stats.disposed": ("Disposisi", "Dispositions"),
    "stats.in_time": ("Tepat waktu", "In time"),
    "stats.late": ("Terlambat", "Late"),
    "stats.open": ("Berjalan", "Open"),
    "stats.overdue": ("Lewat batas", "Overdue"),
    "stats.count": ("Jumlah", "Count"),
    "stats.volume": ("Laporan publik per minggu", "Public reports per week"),
    "stats.week_of": ("Minggu mulai", "Week of"),
    # login and console
    "login.title": ("Masuk petugas", "Officer sign-in"),
    "login.button": ("Masuk", "Sign in"),
    "login.locked": ("Terlalu banyak percobaan gagal. Coba lagi dalam {minutes} menit.",
                     "Too many failed attempts. Try again in {minutes} minutes."),
    "login.expired": ("Sesi Anda berakhir; silakan masuk lagi.", "Your session has ended; please sign in again."),
    "console.inbox": ("Kotak masuk", "Inbox"),
    "console.inbox_national": ("Antrean verifikasi nasional (terlama lebih dulu)",
                               "National verification queue (oldest first)"),
    "console.inbox_agency": ("Laporan yang didisposisikan ke {agency} (batas waktu terdekat lebih dulu)",
                             "Reports disposed to {agency} (earliest deadline first)"),
    "console.inbox_supervisor": ("Semua laporan terbuka (batas waktu terdekat lebih dulu)",
                                 "All open reports (earliest deadline first)"),
    "console.signed_in_as": ("Masuk sebagai {name} ({role})", "Signed in as {name} ({role})"),
    "console.triage": ("Saran triase", "Triage suggestion"),
    "console.no_suggestion": ("Triase belum dapat menyarankan instansi: tentukan sendiri.",
                              "Triage has no agency to suggest: choose one yourself."),
    "console.confidence": ("keyakinan {n}%", "{n}% confidence"),
    "console.out_of_scope": ("Petunjuk bukan ranah LAPOR", "Outside-LAPOR hint"),
    "console.duplicate_of": ("Kemungkinan duplikat dari", "Possible duplicate of"),
    "console.flagged": ("Kembali ke antrean setelah ditolak instansi", "Back in the queue after an agency declined"),
    "console.hops": ("Pindah instansi: {n}", "Agency hops: {n}"),
    "console.actions": ("Tindakan", "Actions"),
    "console.no_actions": ("Tidak ada tindakan untuk peran Anda pada status ini.",
                           "No action for your role in this status."),
    "console.done": ("Tindakan tercatat.", "Action recorded."),
    "console.attachments": ("Lampiran", "Attachments"),
    "console.no_attachments": ("Tidak ada lampiran.", "No attachments."),
    "console.left_scope": ("Laporan ini sudah keluar dari lingkup instansi Anda.",
                           "This report has left your agency's scope."),
    "console.stale": ("Laporan sudah berubah sejak halaman ini dibuka; periksa lalu coba lagi.",
                      "The report changed since this page was opened; check it and try again."),
    "console.sla": ("SLA", "SLA"),
    "action.verify": ("Verifikasi", "Verify"),
    "action.reject": ("Tolak (bukan ranah LAPOR)", "Reject (outside LAPOR)"),
    "action.dispose": ("Disposisikan", "Dispose"),
    "action.decline": ("Bukan wewenang kami", "Not our authority"),
    "action.followups": ("Tindak lanjut", "Follow up"),
    "action.request-info": ("Minta informasi ke pelapor", "Ask the reporter for information"),
    "action.complete": ("Selesaikan", "Complete"),
    "action.reopen": ("Buka kembali", "Reopen"),
    "action.archive": ("Arsipkan", "Archive"),
    # admin pages
    "admin.agencies": ("Instansi dan unit", "Agencies and units"),
    "admin.units_of": ("Unit di bawah {name}", "Units under {name}"),
    "admin.contacts": ("Kontak notifikasi", "Notification contacts"),
    "admin.webhook_url": ("URL webhook", "Webhook URL"),
    "admin.webhook_secret_ref": ("Rujukan rahasia webhook", "Webhook secret reference"),
    "admin.kind": ("Jenis", "Kind"),
    "admin.parent": ("Induk", "Parent"),
    "admin.templates": ("Templat notifikasi", "Notification templates"),
    "admin.template_default": ("Teks bawaan", "Default text"),
    "admin.template_placeholders": ("Penanda yang boleh dipakai", "Placeholders allowed"),
    "admin.template_reset": ("Kembalikan ke bawaan", "Back to the default"),
    "admin.template_changed_by": ("Diubah oleh {who}", "Changed by {who}"),
    "admin.calendar": ("Kalender hari kerja", "Working-day calendar"),
    "admin.calendar_year": ("Tahun", "Year"),
    "admin.calendar_day": ("Tanggal", "Date"),
    "admin.calendar_add_holiday": ("Tambah hari libur", "Add a day off"),
    "admin.calendar_add_working": ("Tambah hari kerja", "Add a working day"),
    "admin.calendar_remove": ("Hapus pengecualian", "Remove the exception"),
    "admin.calendar_kind": ("Jenis hari", "Kind of day"),
    "admin.notifications": ("Notifikasi gagal terkirim", "Notifications that failed"),
    "admin.resend": ("Kirim ulang", "Send again"),
    "admin.recipient": ("Penerima", "Recipient"),
    "admin.attempts": ("Percobaan", "Attempts"),
    "admin.accounts": ("Akun petugas", "Officer accounts"),
    "admin.account_new": ("Akun baru", "New account"),
    "admin.account_state": ("Keadaan", "State"),
    "admin.account_active": ("aktif", "active"),
    "admin.account_disabled": ("nonaktif", "disabled"),
    "admin.disable": ("Nonaktifkan", "Disable"),
    "admin.enable": ("Aktifkan", "Enable"),
    "admin.missing_rpc": ("Halaman ini menunggu layanan {service} menyediakan fungsinya.",
                          "This page waits for the {service} service to provide it."),
    "admin.rules": ("Aturan disposisi", "Routing rules"),
    "admin.rules_intro": ("Ke mana triase mengarahkan laporan setiap kategori. Pilih “Bawaan” untuk memakai "
                          "tujuan bawaan taksonomi. Setiap penyimpanan menjadi versi baru yang dipakai triase mulai "
                          "laporan berikutnya.",
                          "Where triage sends each category's reports. Choose “Default” to keep the "
                          "taxonomy's own target. Every save becomes a new version, which triage follows from the "
                          "next report."),
    "admin.rules_version": ("Versi {version}", "Version {version}"),
    "admin.rules_saved_by": ("disimpan oleh {who}, {when}", "saved by {who}, {when}"),
    "admin.rules_never_saved": ("belum pernah diubah: setiap kategori memakai tujuan bawaan.",
                                "never changed: every category uses its default target."),
    "admin.rules_category": ("Kategori", "Category"),
    "admin.rules_default": ("Tujuan bawaan", "Default target"),
    "admin.rules_target": ("Tujuan", "Target"),
    "admin.rules_use_default": ("Bawaan", "Default"),
    "admin.rules_local_regency": ("Pemda kabupaten/kota lokasi laporan",
                                  "The regency/city government where the report is"),
    "admin.rules_local_province": ("Pemda provinsi lokasi laporan", "The province government where the report is"),
    "admin.rules_local": ("Pemerintah daerah", "Local government"),
    "admin.rules_agencies": ("Instansi", "Agencies"),
    "admin.rules_save": ("Simpan sebagai versi baru", "Save as a new version"),
    "admin.rules_saved": ("Aturan disposisi tersimpan sebagai versi baru.",
                          "The routing rules were saved as a new version."),
    "admin.rules_stale": ("Aturan disposisi sudah diubah orang lain sejak halaman ini dibuka. Periksa versi terbaru "
                          "di bawah, lalu simpan lagi.",
                          "Someone else changed the routing rules since this page was opened. Check the latest "
                          "version below, then save again."),
    "admin.rules_invalid": ("Tidak ada yang disimpan: periksa aturan yang ditandai.",
                            "Nothing was saved: check the rules marked below."),
    "admin.rules_history": ("Riwayat versi", "Version history"),
    "admin.rules_version_col": ("Versi", "Version"),
    "admin.rules_by": ("Disimpan oleh", "Saved by"),
    "admin.rules_at": ("Waktu", "When"),
    "admin.rules_list": ("Aturan", "Rules"),
    "admin.rules_count": ("{count} aturan", "{count} rules"),
    "admin.rules_none": ("Tanpa aturan: semua bawaan", "No rules: all defaults"),
    "admin.rules_taxonomy": ("Bawaan taksonomi", "The taxonomy's defaults"),
    "admin.unit_new": ("Tambah unit", "Add a unit"),
    "admin.unit_intro": ("Dinas, kantor, atau bagian di bawah {name}.", "A service, office or division under {name}."),
    "admin.unit_name": ("Nama unit", "Unit name"),
    "admin.unit_code": ("Kode unit", "Unit code"),
    "admin.unit_code_hint": ("Huruf kapital, angka, titik atau tanda hubung. Kosongkan agar dibuat dari nama.",
                             "Uppercase letters, digits, dots or hyphens. Leave it empty to make one from the name."),
    "admin.unit_categories": ("Kategori yang ditangani", "Categories handled"),
    "admin.unit_save": ("Simpan unit", "Save the unit"),
    "admin.unit_added": ("Unit ditambahkan. Akun admin instansi melihatnya dalam cakupannya setelah masuk ulang.",
                         "The unit was added. Agency admin accounts see it in their scope after signing in again."),
    "dashboard.title": ("Pengawasan kepatuhan", "Compliance oversight"),
    "dashboard.by_agency": ("Kepatuhan per instansi", "Compliance by agency"),
    "dashboard.by_region": ("Kepatuhan per provinsi", "Compliance by province"),
    "dashboard.breaches": ("Pelanggaran batas waktu", "Deadline breaches"),
    "dashboard.drill": ("Laporan terbuka instansi ini", "This agency's open reports"),
    "dashboard.drill_note": ("Yang lewat tenggat lebih dulu; termasuk laporan rahasia, tanpa identitas pelapor.",
                             "Overdue first; confidential reports included, without reporter identity."),
    # errors
    "error.title": ("Terjadi masalah", "Something went wrong"),
    "error.not_found": ("Halaman atau laporan tidak ditemukan.", "The page or report was not found."),
    "error.forbidden": ("Anda tidak berhak membuka halaman ini.", "You may not open this page."),
    "error.invalid_tracking_id": ("Nomor pelacakan tidak valid (periksa kembali angkanya).",
                                  "The tracking ID is not valid (check the digits)."),
    "error.csrf": ("Formulir kedaluwarsa atau tidak sah; muat ulang halaman lalu coba lagi.",
                   "The form expired or is not valid; reload the page and try again."),
    "error.unavailable": ("Layanan sedang tidak tersedia; tidak ada yang tersimpan. Coba lagi sebentar lagi.",
                          "The service is unavailable; nothing was saved. Please try again shortly."),
    "error.rate_limited": ("Terlalu banyak percobaan; coba lagi dalam {minutes} menit.",
                           "Too many attempts; try again in {minutes} minutes."),
    "error.internal": ("Terjadi kesalahan pada server.", "Something went wrong on the server."),
    "error.back_home": ("Kembali ke beranda", "Back to the home page"),
}

STATUS_LABELS = {
    "received": ("Diterima", "Received"),
    "verified": ("Terverifikasi", "Verified"),
    "disposed": ("Didisposisikan", "Disposed"),
    "in_progress": ("Ditindaklanjuti", "In progress"),
    "completed": ("Selesai", "Completed"),
    "rejected": ("Bukan ranah LAPOR", "Outside LAPOR's remit"),
    "archived": ("Diarsipkan", "Archived"),
}

TYPE_LABELS = {
    "complaint": ("Pengaduan", "Complaint"),
    "aspiration": ("Aspirasi", "Aspiration"),
    "information_request": ("Permintaan informasi", "Information request"),
}

CHANNEL_LABELS = {
    "web": ("Situs web", "Website"), "mobile": ("Aplikasi", "Mobile app"), "sms": ("SMS 1708", "SMS 1708"),
    "twitter": ("Twitter/X", "Twitter/X"), "rpc": ("Sistem pemerintah", "Government system"),
    "open311": ("Open311", "Open311"),
}

# The out-of-scope reason codes of DESIGN §1.
REASON_LABELS = {
    "elections": ("Pemilu (KPU/Bawaslu)", "Elections (KPU/Bawaslu)"),
    "criminal": ("Tindak pidana (kepolisian)", "Crime (police)"),
    "private_company": ("Perusahaan swasta", "Private company"),
    "in_court": ("Sedang diproses pengadilan", "Before a court"),
    "social_media": ("Konten media sosial", "Social-media content"),
    "not_government": ("Bukan layanan pemerintah", "Not a government service"),
    "too_general": ("Terlalu umum", "Too general"),
}

CASE_CLASS_LABELS = {
    "standard": ("Standar", "Standard"),
    "dispute": ("Sengketa (14 hari)", "Dispute (14 days)"),
    "field_inspection": ("Pemeriksaan lapangan (60 hari)", "Field inspection (60 days)"),
}

KIND_LABELS = {
    "opened": ("Laporan diterima", "Report received"),
    "verified": ("Diverifikasi", "Verified"),
    "rejected": ("Ditolak: bukan ranah LAPOR", "Rejected: outside LAPOR's remit"),
    "disposed": ("Didisposisikan", "Disposed"),
    "declined": ("Bukan wewenang instansi", "Declined by the agency"),
    "escalated": ("Dinaikkan ke instansi induk", "Escalated to the parent agency"),
    "followup": ("Tindak lanjut", "Follow-up"),
    "info_requested": ("Petugas meminta informasi", "The officer asked for information"),
    "reply": ("Balasan pelapor", "Reporter's reply"),
    "completed": ("Selesai", "Completed"),
    "reopened": ("Dibuka kembali", "Reopened"),
    "archived": ("Diarsipkan", "Archived"),
    "rated": ("Dinilai pelapor", "Rated by the reporter"),
    "duplicate_linked": ("Ditautkan sebagai duplikat", "Linked as a duplicate"),
    "access_code_reissued": ("Kode akses baru dikirim", "New access code sent"),
}

ROLE_LABELS = {
    "national_admin": ("Admin nasional", "National admin"),
    "agency_admin": ("Admin instansi", "Agency admin"),
    "agency_officer": ("Petugas unit", "Unit officer"),
    "supervisor": ("Pengawas", "Supervisor"),
    "api_client": ("Sistem pemerintah", "Government system"),
    "reporter": ("Pelapor", "Reporter"),
    "system": ("Sistem", "System"),
}

BADGE_LABELS = {
    "on_time": ("Tepat waktu", "On time"),
    "due_soon": ("Segera jatuh tempo", "Due soon"),
    "late": ("Terlambat", "Late"),
}

AGENCY_KIND_LABELS = {
    "national": ("Nasional", "National"), "ministry": ("Kementerian", "Ministry"),
    "institution": ("Lembaga", "Institution"), "province": ("Provinsi", "Province"),
    "regency": ("Kabupaten", "Regency"), "city": ("Kota", "City"), "unit": ("Unit", "Unit"),
}

CALENDAR_KIND_LABELS = {
    "holiday": ("Hari libur", "Day off"), "working_day": ("Hari kerja", "Working day"),
    "weekend": ("Akhir pekan", "Weekend"), "public_holiday": ("Libur nasional", "Public holiday"),
}

LABELS = {
    "status": STATUS_LABELS, "type": TYPE_LABELS, "channel": CHANNEL_LABELS, "reason": REASON_LABELS,
    "case_class": CASE_CLASS_LABELS, "kind": KIND_LABELS, "role": ROLE_LABELS, "badge": BADGE_LABELS,
    "agency_kind": AGENCY_KIND_LABELS, "calendar_kind": CALENDAR_KIND_LABELS,
}


def choose_language(requested, remembered):
    """The page language: the one asked for (`?lang=`) when known, else the remembered one, else Indonesian."""
    for language in (requested, remembered):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def text(key, language, **values):
    """The message `key` in `language` with `{placeholders}` filled; the key itself when unknown (visible in tests)."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    message = pair[LANGUAGES.index(language) if language in LANGUAGES else 0]
    return message.format(**values) if values else message


def label(group, code, language):
    """A code's label (status, type, reason…) in `language`; the code itself when it has none. Only a string is
    looked up: anything else a template passes by mistake is shown as text rather than breaking the page."""
    if code is None:
        return ""
    pair = LABELS[group].get(code) if isinstance(code, str) else None
    if pair is None:
        return str(code)
    return pair[LANGUAGES.index(language) if language in LANGUAGES else 0]


def choices(group, language):
    """[(code, label)] of a group in catalogue order, for a <select>."""
    return [(code, label(group, code, language)) for code in LABELS[group]]
