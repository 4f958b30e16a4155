"""Where the product runs and against what: the one place that reads ``REVOPS_ENV``.

Everything else receives a :class:`Settings` (or resources built from it) and never looks at the
environment for the mode. Paths are plain data; nothing here touches the network or reads a secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

Mode = Literal["demo", "live"]

PROJECT_DIR = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """Bad configuration, reported as one clear line (never a stack trace in the CLI)."""


@dataclass(frozen=True)
class Settings:
    mode: Mode
    home: Path  # .hive-mind: warehouse, inbox, emulator state, briefings, reasoning bank
    project_dir: Path
    directives_dir: Path
    content_dir: Path
    sql_dir: Path
    timezone: str
    # Base-URL overrides (``None`` = the real service in live, an embedded emulator in demo).
    base_urls: Mapping[str, str | None] = field(default_factory=dict)
    outbound_mode: Literal["dry_run", "approval", "live"] = "dry_run"
    # Whether the optional OpenAI key is present (its value is only ever read through dagster.EnvVar).
    has_openai_key: bool = False
    # CRM write-back: on against the demo's emulator; in live only with REVOPS_CRM_WRITEBACK=live.
    crm_writeback: bool = True
    # Intent detection: the rules alone ("rules"), or refined by a learned head ("ngram": n-grams, numpy
    # only; "hybrid": loads the embedding model, ~10 s per process). bench_intent.py has their figures.
    intent_method: Literal["hybrid", "ngram", "rules"] = "rules"

    @property
    def is_demo(self) -> bool:
        return self.mode == "demo"

    @property
    def sample_dir(self) -> Path:
        return self.home / "sample"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def inbox_path(self) -> Path:
        return self.home / "inbox.sqlite"

    @property
    def emulator_state_dir(self) -> Path:
        return self.home / "emulators"

    @property
    def knowledge_dir(self) -> Path:
        return self.home / "knowledge"


BASE_URL_VARS = {
    "ghl": "GHL_BASE_URL",
    "exa": "EXA_BASE_URL",
    "openai": "OPENAI_BASE_URL",
    "slack": "SLACK_WEBHOOK_URL",
    "google_calendar": "GOOGLE_CALENDAR_BASE_URL",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Decide demo or live, and where everything lives, from the environment. Called once per process."""
    env = os.environ if environ is None else environ
    mode = env.get("REVOPS_ENV", "demo").strip().lower() or "demo"
    if mode not in ("demo", "live"):
        raise ConfigError(f"REVOPS_ENV must be 'demo' or 'live', got {mode!r}")
    outbound = env.get("REVOPS_OUTBOUND_MODE", "dry_run").strip().lower()
    if outbound not in ("dry_run", "approval", "live"):
        raise ConfigError(f"REVOPS_OUTBOUND_MODE must be dry_run, approval or live, got {outbound!r}")
    intent_method = env.get("REVOPS_INTENT_METHOD", "rules").strip().lower() or "rules"
    if intent_method not in ("hybrid", "ngram", "rules"):
        raise ConfigError(f"REVOPS_INTENT_METHOD must be hybrid, ngram or rules, got {intent_method!r}")
    project_dir = Path(env.get("REVOPS_PROJECT_DIR", PROJECT_DIR)).resolve()
    home = Path(env.get("REVOPS_HOME", project_dir / ".hive-mind")).resolve()
    return Settings(
        mode=mode,  # type: ignore[arg-type]
        home=home,
        project_dir=project_dir,
        directives_dir=Path(env.get("REVOPS_DIRECTIVES_DIR", project_dir / "directives")).resolve(),
        content_dir=Path(env.get("REVOPS_CONTENT_DIR", project_dir / "content")).resolve(),
        sql_dir=Path(env.get("REVOPS_SQL_DIR", project_dir / "dbt_like_sql")).resolve(),
        timezone=env.get("REVOPS_TIMEZONE", "UTC"),
        base_urls={name: (env.get(var) or None) for name, var in BASE_URL_VARS.items()},
        outbound_mode=outbound,  # type: ignore[arg-type]
        has_openai_key=bool(env.get("OPENAI_API_KEY")),
        intent_method=intent_method,  # type: ignore[arg-type]
        crm_writeback=mode == "demo" or env.get("REVOPS_CRM_WRITEBACK", "dry_run").strip().lower() == "live",
    )
