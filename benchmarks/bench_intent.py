"""Intent detector quality and speed: per-type precision/recall on the labelled dev set (all, dev
split, hash-holdout split, real-world subset), on the FRESH holdout, and classify_many throughput
on 100k texts.

The dev set (tests/data/intent_devset.jsonl, including its hash "holdout" split) is what the rules
were tuned on, so its figures are optimistic. The fresh holdout (tests/data/intent_holdout_fresh.jsonl,
179 news-style headlines: 27 funding, 20 hiring, 22 leadership, 22 launch, 2 two-label, 86 hard
negatives) was written and labelled BEFORE the precision rework of 2025 and is frozen: never tune on it.
Its figures before that rework (the honest held-out ones), tp/fp/fn:
    funding            P 0.844  R 0.931  27/5/2
    hiring             P 0.909  R 0.952  20/2/1
    leadership_change  P 1.000  R 0.955  21/0/1
    product_launch     P 0.625  R 0.870  20/12/3
Caveat: its error list was printed once, before the rework. New rules were written only for dev-set
lines (tests/data/intent_devset.jsonl, "synthetic") in the categories the issue names (investors'
own funds, IPOs, valuations, acquisitions, "unveils plan/timeline/report/results", "releases
earnings/report/statement", hiring fewer, board seats); some of its lines fall in those categories,
so its after-rework figures are somewhat optimistic. Its remaining misses were left alone.

Targets: precision >= 0.9 and recall >= 0.75 per type on the real subset and on the fresh holdout;
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
FRESH = DATA / "intent_holdout_fresh.jsonl"  # frozen, written before tuning: see the docstring
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
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "devhold": [r for r in rows if devset_split(r["text"]) == "holdout"],  # hash split, seen while tuning
        "real": [r for r in rows if r["source"] == "real"],
        "fresh": fresh,  # frozen holdout written before tuning
    }
    results: list[dict] = []
    print("subsets: all/dev/devhold/real = tuned dev set (devhold = its hash holdout split); "
          "fresh = frozen holdout written before tuning (gated with real)")
    print(f"{'subset':<8} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for name, subset in subsets.items():
        for kind, m in evaluate(subset).items():
            print(f"{name:<8} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}")
            gate = name in ("real", "fresh")
            label = "fresh holdout, written before tuning" if name == "fresh" else name
            results.append({"figure": f"precision {kind} ({label}, n+={m['support']})", "target": 0.9 if gate else None,
                            "measured": round(m["precision"], 3), "unit": "", "ok": m["precision"] >= 0.9 if gate else True})
            results.append({"figure": f"recall {kind} ({label}, n+={m['support']})", "target": 0.75 if gate else None,
                            "measured": round(m["recall"], 3), "unit": "", "ok": m["recall"] >= 0.75 if gate else True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives]))
    results.append({"figure": f"hard negatives that fired anything (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})
    fresh_neg = [r for r in fresh if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in fresh_neg], [r["published"] for r in fresh_neg]))
    results.append({"figure": f"fresh-holdout negatives that fired anything (of {len(fresh_neg)})", "target": None,
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
