"""Intent detector quality and speed: per-type precision/recall on the labelled dev set (all, dev
split, holdout split, real-world subset) and classify_many throughput on 100k texts.

Targets: precision >= 0.9 and recall >= 0.75 per type on the real subset; 100k texts in < 10 s.
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

DEVSET = Path(__file__).resolve().parent.parent / "tests" / "data" / "intent_devset.jsonl"
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
    subsets = {
        "all": rows,
        "dev": [r for r in rows if devset_split(r["text"]) == "dev"],
        "holdout": [r for r in rows if devset_split(r["text"]) == "holdout"],
        "real": [r for r in rows if r["source"] == "real"],
    }
    results: list[dict] = []
    print(f"{'subset':<8} {'type':<18} {'n+':>4} {'prec':>6} {'recall':>6}  tp/fp/fn")
    for name, subset in subsets.items():
        for kind, m in evaluate(subset).items():
            print(f"{name:<8} {kind:<18} {m['support']:>4} {m['precision']:>6.3f} {m['recall']:>6.3f}  {m['tp']}/{m['fp']}/{m['fn']}")
            gate = name == "real"
            results.append({"figure": f"precision {kind} ({name}, n+={m['support']})", "target": 0.9 if gate else None,
                            "measured": round(m["precision"], 3), "unit": "", "ok": m["precision"] >= 0.9 if gate else True})
            results.append({"figure": f"recall {kind} ({name}, n+={m['support']})", "target": 0.75 if gate else None,
                            "measured": round(m["recall"], 3), "unit": "", "ok": m["recall"] >= 0.75 if gate else True})
    negatives = [r for r in rows if not r["labels"]]
    fired = sum(bool(s) for s in classify_many([r["text"] for r in negatives], [r["published"] for r in negatives]))
    results.append({"figure": f"hard negatives that fired anything (of {len(negatives)})", "target": 0, "measured": fired,
                    "unit": "texts", "ok": fired == 0})

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
    width = max(len(r["figure"]) for r in results[-3:])
    for r in results[-3:]:
        print(f"{r['figure']:<{width}}  target {r['target']!s:>6}  measured {r['measured']!s:>8} {r['unit']}  {'' if r['ok'] else 'MISSED'}")
    out = Path(__file__).resolve().parent / "results" / "intent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    assert set(TYPES) == {"funding", "hiring", "leadership_change", "product_launch"}


if __name__ == "__main__":
    main()
