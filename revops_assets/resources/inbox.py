"""Durable visit inbox on SQLite: the receiver appends, Dagster sensors and assets read.

Why SQLite (not DuckDB): several processes touch it at once (the receiver writes while the sensor
daemon and asset runs read), and SQLite in WAL mode gives exactly that: one writer, many concurrent
readers, each commit atomic. DuckDB allows one read-write process per file.

Durability: ``journal_mode=WAL`` + ``synchronous=FULL``. RB2B never retries, so once the receiver has
answered 200 the visit must survive a crash *and* a power cut. With ``synchronous=NORMAL`` a WAL
commit is only fsync'd at checkpoint time: safe against a process crash, not against the OS going
away. FULL fsyncs the WAL on every commit; the receiver's throughput target is met with it anyway.

Sequence numbers: ``seq`` is ``INTEGER PRIMARY KEY AUTOINCREMENT``, so it only ever grows and is never
reused. SQLite serializes writers and assigns ``seq`` inside the write transaction, so a reader can
never see seq N+1 committed while N is still in flight: "everything after my cursor" is complete.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from revops_assets.receiver.models import Visit

__all__ = ["InboxVisit", "QuarantinedBody", "Stored", "Quarantined", "VisitInbox", "InboxResource", "error_reason"]

BUSY_TIMEOUT_MS = 5_000  # well inside RB2B's 15 s answer budget
MAX_REASON_CHARS = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    visit TEXT NOT NULL,            -- Visit as JSON (normalized)
    raw BLOB NOT NULL,              -- the body exactly as received, for replays and audits
    received_at TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    received_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class InboxVisit:
    seq: int
    visit: Visit
    received_at: datetime


@dataclass(frozen=True)
class QuarantinedBody:
    id: int
    reason: str
    raw: bytes
    received_at: datetime


class Stored(NamedTuple):
    """A visit kept in ``visits``; a duplicate carries the original's seq."""

    seq: int
    duplicate: bool


@dataclass(frozen=True)
class Quarantined:
    """A visit that could not be stored as one and was kept in ``quarantine`` instead.

    Deliberately not a tuple: ``seq, duplicate = result`` fails loudly on it instead of reading an id
    as a seq.
    """

    id: int
    reason: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def error_reason(exc: BaseException, doing: str) -> str:
    """``"<doing>: <ExceptionType>: <message>"``, bounded and always storable (no lone surrogates)."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not turn a quarantine into a crash
        message = "<message unavailable>"
    text = _storable(f"{doing}: {type(exc).__name__}: {message}")
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "\u2026"


def _storable(text: str) -> str:
    """``text`` with lone surrogates escaped: SQLite cannot bind them."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _raw_bytes(raw: object) -> bytes:
    """The body as bytes: bytes-like as is, text as UTF-8 (lone surrogates kept); TypeError otherwise."""
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    return memoryview(raw).tobytes()  # type: ignore[arg-type]  # TypeError for a non-buffer


class _Row(NamedTuple):
    """One item made ready for SQL: ``key`` and ``doc`` to store it, or ``reason`` to quarantine it."""

    raw: bytes
    key: str | None = None
    doc: str | None = None
    reason: str | None = None


def _prepare(visit: Visit, raw: object) -> _Row:
    """Each step is tried on its own so the reason says which one failed.

    A raw that is not bytes at all is kept as its ``repr``: a human can still see what arrived.
    """
    try:
        body = _raw_bytes(raw)
    except Exception as exc:  # noqa: BLE001 - quarantined with the reason, never raised
        return _Row(repr(raw).encode("utf-8", "backslashreplace"), reason=error_reason(exc, "reading the raw body"))
    try:
        key = visit.dedupe_key
    except Exception as exc:  # noqa: BLE001
        return _Row(body, reason=error_reason(exc, "computing the dedupe key"))
    try:
        doc = visit.model_dump_json()
    except Exception as exc:  # noqa: BLE001
        return _Row(body, reason=error_reason(exc, "serializing the visit"))
    return _Row(body, key, doc)


