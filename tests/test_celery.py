"""The daily cycle's scoring chain through the Celery executor, on a real worker over Redis.

A ``dagster-celery`` worker (its own process group, the same ``DAGSTER_HOME``, code and ``PATH``)
takes every step; ``dagster job execute`` orchestrates the run of ``daily_cycle_celery`` from another
process. What must hold: the run succeeds, every step's events come from a process of the worker's
group (not the orchestrator), the worker names itself on each step, and the worker stops cleanly.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
import redis
from demo_helpers import load_sample_visits as _load_visits  # tests/ is on sys.path

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# directives → CRM and website snapshots → enrichment → intent signals → intent scores
STEPS = ["directives", "ghl_contacts", "rb2b_visitors", "enriched_accounts", "intent_signals", "intent_scores"]


def _free_redis_db() -> int:
    """An empty Redis database for this test's broker and results (emptied again afterwards): the
    queue is always named "dagster", so on a shared database a worker on the usual db 0, or this test
    running in another checkout, would take these tasks."""
    used = {int(name[2:]) for name in redis.Redis(host="127.0.0.1", port=6379).info("keyspace")}
    free = [db for db in range(2, 16) if db not in used]
    assert free, f"no empty Redis database among 2-15 (used: {sorted(used)})"
    return random.choice(free)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _group(pgid: int) -> list[str]:
    """The processes still in a process group, as "pid command" lines."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [line.strip()[:160] for line in out.splitlines() if line.strip()]


def _stop(proc: subprocess.Popen, timeout: float = 30) -> list[str]:
    """SIGTERM the group (Celery's warm shutdown), SIGKILL whatever is left after ``timeout``.
    Returns the processes that SIGTERM alone did not stop."""
    if _group(proc.pid):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc.poll() is None or _group(proc.pid):  # poll() reaps our own child, or it lingers as a zombie
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    survivors = _group(proc.pid)
    if survivors:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return survivors


def _tail(log: Path, n: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:]) if log.exists() else "(no log)"


def _wait_for_line(log: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        assert proc.poll() is None, f"worker exited ({proc.returncode}) before {needle!r}:\n{_tail(log)}"
        time.sleep(0.5)
    pytest.fail(f"no {needle!r} in the worker log within {timeout:.0f} s:\n{_tail(log)}")




def test_scoring_chain_runs_on_a_celery_worker(demo_settings, require_redis, tmp_path):
    day = datetime.now(timezone.utc).date().isoformat()
    _load_visits(demo_settings.home)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.local.yaml", dagster_home / "dagster.yaml")
    env = os.environ | {
        "DAGSTER_HOME": str(dagster_home), "REVOPS_HOME": str(demo_settings.home), "REVOPS_ENV": "demo",
        "HF_HUB_OFFLINE": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    db = _free_redis_db()
    env["DAGSTER_CELERY_BROKER_URL"] = env["DAGSTER_CELERY_BACKEND_URL"] = f"redis://127.0.0.1:6379/{db}"
    env.pop("REVOPS_EMULATOR_FAULTS", None)
    name = f"revops-test-{uuid.uuid4().hex[:8]}"
    worker_log, run_log = tmp_path / "worker.log", tmp_path / "run.log"
    started = time.monotonic()
    worker = _start([str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                     "-y", str(PROJECT_DIR / "deploy" / "celery.yaml"), "-n", name, "--loglevel", "INFO"],
                    env, worker_log)
    try:
        _wait_for_line(worker_log, f"{name}@", worker, timeout=120)
        _wait_for_line(worker_log, " ready.", worker, timeout=120)
        ready = time.monotonic()
        cli = _start([str(BIN / "dagster"), "job", "execute", "-m", "revops_assets.definitions",
                      "-j", "daily_cycle_celery", "-o", ",".join(STEPS),
                      "--tags", json.dumps({"dagster/partition": day})], env, run_log)
        try:
            cli.wait(timeout=240)
        except subprocess.TimeoutExpired:
            _stop(cli)
            pytest.fail(f"the Celery run did not finish within 240 s:\n{_tail(run_log)}\n--- worker\n{_tail(worker_log)}")
        assert cli.returncode == 0, f"dagster job execute failed:\n{_tail(run_log)}\n--- worker\n{_tail(worker_log)}"
        finished = time.monotonic()

        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            (run,) = instance.get_runs()
            assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "daily_cycle_celery"
            assert run.tags["dagster/partition"] == day
            records = [r for r in instance.all_logs(run.run_id) if r.dagster_event]
            by_type: dict[str, list] = {}
            for record in records:
                by_type.setdefault(record.dagster_event.event_type_value, []).append(record)
            (run_start,) = by_type[dg.DagsterEventType.RUN_START.value]
            assert run_start.dagster_event.pid == cli.pid  # the orchestrator is the CLI process
            step_pids = {r.step_key: r.dagster_event.pid for r in by_type["STEP_START"]}
            assert sorted(step_pids) == sorted(STEPS)
            assert cli.pid not in step_pids.values()
            # Every step ran in a process of the worker's group (its prefork pool, still alive).
            assert {key: os.getpgid(pid) for key, pid in step_pids.items()} == {key: worker.pid for key in STEPS}
            handed = {r.step_key: r.dagster_event.event_specific_data.metadata["Celery worker"].value
                      for r in by_type["ENGINE_EVENT"] if "in celery worker" in r.message}
            assert sorted(handed) == sorted(STEPS)
            assert set(handed.values()) == {f"{name}@{os.uname().nodename}"}
            assert not by_type.keys() & {"STEP_FAILURE", "STEP_UP_FOR_RETRY"}
            for key in STEPS:
                event = instance.get_latest_materialization_event(dg.AssetKey(key))
                assert event is not None and event.run_id == run.run_id, key
        assert _tail(worker_log, 10_000).count("succeeded in") >= len(STEPS)
    finally:
        survivors = _stop(worker)
        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()  # it was empty: leave it so
    assert not survivors, f"still running 30 s after SIGTERM: {survivors}"
    assert "Warm shutdown" in worker_log.read_text()
    print(f"\nworker ready in {ready - started:.0f} s; run of {len(STEPS)} steps on Celery in {finished - ready:.0f} s")
