"""``revops receiver``: run the RB2B webhook receiver under uvicorn, writing to ``Settings.inbox_path``."""

from __future__ import annotations

import os

import click

TOKEN_VAR = "RB2B_WEBHOOK_TOKEN"
DEMO_TOKEN = "demo-token"


@click.command("receiver")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind. Loopback by default: put a TLS proxy or tunnel in front for RB2B.")
@click.option("--port", default=8787, show_default=True, type=int)
def receiver(host: str, port: int) -> None:
    """Receive RB2B visits on POST /webhooks/rb2b?token=... and keep them in the inbox."""
    from revops_assets.settings import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    token = os.environ.get(TOKEN_VAR, "").strip()
    if not token:
        if not settings.is_demo:
            raise click.ClickException(f"{TOKEN_VAR} is not set: the receiver needs it in live mode "
                                       "(RB2B sends it as ?token=... in the webhook URL)")
        token = DEMO_TOKEN
        click.echo(f"warning: {TOKEN_VAR} is not set; demo mode uses the public token '{DEMO_TOKEN}'", err=True)

    import uvicorn

    from revops_assets.receiver.app import WEBHOOK_PATH, build_app

    app = build_app(settings.inbox_path, token)
    click.echo(f"RB2B receiver: POST http://{host}:{port}{WEBHOOK_PATH}?token=<{TOKEN_VAR}>  "
               f"inbox={settings.inbox_path}", err=True)
    # access_log=False: uvicorn's access log prints the query string, i.e. the secret.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", proxy_headers=False)
