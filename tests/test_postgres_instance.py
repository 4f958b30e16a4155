"""The production instance (``deploy/dagster.postgres.yaml``) on a real PostgreSQL.

A fresh database per test, the connection from the ``DAGSTER_PG_*`` variables exactly as the deploy
file reads them, a real materialization of the demo's first assets, and then the proof: the run, its
materializations and the ``duckdb`` pool read back through Dagster and straight from PostgreSQL's
tables. A malformed value in the file fails with a message that names the field.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.errors import DagsterInvalidConfigError
from dagster_server import stop_group  # tests/ is on sys.path

pytestmark = pytest.mark.postgres

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
ASSETS = ["directives", "ghl_pipelines", "ghl_contacts"]


@pytest.fixture
def pg_database(require_postgres):
    """A database of its own, dropped afterwards (with any connection Dagster left open)."""
    name = f"revops_dagster_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_dagster_home(tmp_path, pg_database, monkeypatch) -> Path:
    """DAGSTER_HOME holding the deploy file unchanged; the connection comes from the environment."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    for var, value in {"HOST": PG["host"], "PORT": str(PG["port"]), "DB": pg_database, "USER": PG["user"],
                       "PASSWORD": ""}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{var}", value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _defs(settings) -> dg.Definitions:
    from revops_assets.assets import all_assets
    from revops_assets.jobs import build_jobs_and_automation
    from revops_assets.resources.registry import build_resources

    jobs, schedules, sensors = build_jobs_and_automation(settings)
    return dg.Definitions(assets=all_assets(settings), jobs=jobs, schedules=schedules, sensors=sensors,
                          resources=build_resources(settings))


