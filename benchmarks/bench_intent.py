"""Intent detector quality and speed: per-type precision/recall on the labelled dev set (all, dev
split, hash-holdout split, real-world subset), on the first fresh set (now used for tuning), on the
frozen v2 holdout, and classify_many throughput on 100k texts.

Three data sets, from most to least seen:
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

Targets: precision >= 0.9 and recall >= 0.75 per type on the dev set's real subset and on v2;
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
V2 = DATA / "intent_holdout_v2.jsonl"  # frozen, written before round 2 of tuning: never tune on it
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
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "devhold": [r for r in rows if devset_split(r["text"]) == "holdout"],  # hash split, seen while tuning
        "real": [r for r in rows if r["source"] == "real"],
        "fresh": fresh,  # first holdout, used for tuning in round 2
        "v2": v2,  # frozen holdout written before round 2
    }
    labels = {"fresh": "fresh set, used for tuning", "v2": "v2 holdout, written before round-2 tuning"}
    results: list[dict] = []
    print("subsets: all/dev/devhold/real = tuned dev set (devhold = its hash holdout split); "
          "fresh = first holdout, used for tuning in round 2; v2 = frozen holdout written before round 2 "
          "(gated with real)")
    print(f"{'subset':<8} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for name, subset in subsets.items():
        for kind, m in evaluate(subset).items():
            print(f"{name:<8} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}")
            gate = name in ("real", "v2")
            label = labels.get(name, name)
            results.append({"figure": f"precision {kind} ({label}, n+={m['support']})", "target": 0.9 if gate else None,
                            "measured": round(m["precision"], 3), "unit": "", "ok": m["precision"] >= 0.9 if gate else True})
            results.append({"figure": f"recall {kind} ({label}, n+={m['support']})", "target": 0.75 if gate else None,
                            "measured": round(m["recall"], 3), "unit": "", "ok": m["recall"] >= 0.75 if gate else True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives]))
    results.append({"figure": f"hard negatives that fired anything (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})
    for name, subset in (("fresh-set", fresh), ("v2-holdout", v2)):
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
