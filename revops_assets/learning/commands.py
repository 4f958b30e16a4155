"""``revops simulate``: advance the demo world N days (thin I/O around :mod:`.simulate`).

Per simulated day: RB2B visits from accounts drawn by hidden propensity go to the running receiver
(``--receiver-url``, the full webhook URL with its token) or straight into the visit inbox; and every
outbound email the system sent after the sample history ended is answered from the hidden variant
rates (inbound replies in the GHL emulator's store; wins close the contact's open opportunity).
Answers are keyed by message id, so running it again never double-replies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _sample_examples(sample_dir: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """Past RB2B bodies by visitor domain, and our site's base URL (from their Captured URL)."""
    from revops_assets.learning.simulate import _read_jsonl

    examples: dict[str, dict[str, Any]] = {}
    site = "https://hivemind-demo.example"
    try:
        from revops_assets.receiver.models import InvalidVisit, parse_visit
    except ImportError:
        return examples, site
    for body in _read_jsonl(sample_dir / "rb2b" / "visits.jsonl"):
        try:
            visit = parse_visit(json.dumps(body).encode())
        except InvalidVisit:
            continue
        if visit.domain and visit.domain not in examples:
            examples[visit.domain] = body
            site = "/".join(visit.captured_url.split("/", 3)[:3])
    return examples, site


def _deliver_visit(body: dict[str, Any], receiver_url: str | None, inbox: Any) -> str:
    raw = json.dumps(body).encode()
    if receiver_url:
        import requests

        response = requests.post(receiver_url, data=raw, headers={"Content-Type": "application/json"}, timeout=15)
        return f"HTTP {response.status_code}"
    from revops_assets.receiver.models import InvalidVisit, parse_visit
    from revops_assets.resources.inbox import Quarantined

    try:
        result = inbox.append(parse_visit(raw), raw)
    except InvalidVisit as exc:
        return f"invalid: {exc.reason}"
    if isinstance(result, Quarantined):
        return f"quarantined: {result.reason}"
    return "duplicate" if result.duplicate else f"seq {result.seq}"


@click.command("simulate")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 365), help="Days to advance.")
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the hidden-world draws.")
@click.option("--visits-per-day", default=20, show_default=True, type=click.IntRange(0, 10_000))
@click.option("--receiver-url", default=None, help="POST visits to this running receiver webhook URL (with ?token=).")
def simulate(days: int, seed: int, visits_per_day: int, receiver_url: str | None) -> None:
    """Advance the demo world: new website visits, and replies/wins to what the system sent."""
    import pandas as pd

    from revops_assets.emulators._server import DocStore
    from revops_assets.learning.simulate import Simulator, _utc, accounts_for_visits, load_truth, replies_to, visit_body
    from revops_assets.sample import ensure_sample
    from revops_assets.settings import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc))
    if not settings.is_demo:
        raise click.ClickException("simulate writes into the demo emulators; it only runs with REVOPS_ENV=demo")
    try:
        ensure_sample(settings)
    except ImportError as exc:
        raise click.ClickException(f"no sample workspace and no generator to make one ({exc})")
    sample_dir = settings.sample_dir
    manifest = json.loads((sample_dir / "manifest.json").read_text()) if (sample_dir / "manifest.json").exists() else {}
    history_end = _utc(str(manifest.get("as_of") or "1970-01-01"))
    truth = load_truth(sample_dir)
    sim = Simulator(truth, seed=seed)
    examples, site = _sample_examples(sample_dir)
    site = str(manifest.get("website") or site)
    store = DocStore(settings.emulator_state_dir / "ghl.sqlite")
    if not store.get_meta("seeded"):  # the GHL emulator seeds its store from the sample when built
        from revops_assets.emulators.gohighlevel import build_app

        build_app(store, sample_dir)
    inbox = None
    if not receiver_url:
        from revops_assets.resources.inbox import VisitInbox

        inbox = VisitInbox(settings.inbox_path)
    contacts = {c["id"]: c for c in store.all("contacts")}
    domain_of = {cid: (c.get("website") or c.get("email", "").rpartition("@")[2] or "").replace("https://", "").replace("http://", "").strip("/")
                 for cid, c in contacts.items()}
    start = int(store.get_meta("simulate.day") or 0)
    for day in range(start + 1, start + days + 1):
        date = history_end + pd.Timedelta(days=day)
        delivered = [_deliver_visit(visit_body(domain, date + pd.Timedelta(hours=9 + i % 9), examples, site), receiver_url, inbox)
                     for i, domain in enumerate(accounts_for_visits(truth, day, visits_per_day, seed))]
        outbound = [m for m in store.all("messages") if m.get("direction") == "outbound"
                    and _utc(m.get("dateAdded") or "1970-01-01") >= history_end]
        answered = {m["id"] for m in store.all("messages") if str(m.get("id", "")).startswith("sim-")}
        inbound, won = replies_to(outbound, sim, domain_of)
        new_replies = [(m["id"], m) for m in inbound if m["id"] not in answered]
        store.put_many("messages", new_replies)
        closed = []
        for opp in store.all("opportunities"):
            contact_id = opp.get("contactId") or (opp.get("contact") or {}).get("id")
            if contact_id in won and opp.get("status") == "open":
                opp["status"] = "won"
                opp["lastStatusChangeAt"] = opp["updatedAt"] = date.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                closed.append((opp["id"], opp))
        store.put_many("opportunities", closed)
        store.set_meta("simulate.day", str(day))
        ok = sum(1 for d in delivered if d.startswith(("seq", "HTTP 2")))
        click.echo(f"day {day} ({date.date()}): {ok}/{len(delivered)} visits delivered, "
                   f"{len(outbound)} system emails seen -> {len(new_replies)} new replies, {len(closed)} deals won")
    if inbox is not None:
        inbox.close()
