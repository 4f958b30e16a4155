"""Intent detector quality and speed, rules alone (the product's default) and hybrid (rules + learned
head, opt-in with REVOPS_INTENT_METHOD=hybrid): per-type precision/recall on the labelled dev set (all, dev split, hash-holdout split,
real-world subset), on the first fresh set and v2 (both used for tuning the rules and for training
the head), on the frozen v3 and v4 holdouts; nested-CV figures recorded in the head; whether the
committed head matches a retrain; classify_many throughput (rules on 100k texts, hybrid on 3k).

Four data sets, from most to least seen:
- tests/data/intent_devset.jsonl (with its hash "holdout" split): what the rules are tuned on.
- tests/data/intent_holdout_fresh.jsonl ("fresh", 179 news headlines): written before the 2025
  precision rework as a holdout; its errors were studied and fixed in round 2, so it is now a
  DEVELOPMENT set and its figures are optimistic (reported, not gated). Its honest figures, before
  any tuning, tp/fp/fn: funding P0.844 R0.931 27/5/2, hiring P0.909 R0.952 20/2/1, leadership
  P1.000 R0.955 21/0/1, launch P0.625 R0.870 20/12/3; after round 1: launch P0.840 (21/4/2).
- tests/data/intent_holdout_v2.jsonl ("v2", 242 headlines: 31 funding, 26 hiring, 25 leadership,
  31 launch incl. 4 two-label, 133 hard negatives): written and labelled BEFORE round 2 of tuning,
  committed alone, never used to tune (only its per-type figures were looked at, never its errors).
  Its figures before round 2 (the honest held-out ones), tp/fp/fn:
      funding            P 0.964  R 0.871  27/1/4
      hiring             P 0.952  R 0.769  20/1/6
      leadership_change  P 0.958  R 0.920  23/1/2
      product_launch     P 0.591  R 0.839  26/18/5
  After round 2 only launch precision moved (0.765, 26/8/5; funding R 0.903): launch precision is
  still below target. Caveat: the same helper wrote v2 and the round-2 rules, and round 2 added
  non-product launch objects in categories v2 also covers (bids, campaigns, listings, data), so the
  after figures are less independent than the before figures.
  Round 3 then studied v2's errors and fixed them, so v2 is now a DEVELOPMENT set (reported, not
  gated); after round 3: P/R 1.000/1.000 for funding (31/0/0), hiring
  (26/0/0) and leadership (25/0/0), launch P 1.000 R 0.968 (30/0/1): fitted figures, not evidence.
- tests/data/intent_holdout_v3.jsonl ("v3", 285 headlines: 34 funding, 30 hiring, 30 leadership,
  34 launch incl. 8 two-label, 165 hard negatives): written from scratch and committed alone BEFORE
  round 3, before its author read the rules or any detector error; never tuned on (only its per-type
  figures were looked at, once before and once after round 3). Its figures, tp/fp/fn:
                         before round 3            after round 3
      funding            P 0.808  R 0.618  21/5/13    P 0.828  R 0.706  24/5/10
      hiring             P 0.846  R 0.367  11/2/19    P 0.900  R 0.600  18/2/12
      leadership_change  P 0.818  R 0.600  18/4/12    P 0.826  R 0.633  19/4/11
      product_launch     P 0.640  R 0.471  16/9/18    P 0.692  R 0.529  18/8/16
  v3 negatives that fired anything: 20 of 165 before, 19 after. Every type MISSES on v3 (only hiring
  precision reaches 0.9): round 3 fitted v2 to ~100% but moved v3 little, i.e. the rules generalise
  poorly to phrasing they were not written against; launch precision is still far below target.
  Caveats: the same helper wrote v3 and the round-3 rules, so it could not forget v3's phrasings;
  round 3 only added rules for errors seen on the dev set, the fresh set and v2 (and cases of the
  helper's own unit tests), but the after figures are still less independent than the before ones.
  The batch/gate agreement test runs over v3 too (a gate must never block); it exposed one gate bug
  on a v3 line (job "openings" were not gated), fixed as a gate bug, not as a rule.

- tests/data/intent_holdout_v4.jsonl ("v4", 318 headlines: 40 funding, 36 hiring, 35 leadership,
  37 launch incl. 8 two-label, 178 hard negatives): written from scratch and committed alone BEFORE
  the hybrid existed and before its author read the rules or ran anything on it; never tuned or
  trained on. The author of v4 also wrote the hybrid (same caveat as v3).

The hybrid (revops_assets/scoring/intent_model.py): per type, a logistic regression over the 384-d
MiniLM embedding + the rules' four per-type confidences, Platt-calibrated and thresholded for
out-of-fold precision >= 0.9, trained only on the dev set, the fresh set and v2. Rule features for the
fresh set and v2 come from the last rules version not tuned on them (their honest outputs); thresholds
and calibration use only those rows. Everything (C=4, folds, threshold rule) was fixed before v3/v4
were run; v3 and v4 were then run ONCE, aggregate figures only, no iteration afterwards. tp/fp/fn:
  nested 5-fold CV on the training rows with honest rule features (421 rows):
                         rules                     hybrid
      funding            P 0.902  R 0.917  55/6/5   P 0.887  R 0.917  55/7/5
      hiring             P 0.930  R 0.851  40/3/7   P 0.911  R 0.872  41/4/6
      leadership_change  P 0.978  R 0.936  44/1/3   P 0.939  R 0.979  46/3/1
      product_launch     P 0.697  R 0.852  46/20/8  P 0.905  R 0.704  38/4/16
  v3 (frozen):
      funding            P 0.828  R 0.706  24/5/10  P 0.828  R 0.706  24/5/10
      hiring             P 0.900  R 0.600  18/2/12  P 0.857  R 0.800  24/4/6
      leadership_change  P 0.826  R 0.633  19/4/11  P 0.800  R 0.800  24/6/6
      product_launch     P 0.692  R 0.529  18/8/16  P 0.882  R 0.441  15/2/19
      all types          tp/fp/fn 79/19/49          87/17/41
  v4 (frozen):
      funding            P 0.969  R 0.775  31/1/9   P 0.969  R 0.775  31/1/9
      hiring             P 1.000  R 0.611  22/0/14  P 0.969  R 0.861  31/1/5
      leadership_change  P 1.000  R 0.771  27/0/8   P 0.933  R 0.800  28/2/7
      product_launch     P 0.808  R 0.568  21/5/16  P 0.882  R 0.405  15/2/22
      all types          tp/fp/fn 101/6/47          105/6/43
  Reading: in aggregate the hybrid finds more (v3 +8 tp, v4 +4 tp) with no more false positives
  (v3 19 -> 17, v4 6 -> 6); hiring and leadership gain recall (+0.17 to +0.25) for a few false
  positives; launch trades recall for precision (P 0.69/0.81 -> 0.88, R 0.53/0.57 -> 0.44/0.41);
  funding is unchanged. The hybrid ships for every type (no per-type choice made after seeing v3/v4).
  Still no type passes on v3; on v4 the hybrid passes funding, hiring and leadership, launch misses.
  Throughput: rules ~28k texts/s; hybrid ~280 distinct texts/s on 2 cores (embedding-bound), plus a
  one-off model load of ~8-15 s per process.

Targets: precision >= 0.9 and recall >= 0.75 per type on the dev set's real subset (rules) and on v3
and v4 (both methods); 100k texts in < 10 s (rules only; the hybrid has no throughput target).
The throughput corpus is 50% dev-set headlines and 50% non-business filler (as a news feed is),
each made distinct with a suffix so the per-text cache cannot help.

    python benchmarks/bench_intent.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revops_assets.scoring.intent import TYPES, classify_many, devset_split, evaluate  # noqa: E402
from revops_assets.settings import load_settings  # noqa: E402
from revops_assets.scoring.intent_model import load_head, same_head, train, training_hash  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEVSET = DATA / "intent_devset.jsonl"
FRESH = DATA / "intent_holdout_fresh.jsonl"  # first holdout, used for tuning in round 2: see the docstring
V2 = DATA / "intent_holdout_v2.jsonl"  # second holdout, used for tuning in round 3
V3 = DATA / "intent_holdout_v3.jsonl"  # frozen, written before round 3 of tuning: never tune on it
V4 = DATA / "intent_holdout_v4.jsonl"  # frozen, written before the hybrid existed: never tune or train on it
FILLER = [
    "Local council approves budget for new park", "Storms expected across the Midwest this weekend",
    "Opinion: why remote work is here to stay", "Stock market closes higher on tech rally",
    "Review: the best noise-cancelling headphones of the year", "City marathon draws record crowd",
]


def _prf_line(name: str, kind: str, m: dict) -> str:
    return f"{name:<14} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k texts for rules throughput, 500 for hybrid; no retrain check")
    args = parser.parse_args()
    rows, fresh, v2, v3, v4 = (_load(p) for p in (DEVSET, FRESH, V2, V3, V4))
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "devhold": [r for r in rows if devset_split(r["text"]) == "holdout"],  # hash split, seen while tuning
        "real": [r for r in rows if r["source"] == "real"],
        "fresh": fresh,  # first holdout, used for tuning in round 2
        "v2": v2,  # second holdout, used for tuning in round 3
        "v3": v3,  # frozen holdout written before round 3
        "v4": v4,  # frozen holdout written before the hybrid existed
    }
    labels = {"fresh": "fresh set, used for tuning", "v2": "v2 set, used for tuning in round 3",
              "v3": "v3 holdout, written before round-3 tuning", "v4": "v4 holdout, written before the hybrid"}
    shipped = load_settings({}).intent_method  # what the product runs by default
    results: list[dict] = []
    print("subsets: all/dev/devhold/real = tuned dev set (devhold = its hash holdout split); fresh, v2 = used for "
          "tuning the rules and for training the hybrid head; v3, v4 = frozen holdouts (gated, with real for the rules)")
    print(f"default method (REVOPS_INTENT_METHOD unset): {shipped}")
    print(f"{'subset':<14} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for method in ("rules", "hybrid"):
        for name, subset in subsets.items():
            if method == "hybrid" and name in ("dev", "devhold", "real"):
                continue  # the hybrid's training data: "all" stands for it
            for kind, m in evaluate(subset, method=method).items():
                print(_prf_line(f"{name}/{method}", kind, m))
                gate = name in ("v3", "v4") or (name == "real" and method == "rules")
                label = labels.get(name, name) + (", hybrid (fitted: training data)" if method == "hybrid" and name not in ("v3", "v4")
                                                  else f", {method}")
                for fig, val, target in (("precision", m["precision"], 0.9), ("recall", m["recall"], 0.75)):
                    results.append({"figure": f"{fig} {kind} ({label}, n+={m['support']}, tp/fp/fn={m['tp']}/{m['fp']}/{m['fn']})",
                                    "target": target if gate else None, "measured": round(val, 3), "unit": "",
                                    "ok": val >= target if gate else True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives], method="rules"))
    results.append({"figure": f"dev hard negatives that fired anything, rules (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})
    for method in ("rules", "hybrid"):
        for name, subset in (("v3-holdout", v3), ("v4-holdout", v4)):
            neg = [r for r in subset if not r["labels"]]
            fired = sum(bool(s) for s in classify_many([r["text"] for r in neg], [r["published"] for r in neg], method=method))
            results.append({"figure": f"{name} negatives that fired anything, {method} (of {len(neg)})", "target": None,
                            "measured": fired, "unit": "texts", "ok": True})
    head = load_head()
    for name, rep in head.get("cv", {}).items():
        for kind, m in rep.items():
            results.append({"figure": f"CV {name} {kind} P/R (training sets, nested 5-fold, tp/fp/fn={m['tp']}/{m['fp']}/{m['fn']})",
                            "target": None, "measured": f"{m['precision']:.3f}/{m['recall']:.3f}", "unit": "", "ok": True})
    results.append({"figure": "head training data hash matches the current training sets", "target": True,
                    "measured": head["training_sha256"] == training_hash(), "unit": "", "ok": head["training_sha256"] == training_hash()})
    if not args.quick:
        same = same_head(head, train(with_cv=False))
        results.append({"figure": "committed head matches a retrain", "target": True, "measured": same, "unit": "", "ok": same})

    n = 20_000 if args.quick else 100_000
    rng = random.Random(0)
    texts = [(rng.choice(rows)["text"] if i % 2 else rng.choice(FILLER)) + f" ({i})" for i in range(n)]
    best = float("inf")
    for _ in range(1 if args.quick else 3):
        t = time.perf_counter()
        classify_many(texts, method="rules")
        best = min(best, time.perf_counter() - t)
    target = 10.0 * n / 100_000
    results.append({"figure": f"classify_many {n:,} texts, rules", "target": round(target, 1), "measured": round(best, 2), "unit": "s", "ok": best < target})
    results.append({"figure": "  throughput, rules", "target": None, "measured": round(n / best), "unit": "texts/s", "ok": True})
    nh = 500 if args.quick else 3_000
    classify_many(texts[:8], method="hybrid")  # model load is not throughput
    t = time.perf_counter()
    classify_many(texts[:nh], method="hybrid")
    dt = time.perf_counter() - t
    results.append({"figure": f"classify_many {nh:,} distinct texts, hybrid (model loaded)", "target": None, "measured": round(dt, 2), "unit": "s", "ok": True})
    results.append({"figure": "  throughput, hybrid", "target": None, "measured": round(nh / dt), "unit": "texts/s", "ok": True})
    print()
    shown = [r for r in results if "(" not in r["figure"] or not r["ok"] or "negatives" in r["figure"] or r["target"] is not None]
    width = max(len(r["figure"]) for r in shown)
    for r in shown:
        print(f"{r['figure']:<{width}}  target {r['target']!s:>6}  measured {r['measured']!s:>8} {r['unit']}  {'' if r['ok'] else 'MISSED'}")
    out = Path(__file__).resolve().parent / "results" / "intent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    assert set(TYPES) == {"funding", "hiring", "leadership_change", "product_launch"}


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    main()
