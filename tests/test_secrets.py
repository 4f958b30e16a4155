"""Secrets never leak, and live mode works against any compatible server with no other change.

The whole daily cycle runs in LIVE mode (``REVOPS_ENV=live``) on the 40-account sample, with every
secret set to a recognizable canary and every base URL pointed at an emulator this test starts on
loopback. The definitions are the project's own (``load_settings()`` + ``build_resources``), so the
keys are ``dagster.EnvVar`` resolved at launch. Then every place a secret could end up is searched
for the canaries: Python logs, the run's event log, every DuckDB table, every file under the home
and DAGSTER_HOME (Chroma, SQLite, briefings, plans, compute logs) and the UI's GraphQL answers.

Also: the receiver compares its token in constant time, ``revops demo`` binds loopback, a missing
key fails at launch naming the variable, and a rejected key names the variable, never the key.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import httpx
import pytest
import requests

from dagster_server import free_port, stop_group, wait_for
from test_daily_cycle import _defs

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parent.parent
MARK = "SECRET-CANARY"  # in every canary: finds a secret even when truncated or re-cased parts survive
CANARIES = {
    "GHL_API_KEY": "sk-ghl-SECRET-CANARY-1234",
    "EXA_API_KEY": "exa-SECRET-CANARY-2345",
    "OPENAI_API_KEY": "sk-openai-SECRET-CANARY-3456",
    "SLACK_WEBHOOK_URL": "hook-SECRET-CANARY-4567",  # the secret last segment of the webhook path
    "RB2B_WEBHOOK_TOKEN": "rb2b-SECRET-CANARY-5678",
    "REVOPS_UNSUBSCRIBE_SECRET": "unsub-SECRET-CANARY-6789",
}
DAY = datetime.now(timezone.utc).date().isoformat()


def _hits(text: str) -> list[str]:
    """Each canary occurrence with some context (empty = clean)."""
    found, low = [], text.lower()
    for needle in {MARK.lower(), *(c.lower() for c in CANARIES.values())}:
        start = low.find(needle)
        if start >= 0:
            found.append(text[max(0, start - 120): start + 80])
    return found


class _Records(logging.Handler):
    """Every log record of the process, formatted. While the test itself posts visits its own HTTP
    client (httpx, by design) logs the URL it calls, token included: those records are not the product's."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.test_client_active = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.test_client_active and record.name.startswith(("httpx", "httpcore")):
            return
        try:
            error = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
            self.lines.append(f"{record.name} {record.levelname} {record.getMessage()} {error}")
        except Exception as exc:  # noqa: BLE001 -- a record that cannot format is itself worth seeing
            self.lines.append(f"{record.name} unformattable: {exc!r} {record.msg!r} {record.args!r}")


def _live_env(home: Path, dagster_home: Path, urls: dict[str, str]) -> dict[str, str]:
    from revops_assets.sample import DEMO_LOCATION_ID

    return {
        "REVOPS_ENV": "live", "REVOPS_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
        "REVOPS_OUTBOUND_MODE": "live", "REVOPS_CRM_WRITEBACK": "live",
        "GHL_API_KEY": CANARIES["GHL_API_KEY"], "GHL_LOCATION_ID": DEMO_LOCATION_ID, "GHL_BASE_URL": urls["ghl"],
        "EXA_API_KEY": CANARIES["EXA_API_KEY"], "EXA_BASE_URL": urls["exa"],
        "OPENAI_API_KEY": CANARIES["OPENAI_API_KEY"], "OPENAI_BASE_URL": urls["openai"] + "/v1",
        "SLACK_WEBHOOK_URL": f"{urls['slack']}/services/TCANARY01/BCANARY01/{CANARIES['SLACK_WEBHOOK_URL']}",
        "RB2B_WEBHOOK_TOKEN": CANARIES["RB2B_WEBHOOK_TOKEN"],
        "REVOPS_UNSUBSCRIBE_SECRET": CANARIES["REVOPS_UNSUBSCRIBE_SECRET"],
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
    }


def _post_visits(home: Path, token: str) -> dict[str, int]:
    """The sample's RB2B bodies through the real receiver, token in the query string as RB2B sends it."""
    from revops_assets.emulators._server import EmulatorServer
    from revops_assets.receiver.app import WEBHOOK_PATH, build_app
    from revops_assets.settings import load_settings

    server = EmulatorServer(build_app(load_settings().inbox_path, token)).start()
    counts: dict[str, int] = {}
    try:
        with httpx.Client(timeout=10) as client:
            for line in (home / "sample" / "rb2b" / "visits.jsonl").read_text().splitlines():
                r = client.post(f"{server.url}{WEBHOOK_PATH}", params={"token": token}, content=line.encode())
                counts[r.json()["status"]] = counts.get(r.json()["status"], 0) + 1
            wrong = client.post(f"{server.url}{WEBHOOK_PATH}", params={"token": token + "x"}, content=b"{}")
            counts[f"wrong token: {wrong.status_code}"] = 1
    finally:
        server.stop()
    return counts


