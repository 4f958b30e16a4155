"""How fast is the synthetic world? ``accounts_frame`` (which other benchmarks build on) and
``write_sample`` (which every demo and emulator start waits for).

Targets: accounts_frame(1M) < 10 s; write_sample(500) < 5 s. Best of a few repeats (the machine is
shared), each write into a fresh temp dir.

    python benchmarks/bench_sample.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revops_assets.sample.generator import accounts_frame, write_sample  # noqa: E402

AS_OF = date(2026, 3, 10)


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def time_write(accounts: int, repeats: int) -> float:
    def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            write_sample(Path(tmp) / "sample", accounts=accounts, seed=42, as_of=AS_OF)

    return best_of(repeats, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="frame up to 100k, write_sample 500 only, one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    frame_sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    write_sizes = [500] if args.quick else [500, 5_000]
    frame_target = {10_000: 0.5, 100_000: 1.5, 1_000_000: 10.0}
    write_target = {500: 5.0, 5_000: 30.0}

    rows = []
    for n in frame_sizes:
        measured = best_of(repeats, lambda n=n: accounts_frame(n, seed=42))
        rows.append({"figure": f"accounts_frame({n:,})", "target": frame_target[n], "measured": round(measured, 3),
                     "unit": "s", "ok": measured < frame_target[n]})
    for n in write_sizes:
        measured = time_write(n, repeats)
        rows.append({"figure": f"write_sample({n:,})", "target": write_target[n], "measured": round(measured, 3),
                     "unit": "s", "ok": measured < write_target[n]})

    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'target':>8}  {'measured':>9}  unit  ok")
    for r in rows:
        print(f"{r['figure']:<{width}}  {r['target']:>8}  {r['measured']:>9}  {r['unit']:<4}  {'yes' if r['ok'] else 'NO'}")
    out = Path(__file__).resolve().parent / "results" / "sample.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
