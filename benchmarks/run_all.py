"""Run every benchmark and write benchmarks/RESULTS.md: one table of every figure, and the machine.

    .venv/bin/python benchmarks/run_all.py                      # every bench_*.py, full size
    .venv/bin/python benchmarks/run_all.py --quick              # every one with --quick
    .venv/bin/python benchmarks/run_all.py --quick-for scoring,mind   # quick for some, full for the rest
    .venv/bin/python benchmarks/run_all.py --only visitor_latency     # re-run some, keep the others' results
    .venv/bin/python benchmarks/run_all.py --report-only        # rewrite RESULTS.md from what is on disk

Each ``benchmarks/bench_<topic>.py`` runs as a subprocess of the venv's Python (``HF_HUB_OFFLINE=1``) in
its own process group, with a time limit. Its figures come from the ``results/<topic>.json`` it writes;
a benchmark that crashes, times out or leaves no fresh file shows up in the table as a failed row (its
older file, if any, is not passed off as current). How each benchmark last ran (mode, exit status,
duration, load average at its start) is kept in ``results/_runs.json`` so a partial re-run with
``--only`` still produces the whole table.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
RUNS_FILE = RESULTS / "_runs.json"
REPORT = BENCH_DIR / "RESULTS.md"
COLUMNS = ("benchmark", "figure", "target", "measured", "unit", "ok")


def venv_python() -> str:
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def discover() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(BENCH_DIR.glob("bench_*.py"))}


def git_state() -> str:
    """HEAD, and whether the working tree (outside benchmarks/) differs from it: what was measured."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if not line[3:].startswith("benchmarks/")]
    return f"{commit} + uncommitted changes in {len(dirty)} file(s)" if dirty else commit


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- running ------------------------------------------------------------------------------------------