def test_production_instance_stores_runs_and_materializations_in_postgres(demo_settings, pg_dagster_home, pg_database):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    day = datetime.now(timezone.utc).date().isoformat()
    keys = [dg.AssetKey(a) for a in ASSETS]
    job = _defs(demo_settings).resolve_job_def("daily_cycle")
    with dg.DagsterInstance.from_config(str(pg_dagster_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 8
        assert concurrency.run_queue_config.tag_concurrency_limits == [{"key": "dagster/backfill", "limit": 4}]
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.run_queue_config.op_concurrency_slot_buffer == 3

        result = job.execute_in_process(instance=instance, partition_key=day, asset_selection=keys,
                                        raise_on_error=False)
        failures = [e.step_key for e in result.all_events if e.is_step_failure]
        assert result.success, f"failed steps: {failures}"

    # A new instance object (what the webserver or daemon would open) reads it all back from PostgreSQL.
    with dg.DagsterInstance.from_config(str(pg_dagster_home)) as instance:
        runs = instance.get_runs()
        assert [(r.run_id, r.status) for r in runs] == [(result.run_id, dg.DagsterRunStatus.SUCCESS)]
        assert runs[0].tags["dagster/partition"] == day
        for key in keys:
            event = instance.get_latest_materialization_event(key)
            assert event is not None and event.run_id == result.run_id, key
        contacts = instance.get_latest_materialization_event(dg.AssetKey("ghl_contacts")).asset_materialization
        assert contacts.partition == day and contacts.metadata["dagster/row_count"].value > 0
        assert day in instance.get_materialized_partitions(dg.AssetKey("ghl_pipelines"))
        pools = {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}
        assert pools.get("duckdb") == 1, pools  # the steps claimed the pool: its limit lives in PostgreSQL too

    # ... and the rows are in PostgreSQL's tables, not anywhere else.
    assert not list(pg_dagster_home.glob("**/*.db")), "no SQLite storage next to dagster.yaml"
    with closing(psycopg2.connect(dbname=pg_database, **PG)) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, status FROM runs")
        assert cur.fetchall() == [(result.run_id, "SUCCESS")]
        cur.execute("SELECT asset_key, partition FROM event_logs "
                    "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'", (result.run_id,))
        stored = set(cur.fetchall())
        assert stored == {(dg.AssetKey("directives").to_string(), None),
                          (dg.AssetKey("ghl_pipelines").to_string(), day),
                          (dg.AssetKey("ghl_contacts").to_string(), day)}, stored
        cur.execute("SELECT concurrency_key, \"limit\" FROM concurrency_limits")
        assert ("duckdb", 1) in cur.fetchall()


def _write_config(home: Path, old: str, new: str) -> None:
    text = (PROJECT_DIR / "deploy" / "dagster.postgres.yaml").read_text()
    assert old in text
    (home / "dagster.yaml").write_text(text.replace(old, new))


def test_malformed_port_in_dagster_yaml_names_the_field(pg_dagster_home):
    """A literal that is not a port: Dagster rejects the file before connecting, naming the path."""
    _write_config(pg_dagster_home, "port: {env: DAGSTER_PG_PORT}", "port: fivefourthreetwo")
    with pytest.raises(DagsterInvalidConfigError) as info:
        dg.DagsterInstance.from_config(str(pg_dagster_home))
    lines = [line.strip() for line in str(info.value).splitlines()]
    assert "Errors whilst loading dagster instance config at dagster.yaml." in lines
    assert ('Error 1: Invalid scalar at path root:storage:postgres:postgres_db:port. Value "fivefourthreetwo" '
            """of type "<class 'str'>" is not valid for expected type "Int".""") in lines


def test_malformed_port_variable_names_the_field_and_the_variable(pg_dagster_home, monkeypatch):
    """The same mistake made in the environment: the message names the field and the variable,
    but (Dagster 1.13) on two lines followed by a stack trace, not one line."""
    monkeypatch.setenv("DAGSTER_PG_PORT", "54 32")
    with pytest.raises(DagsterInvalidConfigError) as info:
        dg.DagsterInstance.from_config(str(pg_dagster_home))
    lines = [line.strip() for line in str(info.value).splitlines()]
    assert "Error 1: Post processing at path root:postgres_db:port of original value {'env': 'DAGSTER_PG_PORT'} failed:" in lines
    assert ('dagster._config.errors.PostProcessingError: Value stored in env variable "DAGSTER_PG_PORT" '
            "cannot be coerced into an int.") in lines


def test_missing_variable_names_it(pg_dagster_home, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_HOST")
    with pytest.raises(DagsterInvalidConfigError, match=r'environment variable "DAGSTER_PG_HOST" which is not set'):
        dg.DagsterInstance.from_config(str(pg_dagster_home))


@pytest.mark.slow
def test_daemon_dequeues_and_runs_a_queued_run_on_postgres(demo_settings, pg_dagster_home, tmp_path):
    """The production path end to end: ``dagster job launch`` only queues (QueuedRunCoordinator);
    ``dagster-daemon run`` on the same PostgreSQL instance dequeues it and launches the run."""
    day = datetime.now(timezone.utc).date().isoformat()
    env = os.environ | {"REVOPS_HOME": str(demo_settings.home), "REVOPS_ENV": "demo", "HF_HUB_OFFLINE": "1",
                        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    workspace = str(PROJECT_DIR / "workspace.yaml")
    launch = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-w", workspace, "-j", "daily_cycle", "-o", "directives,ghl_pipelines",
         "--tags", json.dumps({"dagster/partition": day})],
        env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=180,
    )
    assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-2000:]
    with dg.DagsterInstance.from_config(str(pg_dagster_home)) as instance:
        (queued,) = instance.get_runs()
        assert queued.status == dg.DagsterRunStatus.QUEUED  # nothing runs it until the daemon does

        log = tmp_path / "daemon.log"
        with log.open("wb") as out:
            daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", workspace], env=env, cwd=PROJECT_DIR,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while (run := instance.get_run_by_id(queued.run_id)).status not in (
                dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED
            ):
                assert daemon.poll() is None, f"dagster-daemon exited ({daemon.returncode}):\n{log.read_text()[-3000:]}"
                if time.monotonic() > deadline:
                    pytest.fail(f"run still {run.status.value} after 240 s:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        finally:
            stop_group(daemon)
        assert run.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        kinds = [r.dagster_event.event_type for r in instance.all_logs(run.run_id) if r.dagster_event]
        order = [dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.RUN_START,
                 dg.DagsterEventType.RUN_SUCCESS]
        assert [k for k in kinds if k in order] == order
        assert instance.get_latest_materialization_event(dg.AssetKey("ghl_pipelines")).run_id == run.run_id
        heartbeats = instance.get_daemon_heartbeats()
        assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "BACKFILL"} <= set(heartbeats)