# ------------------------------------------------------------------------------------------- GraphQL

_MD = """fragment MD on MetadataEntry { __typename label description
  ... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr } ... on JsonMetadataEntry { jsonString }
  ... on PathMetadataEntry { path } ... on UrlMetadataEntry { url } ... on IntMetadataEntry { intRepr }
  ... on FloatMetadataEntry { floatRepr } ... on TableMetadataEntry { table { records } } }"""
QUERIES = {
    "runs": "{ runsOrError { __typename ... on Runs { results { runId status jobName runConfigYaml "
            "tags { key value } } } } }",
    "resources": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name allTopLevelResourceDetails "
                 "{ name description configuredValues { key value type } } } } } }",
    "assets": "{ assetsOrError { ... on AssetConnection { nodes { key { path } assetMaterializations(limit: 3) "
              "{ runId partition metadataEntries { ...MD } } } } } } " + _MD,
    "asset_nodes": "{ assetNodes { assetKey { path } description metadataEntries { ...MD } } } " + _MD,
}
LOGS = """query Logs($runId: ID!, $cursor: String) { logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
  __typename ... on EventConnection { cursor hasMore events { __typename
    ... on MessageEvent { message level stepKey }
    ... on MaterializationEvent { assetKey { path } metadataEntries { ...MD } }
    ... on ExecutionStepFailureEvent { error { message stack causes { message stack } } }
    ... on EngineEvent { metadataEntries { ...MD } error { message stack } } } }
  ... on PythonError { message } } } """ + _MD


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    r = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=120)
    r.raise_for_status()
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return body


def _start_webserver(env: dict[str, str], workdir: Path) -> SimpleNamespace:
    """``dagster-webserver`` on loopback, own process group, same instance and env (started early: it loads
    the code location while the cycle runs)."""
    port = free_port()
    log_path = workdir / "webserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "revops_assets.definitions",
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT, env=os.environ | env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    return SimpleNamespace(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


def _ui_answers(server: SimpleNamespace, run_ids: list[str]) -> dict[str, str]:
    """Every GraphQL answer the checks look at, as text, then the webserver stopped."""
    url = server.url
    tail = lambda: server.log_path.read_text(errors="replace")[-3000:]  # noqa: E731
    answers: dict[str, str] = {}
    try:
        wait_for("the webserver", lambda: requests.get(f"{url}/server_info", timeout=5).ok, 240, diagnostics=tail)

        def loaded():
            data = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
                                 "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
            entries = data["data"]["workspaceOrError"]["locationEntries"]
            assert all(e["locationOrLoadError"]["__typename"] != "PythonError" for e in entries), entries
            return entries and all(e["loadStatus"] == "LOADED" for e in entries)

        wait_for("the code location", loaded, 240, diagnostics=tail)
        for name, query in QUERIES.items():
            answers[name] = json.dumps(_graphql(url, query))
        for run_id in run_ids:
            cursor, pages = None, []
            while True:
                page = _graphql(url, LOGS, {"runId": run_id, "cursor": cursor})["data"]["logsForRun"]
                assert page["__typename"] == "EventConnection", page
                pages.append(json.dumps(page))
                cursor = page["cursor"]
                if not page["hasMore"]:
                    break
            answers[f"logs {run_id}"] = "\n".join(pages)
    finally:
        stop_group(server.process)
    answers["webserver output"] = server.log_path.read_text(errors="replace")
    return answers


# ------------------------------------------------------------------------------------------ the run


@pytest.fixture(scope="module")
def live(small_sample_dir, tmp_path_factory):
    """The daily cycle in live mode against loopback emulators, and every surface a secret could reach.

    Module-scoped (one cycle for all the checks below), so it builds its home like ``demo_home`` does:
    a copy of the same 40-account sample.
    """
    from revops_assets.emulators import start_emulator
    from revops_assets.settings import load_settings

    root = tmp_path_factory.mktemp("live")
    home, dagster_home = root / "hive", root / "dagster_home"
    shutil.copytree(small_sample_dir, home / "sample")
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    records = _Records()
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("REVOPS_EMULATOR_FAULTS")]:
            mp.delenv(var)
        # The emulators are this test's "compatible servers": state under the home, any key but a rejected one.
        emulator_settings = load_settings({"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"})
        servers = {name: start_emulator(name, emulator_settings) for name in ("ghl", "exa", "openai", "slack")}
        env = _live_env(home, dagster_home, {name: s.url for name, s in servers.items()})
        for key, value in env.items():
            mp.setenv(key, value)
        webserver = _start_webserver(env, root)
        try:  # whatever fails, the webserver's process group is stopped
            root_logger = logging.getLogger()
            old_level = root_logger.level
            root_logger.addHandler(records)
            root_logger.setLevel(logging.DEBUG)
            try:
                records.test_client_active = True
                visits = _post_visits(home, env["RB2B_WEBHOOK_TOKEN"])  # the receiver's own logs are kept
                records.test_client_active = False
                settings = load_settings()
                assert settings.mode == "live" and not settings.is_demo
                defs = _defs(settings)
                with dg.DagsterInstance.get() as instance:
                    result = defs.resolve_job_def("daily_cycle").execute_in_process(
                        instance=instance, partition_key=DAY, raise_on_error=False)
                    event_log = [repr(entry) for entry in instance.all_logs(result.run_id)]
                    records_for_run = instance.get_records_for_run(result.run_id, limit=100_000).records
                    event_log += [repr(record) for record in records_for_run]
                stats = {name: httpx.get(f"{s.url}/_emulator/stats").json() for name, s in servers.items()}
            finally:
                root_logger.removeHandler(records)
                root_logger.setLevel(old_level)
                for server in servers.values():
                    server.stop()
            ui = _ui_answers(webserver, [result.run_id])
        finally:
            stop_group(webserver.process)
    return SimpleNamespace(home=home, dagster_home=dagster_home, result=result, event_log=event_log,
                           logs=records.lines, stats=stats, visits=visits, ui=ui, settings=settings)


