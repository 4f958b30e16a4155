"""Intent detector quality and speed: per-type precision/recall on the labelled dev set (all, dev
split, hash-holdout split, real-world subset), on the first fresh set and v2 (both now used for
tuning), on the frozen v3 holdout, and classify_many throughput on 100k texts.

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

Targets: precision >= 0.9 and recall >= 0.75 per type on the dev set's real subset and on v3;
100k texts in < 10 s.
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

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEVSET = DATA / "intent_devset.jsonl"
FRESH = DATA / "intent_holdout_fresh.jsonl"  # first holdout, used for tuning in round 2: see the docstring
V2 = DATA / "intent_holdout_v2.jsonl"  # second holdout, used for tuning in round 3
V3 = DATA / "intent_holdout_v3.jsonl"  # frozen, written before round 3 of tuning: never tune on it
FILLER = [
    "Local council approves budget for new park", "Storms expected across the Midwest this weekend",
    "Opinion: why remote work is here to stay", "Stock market closes higher on tech rally",
    "Review: the best noise-cancelling headphones of the year", "City marathon draws record crowd",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k texts for throughput")
    args = parser.parse_args()
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    fresh = [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line.strip()]
    v2 = [json.loads(line) for line in V2.read_text(encoding="utf-8").splitlines() if line.strip()]
    v3 = [json.loads(line) for line in V3.read_text(encoding="utf-8").splitlines() if line.strip()]
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "devhold": [r for r in rows if devset_split(r["text"]) == "holdout"],  # hash split, seen while tuning
        "real": [r for r in rows if r["source"] == "real"],
        "fresh": fresh,  # first holdout, used for tuning in round 2
        "v2": v2,  # second holdout, used for tuning in round 3
        "v3": v3,  # frozen holdout written before round 3
    }
    labels = {"fresh": "fresh set, used for tuning", "v2": "v2 set, used for tuning in round 3",
              "v3": "v3 holdout, written before round-3 tuning"}
    results: list[dict] = []
    print("subsets: all/dev/devhold/real = tuned dev set (devhold = its hash holdout split); "
          "fresh = first holdout, used for tuning in round 2; v2 = second holdout, used for tuning in round 3; "
          "v3 = frozen holdout written before round 3 (gated with real)")
    print(f"{'subset':<8} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for name, subset in subsets.items():
        for kind, m in evaluate(subset).items():
            print(f"{name:<8} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}")
            gate = name in ("real", "v3")
            label = labels.get(name, name)
            results.append({"figure": f"precision {kind} ({label}, n+={m['support']})", "target": 0.9 if gate else None,
                            "measured": round(m["precision"], 3), "unit": "", "ok": m["precision"] >= 0.9 if gate else True})
            results.append({"figure": f"recall {kind} ({label}, n+={m['support']})", "target": 0.75 if gate else None,
                            "measured": round(m["recall"], 3), "unit": "", "ok": m["recall"] >= 0.75 if gate else True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives]))
    results.append({"figure": f"hard negatives that fired anything (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})
    for name, subset in (("fresh-set", fresh), ("v2-set", v2), ("v3-holdout", v3)):
        neg = [r for r in subset if not r["labels"]]
        fired = sum(bool(s) for s in classify_many([r["text"] for r in neg], [r["published"] for r in neg]))
        results.append({"figure": f"{name} negatives that fired anything (of {len(neg)})", "target": None,
                        "measured": fired, "unit": "texts", "ok": True})

    n = 20_000 if args.quick else 100_000
    rng = random.Random(0)
    texts = [(rng.choice(rows)["text"] if i % 2 else rng.choice(FILLER)) + f" ({i})" for i in range(n)]
    best = float("inf")
    for _ in range(1 if args.quick else 3):
        t = time.perf_counter()
        classify_many(texts)
        best = min(best, time.perf_counter() - t)
    target = 10.0 * n / 100_000
    results.append({"figure": f"classify_many {n:,} texts", "target": round(target, 1), "measured": round(best, 2), "unit": "s", "ok": best < target})
    results.append({"figure": "  throughput", "target": None, "measured": round(n / best), "unit": "texts/s", "ok": True})
    print()
    shown = [r for r in results if "(" not in r["figure"] or not r["ok"] or "negatives" in r["figure"]]
    width = max(len(r["figure"]) for r in shown)
    for r in shown:
        print(f"{r['figure']:<{width}}  target {r['target']!s:>6}  measured {r['measured']!s:>8} {r['unit']}  {'' if r['ok'] else 'MISSED'}")
    out = Path(__file__).resolve().parent / "results" / "intent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    assert set(TYPES) == {"funding", "hiring", "leadership_change", "product_launch"}


if __name__ == "__main__":
    main()
