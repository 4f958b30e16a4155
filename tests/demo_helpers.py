"""Helpers shared by the tests that run the Hive-Mind on a demo home."""

from __future__ import annotations

from pathlib import Path


def load_sample_visits(home: Path) -> None:
    """The sample's RB2B visits into the inbox, as the receiver would have stored them."""
    from revops_assets.receiver.models import InvalidVisit, parse_visit
    from revops_assets.resources.inbox import VisitInbox

    with VisitInbox(home / "inbox.sqlite") as box:
        for line in (home / "sample" / "rb2b" / "visits.jsonl").read_text().splitlines():
            raw = line.encode()
            try:
                box.append(parse_visit(raw), raw)
            except InvalidVisit as exc:
                box.quarantine(raw, exc.reason)
