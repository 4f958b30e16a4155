"""The outbox: every outbound email as one durable row whose state only moves forward.

SQLite in WAL mode at ``<home>/outbox.sqlite``, one short connection per call, so Dagster's
multiprocess executor, the CLI and tests can share it. Each transition is a single conditional
UPDATE (``... WHERE key = ? AND state IN (...)``), so when two processes race only one wins.

States::

    pending -> suppressed | capped | awaiting_approval | approved | dry_run | sending
    awaiting_approval -> approved            (a human, recorded with who and when)
    approved | pending -> sending -> sent | failed
    capped | dry_run -> sending               (re-eligible: next day, or once the mode allows sending)

``sending`` is the dangerous one: the provider may or may not have the message. It is never sent
again blindly; ``dispatch.reconcile`` looks for the message in the CRM first.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

STATES = ("pending", "suppressed", "capped", "awaiting_approval", "approved", "sending", "sent", "failed", "dry_run")
CLAIMABLE = ("pending", "approved", "capped", "dry_run")

COLUMNS = (
    "key", "sequence_id", "contact_id", "email", "sender_email", "step", "template_id", "template_version",
    "variant", "subject", "html", "text", "send_on", "personalization", "priority",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    sequence_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    email TEXT,
    sender_email TEXT NOT NULL DEFAULT '',
    step INTEGER NOT NULL,
    template_id TEXT NOT NULL,
    template_version TEXT NOT NULL,
    variant TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    send_on TEXT NOT NULL,
    personalization TEXT NOT NULL DEFAULT '[]',
    priority TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    provider_message_id TEXT,
    error TEXT,
    approved_by TEXT,
    approved_at TEXT,
    sent_day TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sequence_id, step)
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, send_on);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sender_email, sent_day);
CREATE TABLE IF NOT EXISTS outbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    detail TEXT
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class OutboxRow:
    key: str
    sequence_id: str
    contact_id: str
    email: str | None
    sender_email: str
    step: int
    template_id: str
    template_version: str
    variant: str
    subject: str
    html: str
    text: str
    send_on: str
    personalization: str
    priority: str | None
    state: str
    reason: str | None
    attempts: int
    provider_message_id: str | None
    error: str | None
    approved_by: str | None
    approved_at: str | None
    sent_day: str | None
    created_at: str
    updated_at: str


class Outbox:
    """Durable, multi-process-safe outbox. All methods are safe to call from any process."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @classmethod
    def for_home(cls, home: str | Path) -> "Outbox":
        return cls(Path(home) / "outbox.sqlite")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=FULL")  # a row marked sent must survive a power cut
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def dispatch_lock(self, timeout: float = 60.0) -> Iterator[None]:
        """One dispatcher at a time per outbox (an OS lock: freed by the kernel if the holder dies).

        Holding it is what makes a ``sending`` row seen by the holder an orphan of a dead process.
        """
        lock_path = self.path.with_suffix(".dispatch.lock")
        with open(lock_path, "a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"another dispatcher holds {lock_path}") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # --- writes ------------------------------------------------------------------------------

    def enqueue(self, rows: Any) -> int:
        """Add messages (the ``build_sequences`` frame, or dicts); existing ones are left untouched.

        A row whose key, or whose (sequence_id, step), is already present is skipped. Returns how many
        rows were new: re-running a build or a backfill adds nothing, and a template version bump
        cannot send the same step of a sequence twice.
        """
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict("records")
        now = _now()
        added = 0
        with self._tx() as db:
            for row in rows:
                values = {c: (None if isinstance(row.get(c), float) and row.get(c) != row.get(c) else row.get(c))
                          for c in COLUMNS}  # NaN (a missing frame cell) -> NULL
                values["key"] = values["key"] or row.get("idempotency_key")
                if not values["key"]:
                    raise ValueError("outbox row without key / idempotency_key")
                values["send_on"] = str(values["send_on"])[:10]
                values["step"] = int(values["step"])
                values["sender_email"] = values["sender_email"] or ""
                if not isinstance(values["personalization"], str):
                    values["personalization"] = json.dumps(values["personalization"] or [])
                cur = db.execute(
                    f"INSERT OR IGNORE INTO outbox ({', '.join(COLUMNS)}, state, created_at, updated_at) "
                    f"VALUES ({', '.join('?' for _ in COLUMNS)}, 'pending', ?, ?)",
                    (*values.values(), now, now),
                )
                if cur.rowcount:
                    added += 1
                    self._event(db, values["key"], None, "pending", "enqueued")
        return added

    def _event(self, db: sqlite3.Connection, key: str, before: str | None, after: str, detail: str | None) -> None:
        db.execute("INSERT INTO outbox_events (key, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                   (key, _now(), before, after, detail))

    def _move(self, key: str, from_states: Iterable[str], to_state: str, detail: str | None = None,
              **fields: Any) -> bool:
        """Conditional transition; True only for the caller that actually moved the row."""
        from_states = tuple(from_states)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            row = db.execute("SELECT state FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None or row["state"] not in from_states:
                return False
            db.execute(
                f"UPDATE outbox SET state = ?, updated_at = ?{', ' + sets if sets else ''} WHERE key = ?",
                (to_state, _now(), *fields.values(), key),
            )
            self._event(db, key, row["state"], to_state, detail)
            return True

    def claim_for_send(self, key: str) -> bool:
        """Atomically move a sendable row to ``sending``; exactly one concurrent claimant gets True."""
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                f"WHERE key = ? AND state IN ({', '.join('?' for _ in CLAIMABLE)})",
                (_now(), key, *CLAIMABLE),
            )
            if cur.rowcount == 1:
                self._event(db, key, None, "sending", "claimed")
                return True
            return False

    def mark_sent(self, key: str, provider_message_id: str | None, sent_day: str | None = None) -> bool:
        day = sent_day or datetime.now(timezone.utc).date().isoformat()
        return self._move(key, ("sending",), "sent", provider_message_id,
                          provider_message_id=provider_message_id, sent_day=day, error=None)

    def mark_failed(self, key: str, error: str) -> bool:
        return self._move(key, ("sending",), "failed", error, error=error)

    def release(self, key: str, detail: str) -> bool:
        """An orphaned ``sending`` row proven absent from the CRM goes back to be sent again."""
        with self._tx() as db:
            row = db.execute("SELECT state, approved_by FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None or row["state"] != "sending":
                return False
            back = "approved" if row["approved_by"] else "pending"
            db.execute("UPDATE outbox SET state = ?, updated_at = ? WHERE key = ?", (back, _now(), key))
            self._event(db, key, "sending", back, detail)
            return True

    def mark(self, key: str, state: str, reason: str, from_states: Iterable[str] = CLAIMABLE) -> bool:
        """Park a row as suppressed / capped / awaiting_approval / dry_run, with the reason."""
        if state not in ("suppressed", "capped", "awaiting_approval", "dry_run"):
            raise ValueError(f"mark() cannot move to {state!r}")
        return self._move(key, from_states, state, reason, reason=reason)

    def approve(self, key: str, approver: str) -> bool:
        """Record a human's approval; only rows not yet sent/suppressed can be approved."""
        if not approver:
            raise ValueError("approval needs the approver's name")
        return self._move(key, ("awaiting_approval", "pending", "dry_run", "capped"), "approved",
                          f"approved by {approver}", approved_by=approver, approved_at=_now())

    # --- reads -------------------------------------------------------------------------------

    def status(self, key: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT state FROM outbox WHERE key = ?", (key,)).fetchone()
        return row["state"] if row else None

    def get(self, key: str) -> OutboxRow | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM outbox WHERE key = ?", (key,)).fetchone()
        return OutboxRow(**dict(row)) if row else None

    def rows(self, states: Iterable[str] | None = None) -> list[OutboxRow]:
        query, args = "SELECT * FROM outbox", ()
        if states is not None:
            args = tuple(states)
            query += f" WHERE state IN ({', '.join('?' for _ in args)})"
        with closing(self._connect()) as db:
            return [OutboxRow(**dict(r)) for r in db.execute(query + " ORDER BY send_on, sequence_id, step", args)]

    def sent_count(self, sender_email: str, day: str) -> int:
        """Messages sent (or possibly sent: ``sending``) from one mailbox on one day, for the cap."""
        with closing(self._connect()) as db:
            return db.execute(
                "SELECT COUNT(*) FROM outbox WHERE sender_email = ? AND "
                "((state = 'sent' AND sent_day = ?) OR state = 'sending')",
                (sender_email, day),
            ).fetchone()[0]

    def step_row(self, sequence_id: str, step: int) -> OutboxRow | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM outbox WHERE sequence_id = ? AND step = ?", (sequence_id, step)).fetchone()
        return OutboxRow(**dict(row)) if row else None

    def last_claimed_at(self, key: str) -> str | None:
        """When the row last went to ``sending``: the earliest the provider can have sent it."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT MAX(at) FROM outbox_events WHERE key = ? AND to_state = 'sending'", (key,)).fetchone()
        return row[0] if row else None

    def events(self, key: str | None = None) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            q = "SELECT * FROM outbox_events" + (" WHERE key = ?" if key else "") + " ORDER BY id"
            return [dict(r) for r in db.execute(q, (key,) if key else ())]


__all__ = ["CLAIMABLE", "COLUMNS", "Outbox", "OutboxRow", "STATES"]
