"""Shared plumbing for the local emulators: a real HTTP server on loopback, fault injection, storage.

Each emulator module (``gohighlevel.py``, ``exa.py``, ...) builds a Starlette app that speaks its
service's real protocol; this module runs it under uvicorn in a daemon thread, injects faults
(429, 5xx, timeouts, malformed bodies, latency) in front of it and gives it a small SQLite document
store so writes persist across runs and processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/_emulator"


@dataclass(frozen=True)
class Faults:
    """Probabilities of each injected fault per request (0..1), plus added latency."""

    p429: float = 0.0
    p5xx: float = 0.0
    ptimeout: float = 0.0
    pmalformed: float = 0.0
    latency_ms: float = 0.0
    timeout_s: float = 1.5  # how long a "timeout" fault stalls before dropping the answer
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> "Faults":
        """Parse ``"429=0.2,5xx=0.2,timeout=0.05,malformed=0.05,latency_ms=10,seed=7"``."""
        if not spec:
            return cls()
        keys = {"429": "p429", "5xx": "p5xx", "timeout": "ptimeout", "malformed": "pmalformed",
                "latency_ms": "latency_ms", "timeout_s": "timeout_s", "seed": "seed"}
        values: dict[str, Any] = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            name, _, raw = part.partition("=")
            field = keys.get(name.strip())
            if field is None:
                raise ValueError(f"unknown fault {name!r} in REVOPS_EMULATOR_FAULTS (known: {', '.join(keys)})")
            values[field] = int(raw) if field == "seed" else float(raw)
        return cls(**values)

    @property
    def any(self) -> bool:
        return any((self.p429, self.p5xx, self.ptimeout, self.pmalformed, self.latency_ms))


ErrorFactory = Callable[[int], Response]
_FAULT_STATUS = {"429": 429, "timeout": 504, "malformed": 200}  # "5xx" is drawn from 500/502/503


def default_error(status: int) -> Response:
    return JSONResponse({"error": f"injected fault {status}"}, status_code=status)


class FaultInjector:
    """ASGI middleware: decides per request (seeded RNG) whether to fail it, and how.

    Control endpoints (never faulted): ``GET/POST /_emulator/faults`` read/replace the knobs,
    ``GET /_emulator/stats`` counts requests and injected faults; other ``/_emulator/*`` paths belong
    to the emulator itself (e.g. Slack's message list) and are passed through unfaulted.
    """

    def __init__(self, app: ASGIApp, faults: Faults, error_factory: ErrorFactory = default_error,
                 script: list[str] | None = None):
        """``script``: faults ("429", "5xx", "timeout", "malformed") for the first requests, in order;
        then the probabilities in ``faults`` apply. Tests use it to script an exact failure sequence."""
        self.app = app
        self.error_factory = error_factory
        self.script = list(script or [])
        self.set_faults(faults)
        self.stats: dict[str, int] = {"requests": 0, "429": 0, "5xx": 0, "timeout": 0, "malformed": 0}
        self._lock = threading.Lock()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def _draw(self) -> tuple[str, int] | None:
        """The next fault and its status code, or ``None``. Every random choice -- whether to fault,
        which fault, which 5xx -- comes from the injector's seeded RNG, taken under the lock, so the
        same seed (or script) answers the same request sequence with the same responses."""
        with self._lock:
            fault = self.script.pop(0) if self.script else self._pick(self._rng.random())
            if fault is None:
                return None
            status = self._rng.choice((500, 502, 503)) if fault == "5xx" else _FAULT_STATUS[fault]
        return fault, status

    def _pick(self, r: float) -> str | None:
        f = self.faults
        for name, p in (("429", f.p429), ("5xx", f.p5xx), ("timeout", f.ptimeout), ("malformed", f.pmalformed)):
            if r < p:
                return name
            r -= p
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path in (f"{CONTROL_PREFIX}/faults", f"{CONTROL_PREFIX}/stats"):
            await self._control(scope, receive, send)
            return
        if path.startswith(CONTROL_PREFIX):  # the emulator's own inspection endpoints: never faulted
            await self.app(scope, receive, send)
            return
        self.stats["requests"] += 1
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000.0)
        drawn = self._draw()
        if drawn is None:
            await self.app(scope, receive, send)
            return
        fault, status = drawn
        self.stats[fault] += 1
        if fault == "malformed":  # a truncated JSON body with a 200, as a broken proxy would send
            await Response(b'{"truncated": [1, 2', status_code=status, media_type="application/json")(scope, receive, send)
            return
        if fault == "timeout":
            await asyncio.sleep(self.faults.timeout_s)
        await self.error_factory(status)(scope, receive, send)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.url.path == f"{CONTROL_PREFIX}/faults" and request.method == "POST":
            body = await request.json()
            self.set_faults(Faults(**body))
        if request.url.path == f"{CONTROL_PREFIX}/stats":
            response: Response = JSONResponse(dict(self.stats))
        else:
            response = JSONResponse(self.faults.__dict__)
        await response(scope, receive, send)


class EmulatorServer:
    """Runs an ASGI app on 127.0.0.1 in a daemon thread (port 0 = pick a free one)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"emulator:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "EmulatorServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"emulator on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()


def faults_from_env(name: str) -> Faults:
    """``REVOPS_EMULATOR_FAULTS`` applies to every emulator; ``REVOPS_EMULATOR_FAULTS_<NAME>`` to one."""
    return Faults.parse(os.environ.get(f"REVOPS_EMULATOR_FAULTS_{name.upper()}") or os.environ.get("REVOPS_EMULATOR_FAULTS"))


class DocStore:
    """A tiny JSON document store on SQLite (WAL), shared safely by threads and processes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, "
                "seq INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id))"
            )
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def put(self, collection: str, doc_id: str, doc: dict) -> None:
        self.put_many(collection, [(doc_id, doc)])

    def put_many(self, collection: str, docs: list[tuple[str, dict]]) -> None:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM docs WHERE collection = ?", (collection,)).fetchone()[0]
            for offset, (doc_id, doc) in enumerate(docs, start=1):
                existing = db.execute("SELECT seq FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)).fetchone()
                db.execute(
                    "INSERT OR REPLACE INTO docs (collection, id, seq, doc) VALUES (?, ?, ?, ?)",
                    (collection, doc_id, existing[0] if existing else seq + offset, json.dumps(doc)),
                )
            db.execute("COMMIT")

    def get(self, collection: str, doc_id: str) -> dict | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT doc FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, collection: str, doc_id: str) -> bool:
        with closing(self._connect()) as db:
            return db.execute("DELETE FROM docs WHERE collection = ? AND id = ?", (collection, doc_id)).rowcount > 0

    def all(self, collection: str) -> Iterator[dict]:
        """Documents in insertion order (stable across processes)."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT doc FROM docs WHERE collection = ? ORDER BY seq", (collection,)).fetchall()
        for (doc,) in rows:
            yield json.loads(doc)

    def count(self, collection: str) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT COUNT(*) FROM docs WHERE collection = ?", (collection,)).fetchone()[0]

    def get_meta(self, key: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
