"""Does COACH's Thompson sampling earn its keep? Cumulative regret vs uniform random allocation.

3 variants with true positive-reply rates (0.04, 0.06, 0.09), N days x M sends/day, posteriors
refreshed nightly (as the reasoning_bank asset is), averaged over seeds. Also: the share of sends to
the best variant in the last week, and whether ``declare`` names the true best variant at the end
(seeded Monte Carlo, P(best) >= 0.95 and every arm >= 30 sends).

    python benchmarks/bench_learning.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revops_assets.learning import declare, run_bandit_simulation  # noqa: E402

RATES = {"A": 0.04, "B": 0.06, "C": 0.09}
BEST = max(RATES, key=RATES.get)


def final_plays(df: pd.DataFrame) -> pd.DataFrame:
    """The simulation's totals in the bank's plays shape, for ``declare``."""
    totals = df.groupby("variant")[["sends", "successes"]].sum().reset_index()
    return pd.DataFrame({"template": "t", "variant": totals["variant"], "signal": "s", "persona": "p",
                         "segment": "g", "n": totals["sends"], "successes": totals["successes"]})


def run(days: int, sends_per_day: int, seeds: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for policy in ("thompson", "uniform"):
        regrets, shares, winners = [], [], []
        for seed in range(seeds):
            df = run_bandit_simulation(RATES, days, sends_per_day, seed=seed, policy=policy)
            last_day = df["day"].max()
            regrets.append(df.loc[df["day"] == last_day, "cumulative_regret"].sum())
            week = df[df["day"] > last_day - 7]
            shares.append(week.loc[week["variant"] == BEST, "sends"].sum() / week["sends"].sum())
            winners.append(declare(final_plays(df), "t", seed=seed)["winner"])
        out[policy] = {"regret": float(np.mean(regrets)), "regret_sd": float(np.std(regrets)),
                       "best_share_last_week": float(np.mean(shares)),
                       "winner_correct": float(np.mean([w == BEST for w in winners])),
                       "winner_wrong": float(np.mean([w not in (None, BEST) for w in winners]))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="45 days, 5 seeds")
    args = parser.parse_args()
    days, per_day, seeds = (45, 50, 5) if args.quick else (60, 50, 20)
    started = time.perf_counter()
    res = run(days, per_day, seeds)
    elapsed = time.perf_counter() - started
    ts, un = res["thompson"], res["uniform"]
    ratio = ts["regret"] / un["regret"]
    figures = [
        {"figure": "cumulative regret, Thompson (expected positive replies lost)", "target": None,
         "measured": round(ts["regret"], 2), "unit": "replies", "ok": True},
        {"figure": "cumulative regret, uniform random", "target": None,
         "measured": round(un["regret"], 2), "unit": "replies", "ok": True},
        {"figure": "regret ratio thompson/uniform", "target": "< 0.5",
         "measured": round(ratio, 3), "unit": "ratio", "ok": ratio < 0.5},
        {"figure": f"share of last-week sends to best variant {BEST}, Thompson", "target": "> 0.6",
         "measured": round(ts["best_share_last_week"], 3), "unit": "share", "ok": ts["best_share_last_week"] > 0.6},
        {"figure": f"share of last-week sends to best variant {BEST}, uniform", "target": None,
         "measured": round(un["best_share_last_week"], 3), "unit": "share", "ok": True},
        {"figure": f"runs where declare() names {BEST} after the Thompson run", "target": "> 0.5",
         "measured": round(ts["winner_correct"], 3), "unit": "share of seeds", "ok": ts["winner_correct"] > 0.5},
        {"figure": "runs where declare() names a wrong winner (Thompson)", "target": "== 0",
         "measured": round(ts["winner_wrong"], 3), "unit": "share of seeds", "ok": ts["winner_wrong"] == 0},
    ]
    print(f"learning benchmark: {days} days x {per_day} sends/day, true rates {RATES}, {seeds} seeds "
          f"({elapsed:.1f}s)")
    width = max(len(f["figure"]) for f in figures)
    print(f"{'figure':<{width}}  {'measured':>9}  {'target':>7}  ok")
    for f in figures:
        print(f"{f['figure']:<{width}}  {f['measured']:>9}  {str(f['target'] or '-'):>7}  {'yes' if f['ok'] else 'NO'}")
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / "learning.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
