"""The settings as a Dagster resource, and where each service lives (real, overridden, or emulated)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from revops_assets.settings import Settings


class RevOpsConfig(dg.ConfigurableResource):
    """Paths and modes decided once by :func:`revops_assets.settings.load_settings`, handed to assets."""

    mode: str = "demo"
    home: str
    project_dir: str
    directives_dir: str
    content_dir: str
    sql_dir: str
    timezone: str = "UTC"
    outbound_mode: str = "dry_run"
    crm_writeback: bool = False
    intent_method: str = "rules"
    # Signs unsubscribe links (a secret in live: dagster.EnvVar("REVOPS_UNSUBSCRIBE_SECRET")).
    unsubscribe_secret: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "RevOpsConfig":
        secret = "demo-unsubscribe-secret" if settings.is_demo else dg.EnvVar("REVOPS_UNSUBSCRIBE_SECRET")
        return cls(
            mode=settings.mode,
            home=str(settings.home),
            project_dir=str(settings.project_dir),
            directives_dir=str(settings.directives_dir),
            content_dir=str(settings.content_dir),
            sql_dir=str(settings.sql_dir),
            timezone=settings.timezone,
            outbound_mode=settings.outbound_mode,
            crm_writeback=settings.crm_writeback,
            intent_method=settings.intent_method,
            unsubscribe_secret=secret,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            mode=self.mode,  # type: ignore[arg-type]
            home=Path(self.home),
            project_dir=Path(self.project_dir),
            directives_dir=Path(self.directives_dir),
            content_dir=Path(self.content_dir),
            sql_dir=Path(self.sql_dir),
            timezone=self.timezone,
            outbound_mode=self.outbound_mode,  # type: ignore[arg-type]
            crm_writeback=self.crm_writeback,
            intent_method=self.intent_method,  # type: ignore[arg-type]
        )


def resolve_base_url(service: str, base_url: str, demo_home: str | None) -> str:
    """The URL a client should call: its configured one, or (demo) this process's emulator.

    Demo resources carry ``demo_home`` instead of a URL so that the emulator is started lazily, at
    execution time, in the process that needs it, never when definitions load.
    """
    if base_url or not demo_home:
        return base_url
    from revops_assets.emulators import ensure_emulator
    from revops_assets.settings import load_settings

    return ensure_emulator(service, load_settings({"REVOPS_HOME": demo_home}))