def test_live_mode_against_compatible_servers_runs_the_whole_cycle_with_no_other_change(live):
    failures = [e.step_key for e in live.result.all_events if e.is_step_failure]
    assert live.result.success, failures
    assert live.visits["accepted"] > 10 and live.visits["wrong token: 401"] == 1, live.visits
    assert all(live.stats[name]["requests"] > 0 for name in ("ghl", "exa", "openai", "slack")), live.stats
    from revops_assets.emulators._server import DocStore

    ghl = DocStore(live.home / "emulators" / "ghl.sqlite")
    sent = [m for m in ghl.all("messages") if m.get("source") == "api"]
    assert sent and ghl.count("notes") > 0  # live outbound and CRM write-back went through, key and all
    assert DocStore(live.home / "emulators" / "slack.sqlite").count("messages") > 0


def test_no_secret_in_python_logs(live):
    assert len(live.logs) > 100  # the handler really saw the run (urllib3, httpx, dagster ...)
    hits = [h for line in live.logs for h in _hits(line)]
    assert hits == [], hits[:5]


def test_no_secret_in_the_run_event_log(live):
    assert len(live.event_log) > 100
    hits = [h for entry in live.event_log for h in _hits(entry)]
    assert hits == [], hits[:5]


def test_no_secret_in_any_warehouse_table(live):
    with duckdb.connect(str(live.home / "warehouse.duckdb"), read_only=True) as db:
        tables = db.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        assert len(tables) > 20
        hits = {}
        for schema, table in tables:
            text = db.execute(f'SELECT * FROM "{schema}"."{table}"').df().to_csv()
            if _hits(text):
                hits[f"{schema}.{table}"] = _hits(text)[:2]
    assert hits == {}


def test_no_secret_in_any_file_under_the_home_or_dagster_home(live):
    files = [p for base in (live.home, live.dagster_home) for p in base.rglob("*") if p.is_file()]
    assert any("chroma" in str(p).lower() or p.suffix == ".sqlite3" for p in files), "no Chroma files searched"
    assert any(p.suffix == ".md" for p in files) and any(p.suffix == ".json" for p in files)
    hits = {}
    for path in files:
        text = path.read_bytes().decode("latin-1")  # bytes as they are: SQLite pages, Parquet, WAL files too
        if _hits(text):
            hits[str(path.relative_to(path.anchor))] = _hits(text)[:2]
    assert hits == {}


def test_no_secret_in_the_ui_graphql_answers(live):
    assert set(live.ui) >= {"runs", "resources", "assets", "asset_nodes"}
    assert any(k.startswith("logs ") for k in live.ui)
    assert live.result.run_id in live.ui["runs"]
    assert "GHL_API_KEY" in live.ui["resources"]  # the UI names the variable a key comes from ...
    hits = {name: _hits(text)[:2] for name, text in live.ui.items() if _hits(text)}
    assert hits == {}  # ... and never shows its value


