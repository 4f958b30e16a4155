"""Slack incoming-webhook emulator: ``POST /services/{T}/{B}/{X}``.

Answers like Slack does: ``ok`` in plain text, or a plain-text error code: ``invalid_payload`` (400,
bad JSON or neither ``text`` nor ``blocks``), ``action_prohibited`` (403), ``channel_not_found``
(404), ``channel_is_archived`` (410); more than one message per ``app.state.min_interval_s`` (1 s)
per webhook -> 429 ``rate_limited`` with ``Retry-After``. A path segment naming the failure
(``archived``, ``notfound``, ``prohibited``) selects it, so tests and demos can reach every branch.

Accepted messages land in the DocStore collection ``messages`` (with ``received_at``), listed by
``GET /_emulator/messages``. The secret last path segment is never stored.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from revops_assets.emulators._server import CONTROL_PREFIX, DocStore

MIN_INTERVAL_S = 1.0  # Slack: about one message per second per webhook
COLLECTION = "messages"
_PATH_FAULTS = {"archived": (410, "channel_is_archived"), "notfound": (404, "channel_not_found"),
                "prohibited": (403, "action_prohibited")}


def error_response(status: int) -> Response:
    """Slack's plain-text error bodies."""
    if status == 429:
        return PlainTextResponse("rate_limited", status_code=429, headers={"Retry-After": "1"})
    code = {400: "invalid_payload", 403: "action_prohibited", 404: "channel_not_found",
            410: "channel_is_archived"}.get(status, "internal_error")
    return PlainTextResponse(code, status_code=status)


def _payload(content_type: str, raw: bytes) -> dict | None:
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            raw = parse_qs(raw.decode("utf-8")).get("payload", [""])[0].encode("utf-8")
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def build_app(store: DocStore, sample_dir: Path) -> Starlette:
    last_accepted: dict[str, float] = {}
    lock = threading.Lock()

    async def webhook(request: Request) -> Response:
        team, bot, token = (request.path_params[k] for k in ("team", "bot", "token"))
        for segment in (team, bot, token):
            for marker, (status, code) in _PATH_FAULTS.items():
                if marker in segment.lower():
                    return PlainTextResponse(code, status_code=status)
        body = _payload(request.headers.get("content-type", ""), await request.body())
        if body is None or not (body.get("text") or body.get("blocks")):
            return PlainTextResponse("invalid_payload", status_code=400)
        hook = f"{team}/{bot}"
        interval = float(request.app.state.min_interval_s)
        with lock:
            now = time.monotonic()
            wait = interval - (now - last_accepted.get(hook, -math.inf))
            if wait > 0:
                return PlainTextResponse("rate_limited", status_code=429,
                                         headers={"Retry-After": str(max(1, math.ceil(wait)))})
            last_accepted[hook] = now
        doc = {"id": uuid.uuid4().hex, "webhook": hook, "text": body.get("text"), "blocks": body.get("blocks"),
               "payload": body, "received_at": datetime.now(timezone.utc).isoformat()}
        store.put(COLLECTION, doc["id"], doc)
        return PlainTextResponse("ok")

    async def messages(request: Request) -> Response:
        return JSONResponse({"messages": list(store.all(COLLECTION))})

    app = Starlette(routes=[Route("/services/{team}/{bot}/{token}", webhook, methods=["POST"]),
                            Route(f"{CONTROL_PREFIX}/messages", messages, methods=["GET"])])
    app.state.min_interval_s = MIN_INTERVAL_S
    return app
