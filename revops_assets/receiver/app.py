"""The RB2B webhook receiver: an ASGI app whose only job is to keep every visit and answer 200 fast.

Rules it follows, all forced by RB2B (shared/api-specs/rb2b/README.md):

* Any answer other than 200, or none within 15 s, makes RB2B *disconnect the integration*, and RB2B
  never retries. So a body we cannot use (malformed, wrong types, missing fields, too big) still gets
  200 and is put in quarantine with the reason: a human can replay it, nothing is silently lost, and
  one bad relay message cannot switch off the whole feed. 200 is not "we understood it", it is "we
  kept it". That includes our own bugs: an unexpected exception quarantines the raw body with the
  exception as reason and still answers 200. The only non-200 answers are 401 (wrong or missing
  token: that is not RB2B, or RB2B is misconfigured and should be disconnected) and 503 when the
  inbox itself cannot be written (saying 200 then would be a lie that loses the visit for good).
* The secret can only travel in the query string, so it is compared in constant time and neither
  the token nor the query string is ever logged (run uvicorn with ``access_log=False``; the
  ``receiver`` command does).
* A good visit is committed (fsync'd, see resources/inbox.py) *before* the 200 goes out. Writes go
  through one writer thread doing *group commit*: every visit that arrived while the previous commit
  was fsyncing goes into the next transaction together. Throughput then no longer depends on how
  slow one fsync is (each request still waits for the commit that holds its visit), and the event
  loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import queue
import sqlite3
import threading
import traceback
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator, Optional

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from revops_assets.receiver.models import InvalidVisit, Visit, parse_visit
from revops_assets.resources.inbox import Quarantined, Stored, VisitInbox, error_reason

__all__ = ["build_app", "WEBHOOK_PATH"]

WEBHOOK_PATH = "/webhooks/rb2b"
DEFAULT_MAX_BODY_BYTES = 64 * 1024  # an RB2B body is ~1 KB; 64 KB leaves room for relay envelopes

MAX_GROUP = 256  # visits per transaction at most; keeps one commit well under a second

log = logging.getLogger("revops.receiver")

_Result = Stored | Quarantined
_Pending = tuple[Visit, bytes, "asyncio.Future[_Result]"]


class GroupCommitter:
    """One writer thread; each commit takes everything queued so far (up to ``MAX_GROUP``)."""

    def __init__(self, inbox: VisitInbox):
        self.inbox = inbox
        self._queue: queue.SimpleQueue[Optional[_Pending]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def append(self, visit: Visit, raw: bytes) -> _Result:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                    self._thread.start()
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._queue.put((visit, raw, future))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            try:
                results = self.inbox.append_many([(visit, raw) for visit, raw, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter gets the failure, none a false 200
                for _, _, future in batch:
                    _resolve(future, exc=exc)
                continue
            for (_, _, future), result in zip(batch, results):
                _resolve(future, result=result)


def _resolve(future: "asyncio.Future[_Result]", result: _Result | None = None,
             exc: BaseException | None = None) -> None:
    def settle() -> None:
        if future.cancelled():
            return  # the client went away; the visit is stored all the same
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    try:
        future.get_loop().call_soon_threadsafe(settle)
    except RuntimeError:
        pass  # the event loop is closed (server stopped): nobody is waiting any more


def _declared_length_exceeds(declared: str | None, limit: int) -> bool:
    """Whether a Content-Length header announces more than ``limit`` bytes.

    Decided on the digit count before ``int()``: a header of 5,000 digits would make ``int()`` raise
    (Python's 4300-digit limit) outside the handler's catch-all. ASCII only: "²".isdigit() is True.
    uvicorn already rejects such headers; other ASGI servers might not.
    """
    if not declared or not (declared.isascii() and declared.isdigit()):
        return False
    digits = declared.lstrip("0")
    return len(digits) > len(str(limit)) or int(digits or "0") > limit


async def _read_capped(request: Request, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; return (what was read, whether the body was larger).

    Stops reading as soon as the cap is passed so an oversized body costs at most ``limit`` bytes of
    memory (uvicorn discards the rest of the upload once the response is complete).
    """
    oversized = _declared_length_exceeds(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        room = limit - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if oversized and size >= limit:
            break
    return b"".join(chunks), oversized


def build_app(inbox_path: str | Path, token: str, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """The receiver app, writing to the inbox at ``inbox_path`` and accepting ``?token=<token>``."""
    if not token:
        raise ValueError("the receiver needs a non-empty token")
    expected = token.encode()
    inbox = VisitInbox(inbox_path)
    writer = GroupCommitter(inbox)

    def token_ok(request: Request) -> bool:
        given = request.query_params.get("token", "")
        return hmac.compare_digest(given.encode(), expected)

    def redact(text: str) -> str:
        """Belt and braces: an exception message must never carry the token into the inbox or a log."""
        return text.replace(token, "<token>")

    def quarantined(reason: str, **extra: str) -> JSONResponse:
        log.warning("rb2b body quarantined: %s", reason)
        return JSONResponse({"status": "quarantined", "reason": reason}, headers=extra)

    async def quarantine(raw: bytes, reason: str, **extra: str) -> JSONResponse:
        await run_in_threadpool(inbox.quarantine, raw, reason)
        return quarantined(reason, **extra)

    async def keep(body: bytes, oversized: bool, received_at: datetime) -> JSONResponse:
        """The expected paths: a visit stored (or deduplicated), or a body quarantined with its reason."""
        if oversized:
            # Close the connection so the client stops streaming the rest of a huge upload.
            return await quarantine(body, f"oversized: body larger than {max_body_bytes} bytes", connection="close")
        try:
            visit = parse_visit(body, received_at=received_at)
        except InvalidVisit as exc:
            return await quarantine(body, exc.reason)
        result = await writer.append(visit, body)
        if isinstance(result, Quarantined):  # parsed, but the inbox kept it in quarantine
            return quarantined(result.reason)
        if visit.seen_at_fallback:
            log.info("rb2b visit seq=%s: unreadable Seen At, used the %s time", result.seq, visit.seen_at_source)
        return JSONResponse({"status": "duplicate" if result.duplicate else "accepted"})

    async def webhook(request: Request) -> JSONResponse:
        """200 exactly when the body is durably kept: as a visit, or in quarantine with the reason.

        * Unusable body (``InvalidVisit``, oversized), or a visit the inbox cannot store as one:
          quarantined, 200.
        * Any other exception (a bug of ours): the raw body is quarantined with the exception's type
          and message, 200. It is kept, and a 5xx would make RB2B disconnect the whole feed.
        * The inbox cannot be written (``sqlite3.Error``: disk full, read-only, corrupt, locked), also
          while quarantining: the body is NOT kept, so 503. A 200 would lose it silently; a 5xx lets
          a retrying sender deliver it again and makes the outage visible.

        The URL's query string holds the token: it is never logged nor stored.
        """
        if not token_ok(request):
            log.warning("rb2b webhook: rejected a request with a wrong or missing token")
            return JSONResponse({"status": "unauthorized"}, status_code=401)
        received_at = datetime.now(timezone.utc)
        try:
            body, oversized = await _read_capped(request, max_body_bytes)
        except ClientDisconnect:
            return JSONResponse({"status": "disconnected"})  # nobody is listening for the answer
        try:
            try:
                return await keep(body, oversized, received_at)
            except sqlite3.Error:
                raise  # the inbox is down: quarantining would fail the same way
            except Exception as exc:  # noqa: BLE001 - kept with the reason; see the docstring
                reason = redact(error_reason(exc, "unexpected error"))
                # The (redacted) reason and the frames: no locals, no URL.
                log.error("rb2b webhook: %s\n%s", reason, "".join(traceback.format_tb(exc.__traceback__)))
                return await quarantine(body, reason)
        except sqlite3.Error as exc:
            log.error("rb2b webhook: inbox write failed (%s); answering 503, the visit is NOT kept", type(exc).__name__)
            return JSONResponse({"status": "error"}, status_code=503)

    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(inbox.max_seq)
        except sqlite3.Error:
            return JSONResponse({"status": "inbox unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        writer.close()
        inbox.close()

    app = Starlette(
        routes=[Route(WEBHOOK_PATH, webhook, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])],
        lifespan=lifespan,
    )
    app.state.inbox = inbox
    return app
