"""A real ``dagster dev`` (webserver + daemon) on a demo home, shared by the UI and GraphQL tests.

Why a subprocess and not an in-process instance: these tests prove what a user gets from
``revops demo``/``dagster dev`` - the code server loads ``revops_assets.definitions`` from the
environment, the daemon dequeues runs and drives backfills, and the webserver serves the UI.

``dagster dev`` runs its own process tree; it is started in a new session and the whole process
group is stopped at the end (SIGINT, then SIGKILL if it lingers), so nothing outlives a test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_INSTANCE_YAML = PROJECT_DIR / "deploy" / "dagster.local.yaml"
# Runs wait for these: the queue is drained by the QueuedRunCoordinator daemon, backfills by the BackfillDaemon.
REQUIRED_DAEMONS = {"QUEUED_RUN_COORDINATOR", "BACKFILL", "SENSOR", "SCHEDULER"}
STARTUP_TIMEOUT_S = 240.0  # ~30 s on an idle 2-core box; the rest is headroom for a loaded one

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0,
              diagnostics: Callable[[], str] = lambda: "") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` and diagnostics on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (requests.RequestException, ValueError, KeyError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                         f"{f' (last error: {last_error!r})' if last_error else ''}\n{diagnostics()}")


@dataclass
class DagsterServer:
    url: str
    dagster_home: Path
    log_path: Path
    process: subprocess.Popen

    def graphql(self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        """POST to /graphql; GraphQL-level errors fail the test with the server's message."""
        resp = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=timeout)
        resp.raise_for_status()
        body = resp.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "--- dagster dev log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def location_name(self) -> str:
        return self._loaded_location()

    def _loaded_location(self) -> str | None:
        data = self.graphql(
            "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus"
            " locationOrLoadError { __typename ... on PythonError { message } } } } } }", timeout=10)
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            error = entry["locationOrLoadError"]
            if error and error["__typename"] == "PythonError":
                raise AssertionError(f"code location {entry['name']} failed to load: {error['message']}")
            if entry["loadStatus"] == "LOADED" and error and error["__typename"] == "RepositoryLocation":
                return entry["name"]
        return None

    def _daemons_healthy(self) -> bool:
        data = self.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }",
                            timeout=10)
        statuses = {d["daemonType"]: d["healthy"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]}
        return all(statuses.get(name) for name in REQUIRED_DAEMONS)


def _server_info(url: str) -> bool:
    return requests.get(f"{url}/server_info", timeout=5).ok


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and its whole group: politely first, then for sure."""
    if process.poll() is None:
        for sig, grace in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    # Children (code servers, run workers) share the group; make sure none is left behind.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def running_dagster(revops_home: Path, workdir: Path, startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[DagsterServer]:
    """``dagster dev -m revops_assets.definitions`` on ``revops_home`` (demo mode), ready to use.

    Ready means: /server_info answers, the code location is LOADED, and the run-queue, backfill,
    sensor and scheduler daemons report healthy. DAGSTER_HOME is ``workdir/dagster_home`` with the
    project's local instance config (SQLite storage, pool ``duckdb`` limited to 1).
    """
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(LOCAL_INSTANCE_YAML, dagster_home / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DAGSTER_HOME": str(dagster_home), "REVOPS_HOME": str(revops_home), "REVOPS_ENV": "demo",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = workdir / "dagster_dev.log"
    dagster_bin = Path(sys.executable).parent / "dagster"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(dagster_bin), "dev", "-m", "revops_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = DagsterServer(url=url, dagster_home=dagster_home, log_path=log_path, process=process)
    try:
        started = time.monotonic()

        def alive_then(probe: Callable[[], T]) -> Callable[[], T]:
            def check() -> T:
                if process.poll() is not None:
                    raise AssertionError(f"dagster dev exited with {process.returncode}\n{server.log_tail()}")
                return probe()
            return check

        wait_for(f"{url}/server_info", alive_then(lambda: _server_info(url)), startup_timeout,
                 diagnostics=server.log_tail)
        remaining = max(30.0, startup_timeout - (time.monotonic() - started))
        wait_for("the code location to load", alive_then(server._loaded_location), remaining, diagnostics=server.log_tail)
        wait_for(f"healthy daemons {sorted(REQUIRED_DAEMONS)}", alive_then(server._daemons_healthy), remaining,
                 interval=2.0, diagnostics=server.log_tail)
        yield server
    finally:
        stop_group(process)
