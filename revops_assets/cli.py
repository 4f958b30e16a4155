"""The ``revops`` command line. Sub-commands live beside the code they drive and load lazily,
so ``revops --help`` stays fast and no heavy library is imported before it is needed."""

from __future__ import annotations

import importlib
import sys

import click

# name -> "module:attribute" of a click command
COMMANDS = {
    "sample": "revops_assets.sample.commands:sample",
    "demo": "revops_assets.commands:demo",
    "doctor": "revops_assets.commands:doctor",
    "emulators": "revops_assets.commands:emulators",
    "receiver": "revops_assets.receiver.commands:receiver",
    "intent": "revops_assets.scoring.commands:intent",
    "ask": "revops_assets.mind.commands:ask",
    "simulate": "revops_assets.learning.commands:simulate",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise click.ClickException(f"'revops {cmd_name}' is not available in this build ({exc.name})")
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup)
def main() -> None:
    """RevOps Hive-Mind: QUEEN, SCOUT, OPERATOR, COACH and PIPER on Dagster."""


def run() -> None:  # pragma: no cover - console entry
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