# -------------------------------------------------------------------------- tokens, binding, failures


def test_receiver_compares_its_token_in_constant_time(live):
    from revops_assets.receiver import app

    source = inspect.getsource(app.build_app)
    assert "hmac.compare_digest(" in source
    assert "== expected" not in source and "expected ==" not in source and "!= expected" not in source
    assert live.visits["wrong token: 401"] == 1  # and a wrong token is refused (behaviour, over HTTP)


def test_demo_and_receiver_bind_loopback_by_default():
    from revops_assets import commands
    from revops_assets.receiver.commands import receiver

    demo_source = inspect.getsource(commands.demo.callback)
    assert '"dev", "-m", "revops_assets.definitions", "-h", "127.0.0.1"' in demo_source
    assert "0.0.0.0" not in inspect.getsource(commands)
    assert next(p for p in receiver.params if p.name == "host").default == "127.0.0.1"


def _live_settings(monkeypatch, tmp_path, small_sample_dir, **overrides: str):
    from revops_assets.emulators import start_emulator
    from revops_assets.settings import load_settings

    home = tmp_path / "hive"
    shutil.copytree(small_sample_dir, home / "sample")
    for var in [v for v in os.environ if v.startswith("REVOPS_EMULATOR_FAULTS")]:
        monkeypatch.delenv(var)
    demo = load_settings({"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"})
    servers = {name: start_emulator(name, demo) for name in ("ghl", "exa", "openai", "slack")}
    (tmp_path / "dagster_home").mkdir()
    env = _live_env(home, tmp_path / "dagster_home", {name: s.url for name, s in servers.items()})
    for key, value in {**env, **overrides}.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    return load_settings(), servers


def test_missing_key_in_live_mode_fails_at_launch_naming_the_variable(monkeypatch, tmp_path, small_sample_dir):
    settings, servers = _live_settings(monkeypatch, tmp_path, small_sample_dir, EXA_API_KEY="")
    try:
        defs = _defs(settings)
        with dg.instance_for_test() as instance:
            with pytest.raises(dg.DagsterInvalidConfigError) as err:
                defs.resolve_job_def("daily_cycle").execute_in_process(instance=instance, partition_key=DAY)
            for run in instance.get_runs():  # nothing ran: refused before the first step
                starts = [r for r in instance.all_logs(run.run_id) if r.dagster_event and r.dagster_event.is_step_start]
                assert starts == []
        # Dagster's own config error (several lines, with a stack); this line of it names the variable.
        assert 'environment variable "EXA_API_KEY" which is not set' in str(err.value), str(err.value)
        assert "root:resources:exa:config:api_key" in str(err.value) and not _hits(str(err.value))
        # The operator's command says it in one line.
        doctor = subprocess.run([str(PROJECT / ".venv" / "bin" / "revops"), "doctor"], capture_output=True, text=True,
                                timeout=120, env=dict(os.environ), cwd=PROJECT)
        output = doctor.stdout + doctor.stderr
        lines = [ln for ln in output.splitlines() if "FAIL" in ln and "EXA_API_KEY is not set" in ln]
        assert doctor.returncode != 0 and len(lines) == 1 and not _hits(doctor.stdout + doctor.stderr), doctor.stdout
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize(("var", "selection", "partition"), [
    ("GHL_API_KEY", ["ghl_pipelines"], DAY),  # the CRM is required: the asset fails
    ("EXA_API_KEY", ["ghl_contacts", "enriched_accounts"], DAY),  # a rejected key fails research for all: stop
    ("OPENAI_API_KEY", ["call_transcripts"], None),  # per recording: recorded, run goes on
])
def test_rejected_key_names_the_variable_never_the_key(monkeypatch, tmp_path, small_sample_dir, var, selection,
                                                       partition):
    rejected = f"rejected-{MARK}-9999"
    settings, servers = _live_settings(monkeypatch, tmp_path, small_sample_dir, **{var: rejected})
    from revops_assets.assets import all_assets
    from revops_assets.resources.registry import build_resources

    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(all_assets(settings), selection=selection, partition_key=partition,
                                    instance=instance, resources=build_resources(settings), raise_on_error=False)
            event_log = [repr(e) for e in instance.all_logs(result.run_id)]
    finally:
        for server in servers.values():
            server.stop()
    assert result.success is (var == "OPENAI_API_KEY")
    text = "\n".join(event_log)  # failures with their causes and stacks, warnings, metadata
    assert "rejected the API key" in text and f"{var} environment variable" in text, text[-3000:]
    assert not [h for e in event_log for h in _hits(e)]
