"""At-most-once side effects that have no outbox of their own (Slack alerts and briefings).

A key is claimed in SQLite before the effect and marked done after it. A claimed key is not
attempted again: if a process dies between the post and ``done``, the alert may be missing but is
never duplicated (Slack webhooks offer no way to ask what was delivered). A post that Slack refused
(an error answer after the client's retries) was not delivered, so its claim is released for the
next run.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path


class SideEffectLedger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, "
                "detail TEXT, claimed_at TEXT NOT NULL, done_at TEXT)"
            )

    @classmethod
    def for_home(cls, home: str | Path) -> "SideEffectLedger":
        return cls(Path(home) / "side_effects.sqlite")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def claim(self, key: str, kind: str) -> bool:
        """True only for the first caller ever to claim ``key``."""
        now = datetime.now(timezone.utc).isoformat()
        with closing(self._connect()) as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO effects (key, kind, state, claimed_at) VALUES (?, ?, 'claimed', ?)", (key, kind, now)
            )
            return cur.rowcount == 1

    def done(self, key: str, detail: str = "") -> None:
        now = datetime.now(timezone.utc).isoformat()
        with closing(self._connect()) as db:
            db.execute("UPDATE effects SET state = 'done', detail = ?, done_at = ? WHERE key = ?", (detail, now, key))

    def release(self, key: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM effects WHERE key = ? AND state = 'claimed'", (key,))

    def state(self, key: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT state FROM effects WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def count(self, kind: str | None = None) -> int:
        with closing(self._connect()) as db:
            if kind:
                return db.execute("SELECT COUNT(*) FROM effects WHERE kind = ?", (kind,)).fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM effects").fetchone()[0]


def post_once(slack, ledger: SideEffectLedger, key: str, text: str, log=None) -> str:
    """Post to Slack at most once per key; returns 'posted', 'dry_run', 'already' or 'failed: ...'."""
    if not ledger.claim(key, "slack"):
        return "already"
    try:
        result = slack.post(text)
    except Exception as exc:  # refused after retries: not delivered, so the next run may try again
        ledger.release(key)
        if log:
            log.warning(f"slack post {key} failed: {type(exc).__name__}")
        return f"failed: {type(exc).__name__}"
    status = "dry_run" if getattr(result, "dry_run", False) else "posted"
    ledger.done(key, status)
    return status