def run_one(topic: str, script: Path, quick: bool, timeout: float) -> dict:
    """Run one benchmark, echoing its output; return how it went (never raises for the benchmark's sake)."""
    supports_quick = "--quick" in script.read_text(encoding="utf-8")
    cmd = [venv_python(), str(script)] + (["--quick"] if quick and supports_quick else [])
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    result_file = RESULTS / f"{topic}.json"
    before = result_file.stat().st_mtime if result_file.exists() else None
    entry = {"mode": "quick" if quick and supports_quick else "full", "started": now_iso(),
             "load1": round(os.getloadavg()[0], 2), "commit": git_state(),
             "command": " ".join(["python", f"benchmarks/{script.name}", *cmd[2:]])}
    print(f"\n=== {topic}: {entry['command']} (1-min load {entry['load1']}) ===", flush=True)
    started = time.time()
    tail: collections.deque[str] = collections.deque(maxlen=25)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, text=True, errors="replace")

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            print(f"  {line}", end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop_group(proc)
    except KeyboardInterrupt:
        stop_group(proc)
        raise
    reader.join(timeout=10)
    entry["seconds"] = round(time.time() - started, 1)
    entry["exit"] = proc.returncode
    entry["timed_out"] = timed_out
    after = result_file.stat().st_mtime if result_file.exists() else None
    entry["fresh"] = after is not None and after != before and after >= started - 1
    entry["results_mtime"] = after
    if not entry["fresh"] or timed_out:
        entry["output_tail"] = list(tail)[-12:]
    return entry


def stop_group(proc: subprocess.Popen, grace: float = 90.0) -> None:
    """SIGTERM to the benchmark's group (it cleans up the servers it started), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# -- reporting ----------------------------------------------------------------------------------------

def machine(load_at_start: tuple[float, float, float]) -> dict[str, str]:
    def first(path: str, key: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    mem_kb = first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB" if mem_kb else "unknown"
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    python = subprocess.run([venv_python(), "-c", "import platform, dagster; print(platform.python_version(), dagster.__version__)"],
                            capture_output=True, text=True, cwd=ROOT).stdout.split()
    return {
        "CPU": first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} logical ({affinity} usable by this process)",
        "RAM": ram,
        "OS": platform.platform(),
        "Python": python[0] if python else platform.python_version(),
        "Dagster": python[1] if len(python) > 1 else "unknown",
        "commit": git_state(),
        "date of this report": now_iso(),
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load_at_start),
    }


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def collect(scripts: dict[str, Path], runs: dict[str, dict]) -> list[dict]:
    """Every figure of every benchmark, with a failed row for any benchmark that produced none."""
    topics = sorted(set(scripts) | {p.stem for p in RESULTS.glob("*.json") if not p.stem.startswith("_")})
    rows: list[dict] = []
    for topic in topics:
        entry = runs.get(topic)
        path = RESULTS / f"{topic}.json"
        label = topic if entry is None else f"{topic} ({entry['mode']})"
        if entry is not None and not entry.get("fresh"):
            why = f"timed out after {entry['seconds']:.0f} s" if entry.get("timed_out") else f"exit status {entry['exit']}"
            last = next((line for line in reversed(entry.get("output_tail") or []) if line.strip()), "")
            kind = "TIMED OUT" if entry.get("timed_out") else "CRASHED"
            rows.append({"benchmark": label, "figure": f"{kind}, no results: {last[:160] or '(no output)'}",
                         "target": "runs to the end", "measured": why, "unit": "", "ok": False})
            continue
        if not path.exists():
            rows.append({"benchmark": topic, "figure": "not run yet", "target": "-", "measured": "-", "unit": "", "ok": False})
            continue
        if entry is None:
            label = f"{topic} (not run by run_all)"
        elif entry.get("results_mtime") and path.stat().st_mtime > entry["results_mtime"] + 1:
            label = f"{topic} (re-run by hand after run_all)"
        try:
            figures = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(figures, list):
                raise ValueError("not a JSON list")
        except (OSError, ValueError) as exc:
            rows.append({"benchmark": label, "figure": "UNREADABLE results file", "target": "-",
                         "measured": type(exc).__name__, "unit": str(exc)[:120], "ok": False})
            continue
        for f in figures:
            rows.append({"benchmark": label, "figure": f.get("figure"), "target": f.get("target"),
                         "measured": f.get("measured"), "unit": f.get("unit"), "ok": f.get("ok") is True})
        if entry is not None and entry.get("exit") not in (0, None) and all(f.get("ok") is True for f in figures):
            rows.append({"benchmark": label, "figure": "exit status (all figures ok, yet the run failed)", "target": "0",
                         "measured": entry["exit"], "unit": "", "ok": False})
    return rows


def md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(rows: list[dict], runs: dict[str, dict], info: dict[str, str]) -> None:
    failing = [r for r in rows if not r["ok"]]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `benchmarks/run_all.py` (do not edit by hand). What each benchmark measures and how to",
        "run it: [README.md](README.md). A row with ok = **NO** missed its target; a benchmark that crashed or",
        "timed out appears as one failed row.",
        "",
        "## Machine",
        "",
        *[f"- **{k}:** {v}" for k, v in info.items()],
        "",
        "This is a shared machine: other work competes for the same CPUs, so latencies and throughputs are",
        "what this box gave at that moment (see each run's load average below), not the product's ceiling.",
        "",
    ]
    if failing:
        lines += ["## Not ok", ""]
        lines += [f"- **{md_escape(cell(r['benchmark']))}**: {md_escape(cell(r['figure']).strip())}: measured "
                  f"{md_escape(cell(r['measured']))} {md_escape(cell(r['unit']))}, target {md_escape(cell(r['target']))}"
                  for r in failing]
        lines += [""]
    lines += [
        f"## Figures ({len(rows)} rows, {len(failing)} not ok)",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * 2 + ["---"] * 2) + "|",
    ]
    for r in rows:
        ok = "yes" if r["ok"] else "**NO**"
        lines.append("| " + " | ".join(md_escape(cell(r[c])) for c in COLUMNS[:-1]) + f" | {ok} |")
    lines += ["", "## Runs", "", "| benchmark | mode | exit | duration | started | 1-min load at start | code | command |",
              "|---|---|---:|---:|---|---:|---|---|"]
    for topic in sorted(runs):
        e = runs[topic]
        exit_text = "timeout" if e.get("timed_out") else cell(e.get("exit"))
        lines.append(f"| {topic} | {e['mode']} | {exit_text} | {e['seconds']:.0f} s | {e['started']} | {e['load1']:.2f} | "
                     f"{e.get('commit', '?')} | `{e['command']}` |")
    crashed = {t: e for t, e in runs.items() if not e.get("fresh") or e.get("timed_out")}
    if crashed:
        lines += ["", "## Output of failed runs (last lines)", ""]
        for topic, e in sorted(crashed.items()):
            lines += [f"### {topic}", "", "```", *(e.get("output_tail") or ["(no output)"]), "```", ""]
    REPORT.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def print_table(rows: list[dict]) -> None:
    widths = {c: max(len(c), *(len(cell(r[c])) for r in rows)) for c in COLUMNS[:-1]}
    widths["figure"] = min(widths["figure"], 70)
    widths["unit"] = min(widths["unit"], 24)
    print("\n" + "  ".join(f"{c:<{widths[c]}}" for c in COLUMNS[:-1]) + "  ok")
    for r in rows:
        print("  ".join(f"{cell(r[c])[:widths[c]]:<{widths[c]}}" for c in COLUMNS[:-1]) + f"  {'yes' if r['ok'] else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--quick-for", default="", help="comma-separated topics to run with --quick")
    parser.add_argument("--only", default="", help="comma-separated topics to run (others keep their last results)")
    parser.add_argument("--skip", default="", help="comma-separated topics not to run")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark before it is stopped")
    parser.add_argument("--report-only", action="store_true", help="run nothing; rebuild RESULTS.md from results/")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    scripts = discover()
    split = lambda text: {t.strip().removeprefix("bench_").removesuffix(".py") for t in text.split(",") if t.strip()}  # noqa: E731
    only, skip, quick_for = split(args.only), split(args.skip), split(args.quick_for)
    unknown = (only | skip | quick_for) - set(scripts)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (known: {', '.join(scripts)})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict] = json.loads(RUNS_FILE.read_text()) if RUNS_FILE.exists() else {}
    runs = {topic: entry for topic, entry in runs.items() if topic in scripts}  # a removed benchmark leaves no row
    info = machine(load_at_start)

    if not args.report_only:
        selected = [t for t in scripts if (not only or t in only) and t not in skip]
        total = time.time()
        for topic in selected:
            runs[topic] = run_one(topic, scripts[topic], args.quick or topic in quick_for, args.timeout)
            RUNS_FILE.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n")  # after each: a crash keeps the rest
        print(f"\nran {len(selected)} benchmark(s) in {time.time() - total:.0f} s")

    rows = collect(scripts, runs)
    write_report(rows, runs, info)
    print_table(rows)
    failing = [r for r in rows if not r["ok"]]
    print(f"\n{len(rows)} figures, {len(failing)} not ok; wrote {REPORT.relative_to(ROOT)}")
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
