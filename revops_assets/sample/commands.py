"""``revops sample``: (re)generate the synthetic workspace the demo and the benchmarks run on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

STEPS = ["accounts", "contacts", "opportunities", "website visits", "email history", "calendars", "web corpus", "writing files"]


@click.command("sample")
@click.option("--accounts", default=500, show_default=True, type=click.IntRange(min=0), help="Number of accounts.")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed; same inputs give identical files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: <REVOPS_HOME>/sample).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the history ends (default: today, UTC).")
@click.option("--force", is_flag=True, help="Regenerate even if the directory already holds this exact sample.")
def sample(accounts: int, seed: int, out_dir: Path | None, as_of, force: bool) -> None:
    """Generate the deterministic synthetic B2B workspace (GHL, Exa, RB2B files and hidden truth)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from revops_assets.sample.generator import write_sample
    from revops_assets.settings import ConfigError, load_settings

    if out_dir is None:
        try:
            out_dir = load_settings().sample_dir
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    day: date | None = as_of.date() if as_of else None
    if not force and _is_current(out_dir, accounts, seed, day):
        click.echo(f"sample: {out_dir} already holds this sample (use --force to rewrite it)")
        return
    with Progress(TextColumn("{task.description:<16}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("starting", total=len(STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=STEPS.index(name) if name in STEPS else 0)

        try:
            manifest = write_sample(out_dir, accounts=accounts, seed=seed, as_of=day, force=force, progress=step)
        except FileExistsError as exc:
            raise click.ClickException(str(exc)) from None
        bar.update(task, completed=len(STEPS))
    click.echo(f"sample: {manifest['accounts']} accounts, seed {manifest['seed']}, as of {manifest['as_of']} -> {out_dir}")


def _is_current(out_dir: Path, accounts: int, seed: int, day: date | None) -> bool:
    import json
    from datetime import datetime, timezone

    from revops_assets.sample.generator import expected_manifest

    try:
        current = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return current == expected_manifest(accounts, seed, day or datetime.now(timezone.utc).date())