class VisitInbox:
    """Append-only, de-duplicating, multi-process-safe inbox of visits (plus a quarantine).

    One connection per thread (sqlite3 connections are not shareable across threads); in-process
    writers are serialized by a lock so they queue on a cheap mutex instead of SQLite's sleeping
    busy-handler, which would add tens of milliseconds of tail latency under load.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: recorded in the file itself
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        """Close every connection this inbox opened (from any thread)."""
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> "VisitInbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------------

    def append(self, visit: Visit, raw: bytes) -> Stored | Quarantined:
        """Store one visit durably (see :meth:`append_many`)."""
        return self.append_many([(visit, raw)])[0]

    def append_many(self, items: list[tuple[Visit, bytes]]) -> list[Stored | Quarantined]:
        """Store several visits in ONE transaction (one fsync): the receiver's group commit.

        Per row: a visit that cannot be turned into a row (its dedupe key or JSON raises) goes to the
        quarantine *in the same transaction*, with the step and the error as reason, and the other
        rows are stored; one odd visit never costs its batch-mates. Results line up with ``items``.
        Per batch: if the database fails, nothing is stored, the error propagates, and the caller
        must not answer 200. Duplicates inside the batch are detected too (the transaction sees its
        own inserts).
        """
        rows = [_prepare(v, raw) for v, raw in items]
        results: list[Stored | Quarantined] = []
        db = self._db()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                now = _now()
                for raw, key, doc, reason in rows:
                    if reason is not None:
                        qid = db.execute("INSERT INTO quarantine (reason, raw, received_at) VALUES (?, ?, ?)",
                                         (reason, raw, now)).lastrowid
                        results.append(Quarantined(int(qid), reason))
                        continue
                    # Look before inserting: an upsert would burn an AUTOINCREMENT value per duplicate.
                    found = db.execute("SELECT seq FROM visits WHERE dedupe_key = ?", (key,)).fetchone()
                    if found is None:
                        seq = db.execute(
                            "INSERT INTO visits (dedupe_key, visit, raw, received_at) VALUES (?, ?, ?, ?) RETURNING seq",
                            (key, doc, raw, now),
                        ).fetchall()[0][0]
                        results.append(Stored(int(seq), False))
                    else:
                        db.execute("UPDATE visits SET duplicates = duplicates + 1 WHERE seq = ?", (found[0],))
                        results.append(Stored(int(found[0]), True))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return results

    def quarantine(self, raw: bytes, reason: str) -> int:
        """Keep a body we could not accept as a visit, with why; returns its quarantine id."""
        reason = _storable(reason)
        db = self._db()
        with self._write_lock:
            cur = db.execute(
                "INSERT INTO quarantine (reason, raw, received_at) VALUES (?, ?, ?)", (reason, bytes(raw), _now())
            )
        return int(cur.lastrowid)

    # -- reads ---------------------------------------------------------------------------------

    def read_after(self, cursor_seq: int, limit: int = 1000) -> list[InboxVisit]:
        rows = self._db().execute(
            "SELECT seq, visit, received_at FROM visits WHERE seq > ? ORDER BY seq LIMIT ?", (int(cursor_seq), int(limit))
        ).fetchall()
        return [InboxVisit(seq, Visit.model_validate_json(doc), datetime.fromisoformat(at)) for seq, doc, at in rows]

    def read_range(self, first_seq: int, last_seq: int) -> list[InboxVisit]:
        """The visits a sensor batch names (``revops/visits_from`` .. ``revops/visits_to``, inclusive)."""
        rows = self._db().execute(
            "SELECT seq, visit, received_at FROM visits WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (int(first_seq), int(last_seq)),
        ).fetchall()
        return [InboxVisit(seq, Visit.model_validate_json(doc), datetime.fromisoformat(at)) for seq, doc, at in rows]

    def max_seq(self) -> int:
        return int(self._db().execute("SELECT COALESCE(MAX(seq), 0) FROM visits").fetchone()[0])

    def count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM visits").fetchone()[0])

    def quarantined(self) -> list[QuarantinedBody]:
        rows = self._db().execute("SELECT id, reason, raw, received_at FROM quarantine ORDER BY id").fetchall()
        return [QuarantinedBody(i, reason, bytes(raw), datetime.fromisoformat(at)) for i, reason, raw, at in rows]


class InboxResource(dg.ConfigurableResource):
    """Where the inbox lives (``Settings.inbox_path``); ``open()`` gives a :class:`VisitInbox`."""

    path: str

    def open(self) -> VisitInbox:
        return VisitInbox(self.path)
