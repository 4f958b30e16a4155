"""``revops ask "question" [--account acme.com]``: the Digital Mind's top passages, with source and score."""

from __future__ import annotations

import textwrap

import click


@click.command()
@click.argument("question")
@click.option("--account", help="Only passages about this account (a domain, e.g. acme.com).")
@click.option("-k", "--top", "k", default=5, show_default=True, type=click.IntRange(1, 50), help="How many passages.")
@click.option("--type", "type_", type=click.Choice(["call", "email", "doc"]), help="Only this kind of content.")
def ask(question: str, account: str | None, k: int, type_: str | None) -> None:
    """Ask the Digital Mind (built by the digital_mind_index asset) a question."""
    from revops_assets.mind.index import MindNotBuilt
    from revops_assets.mind.query import ask as ask_mind
    from revops_assets.settings import ConfigError, load_settings

    try:
        passages = ask_mind(question, account=account, k=k, settings=load_settings(), type=type_)
    except (MindNotBuilt, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if not passages:
        click.echo("No passages found" + (f" for account {account}." if account else "."))
        return
    for i, p in enumerate(passages, 1):
        m = p.metadata
        facts = ", ".join(str(v) for v in (m.get("type"), m.get("account"), m.get("date"), m.get("speaker")) if v)
        click.echo(click.style(f"{i}. {p.source}", bold=True) + f"  score {p.score:.3f}  ({facts})")
        click.echo(textwrap.indent(textwrap.fill(" ".join(p.text.split()), width=100), "   "))
        click.echo()
