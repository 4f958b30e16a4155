"""``revops demo``, ``revops doctor`` and ``revops emulators``: the whole system on a laptop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from revops_assets.settings import ConfigError, load_settings

EMULATOR_PORTS = {"ghl": 8701, "exa": 8702, "openai": 8703, "slack": 8704}


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def dagster_home(settings) -> Path:
    """``DAGSTER_HOME`` if set, else ``<project>/.dagster_home`` seeded with the local (SQLite) config."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.project_dir / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copy(settings.project_dir / "deploy" / "dagster.local.yaml", config)
    return home


def _wait_http(url: str, timeout: float = 20.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f} s")


def replay_visits(sample_dir: Path, receiver_url: str, token: str) -> dict[str, int]:
    """POST the sample's RB2B bodies to the receiver exactly as RB2B would (the real intake path)."""
    import requests

    counts: dict[str, int] = {}
    path = sample_dir / "rb2b" / "visits.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    with requests.Session() as session, click.progressbar(lines, label="Replaying RB2B visits") as bar:
        for line in bar:
            if not line.strip():
                continue
            r = session.post(f"{receiver_url}/webhooks/rb2b", params={"token": token}, data=line.encode("utf-8"),
                             headers={"Content-Type": "application/json"}, timeout=10)
            status = r.json().get("status", str(r.status_code)) if r.ok else str(r.status_code)
            counts[status] = counts.get(status, 0) + 1
    return counts


@click.command()
@click.option("--accounts", default=500, show_default=True, help="Size of the sample workspace.")
@click.option("--seed", default=42, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="After the daily cycle, keep the Dagster UI, daemon and receiver running.")
@click.option("--port", default=3000, show_default=True, help="Dagster UI port (bound to 127.0.0.1).")
@click.option("--receiver-port", default=8787, show_default=True)
def demo(accounts: int, seed: int, serve: bool, port: int, receiver_port: int) -> None:
    """Run the whole Hive-Mind on the sample workspace: no keys, emulators, local storage."""
    settings = _settings()
    if not settings.is_demo:
        raise click.ClickException("revops demo runs in demo mode only: unset REVOPS_ENV or set it to 'demo'")
    from revops_assets.sample import ensure_sample
    from revops_assets.sample.generator import write_sample

    manifest = settings.sample_dir / "manifest.json"
    current = json.loads(manifest.read_text()) if manifest.exists() else {}
    if current.get("accounts") != accounts or current.get("seed") != seed:
        click.echo(f"Generating the sample workspace ({accounts} accounts, seed {seed}) in {settings.sample_dir}")
        write_sample(settings.sample_dir, accounts=accounts, seed=seed)
    ensure_sample(settings)
    home = dagster_home(settings)
    env = os.environ | {"DAGSTER_HOME": str(home), "REVOPS_HOME": str(settings.home)}
    token = os.environ.get("RB2B_WEBHOOK_TOKEN", "demo-token")
    bin_dir = Path(sys.executable).parent
    receiver = subprocess.Popen(
        [str(bin_dir / "revops"), "receiver", "--port", str(receiver_port)], env=env | {"RB2B_WEBHOOK_TOKEN": token},
        start_new_session=True,
    )
    try:
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        _wait_http(f"{receiver_url}/healthz")
        click.echo(f"RB2B receiver on {receiver_url}/webhooks/rb2b: {replay_visits(settings.sample_dir, receiver_url, token)}")
        partition = datetime.now(timezone.utc).date().isoformat()
        click.echo(f"Running the daily cycle for {partition} (DAGSTER_HOME={home}) ...")
        os.environ.update(DAGSTER_HOME=str(home), REVOPS_HOME=str(settings.home))
        if not run_daily_cycle(partition):
            raise click.ClickException("the daily cycle failed: see the run's logs above or in the Dagster UI")
        click.echo("Daily cycle done: every asset materialized.")
        if serve:
            click.echo(f"Dagster UI and daemon on http://127.0.0.1:{port} (Ctrl-C stops everything)")
            dev = subprocess.Popen(
                [str(bin_dir / "dagster"), "dev", "-m", "revops_assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
                env=env, start_new_session=True,
            )
            try:
                dev.wait()
            except KeyboardInterrupt:
                os.killpg(dev.pid, signal.SIGINT)
                dev.wait(timeout=30)
    finally:
        os.killpg(receiver.pid, signal.SIGTERM)
        receiver.wait(timeout=10)


def run_daily_cycle(partition: str) -> bool:
    """Run the ``daily_cycle`` job for one day on the instance in ``DAGSTER_HOME`` (visible in the UI)."""
    import dagster as dg

    from revops_assets.definitions import defs

    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_job_def("daily_cycle")
        return job.execute_in_process(instance=instance, partition_key=partition, raise_on_error=False).success


@click.command()
def doctor() -> None:
    """Which keys are set and whether each service answers (never prints a secret)."""
    settings = _settings()
    from revops_assets.resources.registry import build_resources

    click.echo(f"mode: {settings.mode}    home: {settings.home}")
    try:
        resources = build_resources(settings)
    except Exception as exc:  # configuration errors: one line
        raise click.ClickException(str(exc)) from None
    variables = ["GHL_API_KEY", "GHL_LOCATION_ID", "EXA_API_KEY", "OPENAI_API_KEY", "SLACK_WEBHOOK_URL", "RB2B_WEBHOOK_TOKEN"]
    for var in variables:
        click.echo(f"  {var:<20} {'set' if os.environ.get(var) else 'not set'}")
    failures = 0
    for name in ("ghl", "exa", "openai", "slack"):
        resource = resources[name]
        try:
            resource = _resolve_env(resource)
            detail = resource.verify() or "ok"
            click.echo(f"  {name:<8} ok    {detail if isinstance(detail, str) else ''}")
        except Exception as exc:
            failures += 1
            click.echo(f"  {name:<8} FAIL  {exc}")
    if failures:
        raise SystemExit(1)


def _resolve_env(resource):
    """Resolve ``EnvVar`` fields the way Dagster does at launch, outside a run."""
    import dagster as dg

    fields = {}
    for key, value in resource.__dict__.items():
        if isinstance(value, dg.EnvVar):
            env_value = os.environ.get(value.env_var_name)
            if not env_value:
                raise click.ClickException(f"{value.env_var_name} is not set")
            fields[key] = env_value
    return resource.model_copy(update=fields) if fields else resource


@click.command()
def emulators() -> None:
    """Serve every emulator on fixed loopback ports (for curl, or to point a live config at)."""
    from revops_assets.emulators import start_emulator

    settings = _settings()
    servers = [start_emulator(name, settings, port=port) for name, port in EMULATOR_PORTS.items()]
    for name, server in zip(EMULATOR_PORTS, servers):
        click.echo(f"{name:<8} {server.url}")
    click.echo("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for server in servers:
            server.stop()
