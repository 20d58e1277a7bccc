"""Routing's triage, pure: regions from every kind of mention, out-of-scope words, keyword suggestions per category,
duplicates, the auto-disposition rule, and the learned model's training and bytes."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.routing import model as learned
from services.routing.dependencies import TriageApi
from services.routing.triage import (
    TriageSettings, agency_for, decide, default_engine, find_duplicate, report_text, target_of_agency,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
METRO = {"code": "KOTA-18.72", "name": "Pemerintah Kota Metro", "kind": "city", "parent_code": "PROV-18",
         "region_code": "18.72"}


@pytest.fixture(scope="module")
def engine():
    return default_engine()


def make_event(body="", title="", region_code=None, region_hint=None, **content):
    location = {"region_code": region_code} if region_code else None
    return {"tracking_id": "10000004", "version": 1, "region_hint": region_hint,
            "content": dict({"title": title, "body": body, "location": location}, **content)}


def assess(engine, body, **options):
    settings = options.pop("settings", TriageSettings())
    requested = options.pop("requested_agency", None)
    model = options.pop("model", None)
    open_reports = options.pop("open_reports", None)
    return engine.assess(make_event(body, **options), requested_agency=requested, model=model, settings=settings,
                         open_reports=(lambda region_code: open_reports) if open_reports else (lambda code: ()),
                         now=NOW)


# --- regions ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, code, source", [
    ("Jalan rusak di Kab. Sleman", "34.04", "prefixed"),
    ("Jalan rusak di KABUPATEN SLEMAN", "34.04", "prefixed"),
    ("Sampah menumpuk di kota Bandar Lampung", "18.71", "prefixed"),
    ("Pemkot Surabaya tidak mengangkut sampah", "35.78", "prefixed"),
    ("Kami warga Sleman mengeluhkan sampah", "34.04", "bare"),
    ("Jalan di Kecamatan Cibungbulang rusak", "32.01", "district"),  # a district, resolved to its regency
    ("Lampu jalan di Kec. Metro Pusat mati", "18.72", "district"),
    ("Jalan rusak di Kabupaten Lampung Selatn", "18.01", "prefixed"),  # a typo after a prefix is forgiven
    ("Jalan provinsi di Jawa Tengah rusak", "33", "province"),
    ("Parkir liar di Jl. Slamet Riyadi Solo", "33.72", "bare"),  # a city after a street name is the place
    ("Listrik padam di Padang sejak pagi", "13.71", "bare"),  # an everyday-word name, Capitalised
    ("Trotoar di Jakarta Selatan rusak", "31.74", "bare"),
    ("KTP saya di Disdukcapil Kab Bandung Barat belum jadi", "32.17", "prefixed"),
])
def test_the_region_is_read_from_place_names_in_the_text(engine, body, code, source):
    record = assess(engine, body)
    assert (record["region_code"], record["region_source"]) == (code, source)


@pytest.mark.parametrize("body", [
    "Banjir di Bogor setiap hujan",  # the regency or the city: not guessed
    "medan jalan menuju desa sangat sulit",  # an everyday word, not Kota Medan
    "Rumah saya di Jalan Medan Merdeka kebanjiran",  # a street named after a city
    "Batu besar menghalangi jalan desa",
    "Pemerintah tidak peduli dengan jalan kami",
])
def test_no_region_is_guessed_from_ambiguous_or_everyday_words(engine, body):
    assert assess(engine, body)["region_code"] is None


def test_the_location_field_comes_before_the_sms_prefix_and_the_text(engine):
    record = assess(engine, "Jalan rusak di Kab. Sleman", region_code="18.72", region_hint="31.71")
    assert (record["region_code"], record["region_source"]) == ("18.72", "location")
    record = assess(engine, "Jalan rusak di Kab. Sleman", region_hint="18.72")
    assert (record["region_code"], record["region_source"]) == ("18.72", "sms_prefix")


def test_a_province_location_is_narrowed_by_a_regency_in_the_text_only_within_it(engine):
    assert assess(engine, "Jalan rusak di Kabupaten Garut", region_code="32")["region_code"] == "32.05"
    assert assess(engine, "Jalan rusak di Kabupaten Sleman", region_code="32")["region_code"] == "32"


def test_the_region_of_a_requested_local_government_counts(engine):
    record = assess(engine, "Pohon tumbang di Jalan Pala", requested_agency=METRO)
    assert (record["region_code"], record["region_source"]) == ("18.72", "requested_agency")


def test_a_regency_named_twice_beats_one_named_once(engine):
    record = assess(engine, "Saya dari Kabupaten Garut, tinggal di Kota Bandung. Jalan di Kota Bandung rusak.")
    assert record["region_code"] == "32.73"


# --- out of scope -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, reason, words", [
    ("Ada serangan fajar menjelang pilkada di desa kami", "elections", {"serangan fajar", "pilkada"}),
    ("Nama saya tidak ada di DPT jadi tidak bisa nyoblos", "elections", {"di dpt", "nyoblos"}),
    ("Motor saya dicuri tadi malam, tolong pelakunya ditangkap", "criminal", {"dicuri"}),
    ("Saya ditipu penjual mobil bekas lewat transfer", "criminal", {"ditipu"}),
    ("Debt collector pinjol meneror keluarga saya", "private_company", {"debt collector", "pinjol"}),
    ("Kasus warisan kami sedang sidang di pengadilan negeri", "in_court", {"pengadilan", "pengadilan negeri"}),
    ("Ada akun palsu mengatasnamakan bupati di Facebook", "social_media", {"akun palsu"}),
    ("Pacar saya selingkuh dengan teman kantornya", "not_government", {"pacar", "selingkuh"}),
    ("Kecewa.", "too_general", {"kecewa"}),
    ("Pemerintah tidak becus mengurus rakyat kecil", "too_general", {"pemerintah tidak becus", "rakyat kecil"}),
])
def test_out_of_scope_hints_name_the_words_that_triggered_them(engine, body, reason, words):
    hints = {hint["reason"]: set(hint["words"]) for hint in assess(engine, body)["out_of_scope"]}
    assert reason in hints and words <= hints[reason]


@pytest.mark.parametrize("body", [
    "Saya sudah lapor ke polsek soal pencurian motor, tapi tidak ditindaklanjuti",  # about the police's service
    "Lampu jalan mati, jalan gelap dan rawan begal",  # a risk, not a crime to report
    "Sudah viral di medsos tapi jalan berlubang di Kota Metro belum ditambal",  # a real matter, also online
    "Perusahaan tidak membayar THR dan mengancam PHK",  # employment, not a threat
    "Dokter baru datang pukul 10, pasien puskesmas menunggu lama",  # 'pukul' is a time here
    "Mohon izin ditinjau kembali tarif retribusi sampah",  # not a court review
])
def test_in_scope_reports_raise_no_hint(engine, body):
    assert assess(engine, body, region_code="18.72")["out_of_scope"] == []


# --- agency suggestions -----------------------------------------------------------------------------------------

CATEGORY_CASES = [
    ("Jalan berlubang besar di depan pasar, sudah dua bulan tidak ditambal", "KOTA-18.72"),
    ("Selokan mampet dan gorong-gorong tersumbat, banjir setiap hujan", "KOTA-18.72"),
    ("Sampah di TPS menumpuk seminggu, truk sampah tidak datang", "KOTA-18.72"),
    ("Lampu penerangan jalan umum mati semua, PJU tidak menyala", "KOTA-18.72"),
    ("Air PDAM tidak mengalir tiga hari dan keruh", "KOTA-18.72"),
    ("Listrik padam seharian, PLN tidak memberi kabar", "PLN"),
    ("Kartu BPJS Kesehatan saya tidak aktif padahal iuran rutin", "BPJS-KESEHATAN"),
    ("Klaim JHT di BPJS Ketenagakerjaan belum cair", "BPJS-KETENAGAKERJAAN"),
    ("Pelayanan puskesmas lambat, dokter jarang ada", "KOTA-18.72"),
    ("Antrean operasi di RSUP sangat lama", "KEMENKES"),
    ("KTP elektronik belum dicetak, blangko habis di Disdukcapil", "KOTA-18.72"),
    ("NIK saya ganda dengan orang lain", "KEMENDAGRI-DUKCAPIL"),
    ("SD negeri memungut uang pembangunan padahal ada dana BOS", "KOTA-18.72"),
    ("SMA negeri menahan ijazah karena uang komite", "PROV-18"),
    ("Dana PIP anak saya tidak cair", "KEMENDIKDASMEN"),
    ("UKT kampus negeri naik dua kali lipat", "KEMENDIKTISAINTEK"),
    ("Petugas KUA meminta biaya nikah di luar tarif", "KEMENAG"),
    ("Bantuan PKH kami tidak cair dan nama dicoret dari DTKS", "KEMENSOS"),
    ("Kepala desa memotong BLT dana desa", "KOTA-18.72"),
    ("Sertifikat tanah PTSL belum dibagikan BPN", "KEMENATR"),
    ("Pengajuan PBG di DPMPTSP sudah lima bulan belum terbit", "KOTA-18.72"),
    ("Pedagang kaki lima dan parkir liar memenuhi trotoar", "KOTA-18.72"),
    ("Angkot ngetem sembarangan dan lampu lalu lintas mati", "KOTA-18.72"),
    ("KRL terlambat dan stasiun penuh sesak", "KEMENHUB"),
    ("Membuat SKCK di polres dimintai uang", "POLRI"),
    ("Samsat meminta biaya tambahan saat bayar pajak kendaraan", "PROV-18"),
    ("EFIN tidak terkirim sehingga tidak bisa lapor SPT", "KEMENKEU-DJP"),
    ("Tagihan PBB naik tiga kali lipat", "KOTA-18.72"),
    ("Paket dari luar negeri ditahan bea cukai", "KEMENKEU-DJBC"),
    ("Antrean paspor di kantor imigrasi selalu penuh", "KEMENIMIPAS"),
    ("NIP PPPK saya belum terbit dari BKN", "BKN"),
    ("Perusahaan tidak membayar THR dan upah di bawah UMK", "KEMNAKER"),
    ("Kosmetik tanpa izin edar BPOM dijual bebas", "BPOM"),
    ("Longsor menutup jalan desa, BPBD belum datang", "KOTA-18.72"),
    ("Limbah pabrik mencemari sungai, ikan mati", "KOTA-18.72"),
    ("Pupuk subsidi langka di kios, kartu tani tidak bisa dipakai", "KEMENTAN"),
    ("Harga Minyakita di atas harga eceran tertinggi", "KEMENDAG"),
    ("Gas melon 3 kg langka di pangkalan", "KEMENESDM"),
    ("Desa kami blank spot, tidak ada sinyal sama sekali", "KEMENKOMDIGI"),
    ("Program bedah rumah tidak layak huni tidak tepat sasaran", "KOTA-18.72"),
    ("Toilet umum di objek wisata kotor dan rusak", "KOTA-18.72"),
    ("Jalan nasional lintas timur berlubang besar", "KEMENPU-BINAMARGA"),
    ("Tanggul bendungan rembes, BBWS belum memperbaiki", "KEMENPU-SDA"),
    ("Banyak perkawinan anak di desa kami, mohon DP3A turun tangan", "KOTA-18.72"),
]


@pytest.mark.parametrize("body, agency", CATEGORY_CASES)
def test_each_category_suggests_its_agency(engine, body, agency):
    record = assess(engine, body, region_code="18.72")
    assert record["suggested_agency"] == agency
    assert record["candidates"][0]["agency"] == agency and len(record["candidates"]) <= 3


def test_every_category_of_the_taxonomy_is_covered_above(engine):
    covered = {assess(engine, body, region_code="18.72")["category"] for body, _ in CATEGORY_CASES}
    assert covered == {category.name for category in engine.taxonomy.categories}


def test_local_matters_in_jakarta_go_to_the_province(engine):
    record = assess(engine, "Sampah di kali menumpuk", region_code="31.73")
    assert record["suggested_agency"] == "PROV-31"


def test_a_local_matter_without_a_region_is_not_routed(engine):
    record = assess(engine, "Lampu jalan di depan rumah saya mati sudah sebulan")
    assert (record["suggested_agency"], record["confidence"], record["auto_dispose"]) == (None, 0.0, False)
    assert record["category"] == "street_lights"


def test_a_local_matter_with_only_a_province_is_not_routed_to_the_province(engine):
    assert assess(engine, "Sampah menumpuk di pasar", region_code="33")["suggested_agency"] is None


def test_the_reporters_category_adds_evidence(engine):
    plain = assess(engine, "Sudah lama tidak diperbaiki", region_code="18.72")
    with_category = assess(engine, "Sudah lama tidak diperbaiki", region_code="18.72", category="jalan-rusak")
    assert plain["suggested_agency"] is None and with_category["category"] == "roads"


def test_informal_sms_spelling_is_understood(engine):
    record = assess(engine, "jln rsk bgt bnyk lubang2, tlg diperbaiki", region_hint="34.02")
    assert (record["suggested_agency"], record["category"]) == ("KAB-34.02", "roads")


# --- the rule and the record ------------------------------------------------------------------------------------

def test_a_confident_road_complaint_in_kota_metro_is_auto_disposed(engine):
    record = assess(engine, "Jalan berlubang besar di depan pasar", region_hint="18.72")
    assert (record["auto_dispose"], record["dispose_to"], record["outcome"]) == (True, "KOTA-18.72", "confident")
    assert record["confidence"] >= TriageSettings().threshold


def test_the_threshold_decides(engine):
    strict = assess(engine, "Jalan berlubang besar di depan pasar", region_hint="18.72",
                    settings=TriageSettings(threshold=0.99))
    assert (strict["auto_dispose"], strict["outcome"]) == (False, "low_confidence")
    assert strict["suggested_agency"] == "KOTA-18.72"  # still shown to the national admin


def test_an_out_of_scope_hint_stops_auto_disposition_even_for_a_requested_agency(engine):
    record = assess(engine, "Ada politik uang saat pilkada", requested_agency=METRO)
    assert (record["auto_dispose"], record["outcome"]) == (False, "out_of_scope")


def test_a_requested_agency_is_disposed_to_with_full_confidence(engine):
    record = assess(engine, "Pohon tumbang menghalangi jalan", region_code="18.72", requested_agency=METRO)
    assert (record["auto_dispose"], record["suggested_agency"], record["confidence"]) == (True, "KOTA-18.72", 1.0)
    assert record["requested_agency"] == "KOTA-18.72" and record["region_code"] == "18.72"


def test_without_text_or_request_nothing_is_suggested(engine):
    record = engine.assess(make_event(region_code="18.72"))
    assert (record["auto_dispose"], record["suggested_agency"], record["confidence"]) == (False, None, 0.0)


def test_the_record_keeps_the_version_it_saw(engine):
    assert engine.assess(dict(make_event("Jalan rusak"), version=3))["version"] == 3


class Suggested:
    def __init__(self, agency, confidence):
        self.agency, self.confidence = agency, confidence


HINT = [{"reason": "elections", "words": ["pilkada"]}]


@pytest.mark.parametrize("requested, suggestion, hints, expected", [
    (None, Suggested("KOTA-18.72", 0.9), [], (True, "KOTA-18.72", "confident")),
    (None, Suggested("KOTA-18.72", 0.6), [], (True, "KOTA-18.72", "confident")),  # the threshold itself passes
    (None, Suggested("KOTA-18.72", 0.5), [], (False, None, "low_confidence")),
    (None, Suggested(None, 0.0), [], (False, None, "no_suggestion")),
    (None, Suggested("KOTA-18.72", 0.9), HINT, (False, None, "out_of_scope")),
    (METRO, Suggested(None, 0.0), [], (True, "KOTA-18.72", "requested_agency")),
    (METRO, Suggested("PLN", 0.9), HINT, (False, None, "out_of_scope")),
])
def test_the_auto_disposition_rule(requested, suggestion, hints, expected):
    assert decide(requested, suggestion, hints, threshold=0.6) == expected


# --- duplicates -------------------------------------------------------------------------------------------------

ORIGINAL = "Jalan berlubang besar di Jalan Pala Iringmulyo depan masjid Al Ikhlas, motor sering jatuh"
SAME_POTHOLE = "Lubang besar di jalan Pala Iringmulyo dekat masjid Al Ikhlas belum ditambal, banyak motor jatuh"
OTHER_ROAD = "Jalan rusak di Jalan Jenderal Sudirman dekat terminal, aspal mengelupas"


def open_report(engine, text, tracking_id="10000005", days_ago=1):
    return {"tracking_id": tracking_id, "text": engine.document({"body": text}).content_text,
            "at": NOW - timedelta(days=days_ago)}


def test_a_very_similar_open_report_of_the_region_is_a_duplicate(engine):
    record = assess(engine, SAME_POTHOLE, region_code="18.72", open_reports=[open_report(engine, ORIGINAL)])
    assert record["duplicate_of"] == "10000005" and record["duplicate_score"] >= TriageSettings().duplicate_similarity
    # Linked, never merged: it is routed like any other report.
    assert (record["auto_dispose"], record["dispose_to"]) == (True, "KOTA-18.72")


def test_a_report_about_another_place_of_the_same_kind_is_not_a_duplicate(engine):
    record = assess(engine, OTHER_ROAD, region_code="18.72", open_reports=[open_report(engine, ORIGINAL)])
    assert record["duplicate_of"] is None


def test_an_open_report_outside_the_window_is_not_a_duplicate(engine):
    settings = TriageSettings()
    old = open_report(engine, ORIGINAL, days_ago=settings.duplicate_window_days + 1)
    document = engine.document({"body": SAME_POTHOLE})
    assert find_duplicate(document.content, [old], engine.idf, settings, NOW) == (None, 0.0)
    assert find_duplicate(document.content, [old], engine.idf, settings._replace(duplicate_window_days=30),
                          NOW)[0] == "10000005"


def test_the_most_similar_of_several_is_chosen(engine):
    reports = [open_report(engine, OTHER_ROAD, "10000006"), open_report(engine, ORIGINAL, "10000005")]
    assert assess(engine, SAME_POTHOLE, region_code="18.72", open_reports=reports)["duplicate_of"] == "10000005"


# --- pieces -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, region, agency", [
    ("local", "18.72", "KOTA-18.72"), ("local", "18.01", "KAB-18.01"), ("local", "31.74", "PROV-31"),
    ("local", "18", None), ("local", None, None), ("province", "18.72", "PROV-18"), ("province", None, None),
    ("PLN", None, "PLN"),
])
def test_agency_for_a_target_in_a_region(engine, target, region, agency):
    found = engine.finder.gazetteer.region(region, "location") if region else None
    assert agency_for(target, found) == agency


@pytest.mark.parametrize("agency, ancestors, target", [
    (METRO, [], "local"),
    ({"code": "PROV-18", "kind": "province"}, [], "province"),
    ({"code": "PROV-31", "kind": "province"}, [], None),  # Jakarta's province holds both levels: nothing to learn
    ({"code": "KOTA-18.72-DPUPR", "kind": "unit"}, [METRO], "local"),
    ({"code": "KEMENPU-BINAMARGA", "kind": "unit"}, [{"code": "KEMENPU", "kind": "ministry"}], "KEMENPU-BINAMARGA"),
    ({"code": "PLN", "kind": "institution"}, [], "PLN"),
])
def test_the_learnable_target_of_a_disposition(agency, ancestors, target):
    assert target_of_agency(agency, ancestors) == target


def test_a_title_that_repeats_the_body_is_read_once():
    sms = {"title": "jalan rusak di…", "body": "jalan rusak di depan pasar"}
    assert report_text(sms) == "jalan rusak di depan pasar"
    assert report_text({"title": "Jalan rusak", "body": "Sudah lama"}) == "Jalan rusak . Sudah lama"


def test_stems_are_cached(engine):
    engine.normaliser.stem.cache_clear()
    engine.document({"body": "perbaikan jalan berlubang diperbaiki perbaikan"})
    info = engine.normaliser.stem.cache_info()
    assert info.misses >= 3 and info.hits >= 1


# --- the learned model ------------------------------------------------------------------------------------------

TOY = [("jalan lubang aspal rusak", "local"), ("aspal jalan lubang parah", "local"), ("lubang jalan aspal", "local"),
       ("listrik padam pln", "PLN"), ("token listrik pln gagal", "PLN"), ("listrik mati pln trafo", "PLN")]


def test_a_model_learns_targets_and_survives_its_bytes():
    model = learned.train([(text, target, 1.0) for text, target in TOY])
    assert sorted(model.classes) == ["PLN", "local"]
    copy = learned.loads(learned.dumps(model), version=4)
    probabilities = copy.probabilities("listrik pln padam lagi")
    assert copy.version == 4 and max(probabilities, key=probabilities.get) == "PLN"
    assert abs(sum(probabilities.values()) - 1.0) < 1e-9
    assert copy.probabilities("   ") == {}


def test_a_model_needs_two_targets():
    with pytest.raises(learned.NotEnoughExamples):
        learned.train([(text, "local", 1.0) for text, _ in TOY])


def test_dispositions_join_the_corpus_and_weigh_more(engine):
    corpus = [("jalan lubang", "local", 1.0)]
    examples = learned.training_set(engine, [{"text": "minyakita oplos", "target": "KEMENDAG"}], corpus=corpus)
    assert examples == [("jalan lubang", "local", 1.0), ("minyakita oplos", "KEMENDAG", learned.DISPOSITION_WEIGHT)]


def test_the_bundled_corpus_trains_a_model_that_helps_triage(engine):
    model = learned.train(learned.corpus_examples(engine))
    assert 0 < model.temperature <= 1 and len(model.classes) >= 20
    record = assess(engine, "Jalan berlubang besar di depan pasar", region_hint="18.72", model=model)
    assert record["suggested_agency"] == "KOTA-18.72" and record["confidence"] >= TriageSettings().threshold


class ModelStore:
    """Routing's store as far as the triage dependency asks it about the model."""

    def __init__(self, blob, sklearn_version=learned.SKLEARN_VERSION):
        self.document = {"version": 2, "trained_at": NOW, "examples": 6, "sklearn_version": sklearn_version,
                         "blob": blob}
        self.loads = 0

    def model_version(self):
        return {key: value for key, value in self.document.items() if key != "blob"}

    def model(self):
        self.loads += 1
        return self.document


def test_the_stored_model_is_loaded_once_per_version():
    blob = learned.dumps(learned.train([(text, target, 1.0) for text, target in TOY]))
    api, store = TriageApi(SimpleNamespace(engine=None, model=None, corpus=None, holder="unit")), ModelStore(blob)
    assert api.current_model(store).version == 2 and api.current_model(store).version == 2
    assert store.loads == 1


def test_a_model_made_by_another_scikit_learn_is_not_used():
    blob = learned.dumps(learned.train([(text, target, 1.0) for text, target in TOY]))
    api = TriageApi(SimpleNamespace(engine=None, model=None, corpus=None, holder="unit"))
    assert api.current_model(ModelStore(blob, sklearn_version="0.0")) is None
