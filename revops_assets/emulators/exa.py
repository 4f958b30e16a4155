"""Exa search API emulator: ``POST /search`` and ``POST /contents`` over a local document corpus.

Speaks Exa's wire format (camelCase bodies, ``x-api-key`` auth, ``{requestId, error, tag}`` errors,
``costDollars`` on every answer) and searches ``<sample_dir>/exa/documents.jsonl`` with a simple,
deterministic relevance: query-token overlap with title (weighted) and text, plus a domain match.

Behaviours the product must cope with, reproduced on purpose:
- no key, or a key starting ``rejected`` -> 401; a key starting ``nocredit`` -> 402 (credits exhausted);
- a body that breaks the request schema (or date filters with ``category=company``) -> 400;
- more than ``app.state.search_rate_per_s`` (10) ``/search`` calls per second per key -> 429.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from revops_assets.emulators._server import DocStore

SEARCH_RATE_PER_S = 10  # Exa's documented limit for /search
SEARCH_PRICE_1_25 = 0.005
SEARCH_PRICE_26_100 = 0.025
CONTENT_TEXT_PRICE_PER_PAGE = 0.001

_TAGS = {400: "INVALID_REQUEST_BODY", 401: "INVALID_API_KEY", 402: "NO_MORE_CREDITS", 404: "NOT_FOUND",
         429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE",
         504: "GATEWAY_TIMEOUT"}
_MESSAGES = {401: "Invalid API key", 402: "You have run out of credits. Add credits to continue.",
             429: "You've exceeded your rate limit of 10 requests per second.",
             500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset("a an and the of in on for to with at by from is are was news company inc llc ltd co".split())


def error_response(status: int, message: str | None = None) -> Response:
    """Exa's error body: ``{requestId, error, tag}``."""
    return JSONResponse(
        {"requestId": uuid.uuid4().hex, "error": message or _MESSAGES.get(status, f"HTTP {status}"),
         "tag": _TAGS.get(status, "UNKNOWN_ERROR")},
        status_code=status,
    )


# --- request schemas (the subset of the spec the product and its tests exercise, enforced) -------

def _iso_datetime(value: str | None) -> str | None:
    if value is not None:
        datetime.fromisoformat(value.replace("Z", "+00:00"))  # raises ValueError -> 400
    return value


class _TextOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    maxCharacters: int | None = Field(default=None, ge=1)
    includeHtmlTags: bool = False


class _Contents(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: bool | _TextOptions | None = None
    highlights: bool | dict | None = None
    summary: dict | None = None


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")
    numResults: int = Field(default=10, ge=1, le=100)
    includeDomains: list[str] | None = None
    excludeDomains: list[str] | None = None
    startPublishedDate: str | None = None
    endPublishedDate: str | None = None
    startCrawlDate: str | None = None
    endCrawlDate: str | None = None
    includeText: list[str] | None = None
    excludeText: list[str] | None = None
    contents: _Contents | None = None
    text: bool | _TextOptions | None = None  # the curl examples send it top-level too

    @field_validator("startPublishedDate", "endPublishedDate", "startCrawlDate", "endCrawlDate")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return _iso_datetime(value)


class _SearchRequest(_Common):
    query: str = Field(min_length=1)
    type: Literal["neural", "fast", "auto", "deep", "deep-reasoning", "instant"] = "auto"
    category: Literal["company", "research paper", "news", "pdf", "github", "personal site", "people",
                      "financial report"] | None = None
    userLocation: str | None = None


class _ContentsRequest(_Contents):
    urls: list[str] = Field(min_length=1)


_COMPANY_UNSUPPORTED = ("startPublishedDate", "endPublishedDate", "startCrawlDate", "endCrawlDate",
                        "includeText", "excludeText", "excludeDomains")


# --- the corpus ---------------------------------------------------------------------------------

def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


class _Corpus:
    def __init__(self, path: Path):
        self.docs: list[dict] = []
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                self.docs = [json.loads(line) for line in fh if line.strip()]
        self.by_url = {d["url"]: d for d in self.docs}
        self._title_tokens = [set(_tokens(d.get("title") or "")) for d in self.docs]
        self._text_tokens = [set(_tokens(d.get("text") or "")) for d in self.docs]

    def search(self, req: _SearchRequest) -> list[tuple[float, dict]]:
        query = set(_tokens(req.query))
        query_compact = re.sub(r"[^a-z0-9.]", "", req.query.lower())
        start = _parse_dt(req.startPublishedDate)
        end = _parse_dt(req.endPublishedDate)
        scored: list[tuple[float, str, dict]] = []
        for doc, title_t, text_t in zip(self.docs, self._title_tokens, self._text_tokens, strict=True):
            if req.category and doc.get("category") != req.category:
                continue
            domain = (doc.get("domain") or "").lower()
            if req.includeDomains and not any(_domain_matches(domain, d) for d in req.includeDomains):
                continue
            if req.excludeDomains and any(_domain_matches(domain, d) for d in req.excludeDomains):
                continue
            published = _parse_dt(doc.get("publishedDate"))
            if (start or end) and published is None:
                continue
            if start and published < start or end and published > end:
                continue
            text = (doc.get("text") or "").lower()
            if req.includeText and not all(s.lower() in text for s in req.includeText):
                continue
            if req.excludeText and any(s.lower() in text for s in req.excludeText):
                continue
            raw = 2.0 * len(query & title_t) + 1.0 * len(query & text_t)
            stem = domain.split(".")[0] if domain else ""
            if domain and (domain in query_compact or (stem and stem in query)):
                raw += 3.0
            if raw <= 0:
                continue
            score = round(raw / (3.0 * max(len(query), 1) + 3.0), 6)
            scored.append((min(score, 1.0), doc["id"], doc))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [(score, doc) for score, _, doc in scored[: req.numResults]]


def _domain_matches(domain: str, wanted: str) -> bool:
    wanted = wanted.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").strip("/")
    return domain == wanted or domain.endswith("." + wanted)


def _parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo is None else dt.astimezone(timezone.utc).replace(tzinfo=None)


# --- wire format --------------------------------------------------------------------------------

def _text_options(req: _Common | _Contents) -> _TextOptions | None:
    text = req.text
    if text is None and isinstance(req, _Common) and req.contents is not None:
        text = req.contents.text
    if text is None or text is False:
        return None
    return _TextOptions() if text is True else text


def _result(doc: dict, score: float | None, text_opts: _TextOptions | None, with_entities: bool) -> dict:
    out: dict[str, Any] = {"id": doc["url"], "url": doc["url"], "title": doc.get("title") or "",
                           "publishedDate": doc.get("publishedDate"), "author": doc.get("author")}
    if score is not None:
        out["score"] = score
    if text_opts is not None:
        text = doc.get("text") or ""
        out["text"] = text[: text_opts.maxCharacters] if text_opts.maxCharacters else text
    if with_entities and doc.get("entities"):
        out["entities"] = doc["entities"]
    return out


def _cost(n_results: int, n_text_pages: int, searched: bool) -> dict:
    search = (SEARCH_PRICE_1_25 if n_results <= 25 else SEARCH_PRICE_26_100) if searched else 0.0
    contents = round(n_text_pages * CONTENT_TEXT_PRICE_PER_PAGE, 6)
    breakdown: dict[str, float] = {"contentText": contents}
    if searched:
        breakdown["neuralSearch"] = search
    return {
        "total": round(search + contents, 6),
        "breakDown": [{"search": search, "contents": contents, "breakdown": breakdown}],
        "perRequestPrices": {"neuralSearch_1_25_results": SEARCH_PRICE_1_25,
                             "neuralSearch_26_100_results": SEARCH_PRICE_26_100},
        "perPagePrices": {"contentText": CONTENT_TEXT_PRICE_PER_PAGE},
    }


class _RateLimiter:
    """Sliding one-second window per key."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, per_second: float) -> bool:
        now = time.monotonic()
        with self._lock:
            window = self._hits.setdefault(key, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= per_second:
                return False
            window.append(now)
            return True


def _api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if not key:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    return key or None


def _auth_error(key: str | None) -> Response | None:
    if key is None:
        return error_response(401, "Missing API key: send it in the x-api-key header")
    if key.startswith("rejected"):
        return error_response(401)
    if key.startswith("nocredit"):
        return error_response(402)
    return None


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"Invalid request body: {where}: {first['msg']}"


def build_app(store: DocStore, sample_dir: Path) -> Starlette:
    corpus = _Corpus(Path(sample_dir) / "exa" / "documents.jsonl")
    limiter = _RateLimiter()

    async def search(request: Request) -> Response:
        key = _api_key(request)
        if (denied := _auth_error(key)) is not None:
            return denied
        if not limiter.allow(key, request.app.state.search_rate_per_s):
            return error_response(429)
        body = await _json_body(request)
        if not isinstance(body, dict):
            return error_response(400, "Invalid request body: expected a JSON object")
        try:
            req = _SearchRequest.model_validate(body)
        except ValidationError as exc:
            return error_response(400, _validation_message(exc))
        if req.category in ("company", "people"):
            unsupported = [name for name in _COMPANY_UNSUPPORTED if body.get(name) is not None]
            if unsupported:
                return error_response(400, f"Parameters not supported for category {req.category!r}: "
                                           + ", ".join(unsupported))
        text_opts = _text_options(req)
        hits = corpus.search(req)
        results = [_result(doc, score, text_opts, req.category in ("company", "people")) for score, doc in hits]
        return JSONResponse({
            "requestId": uuid.uuid4().hex,
            "results": results,
            "searchType": "neural",
            "costDollars": _cost(len(results), len(results) if text_opts else 0, searched=True),
        })

    async def contents(request: Request) -> Response:
        key = _api_key(request)
        if (denied := _auth_error(key)) is not None:
            return denied
        body = await _json_body(request)
        if not isinstance(body, dict):
            return error_response(400, "Invalid request body: expected a JSON object")
        if "urls" not in body and "ids" in body:  # the deprecated spelling is still accepted
            body = {**body, "urls": body["ids"]}
        try:
            req = _ContentsRequest.model_validate(body)
        except ValidationError as exc:
            return error_response(400, _validation_message(exc))
        text_opts = _text_options(req) or (None if req.text is False else _TextOptions())
        results, statuses = [], []
        for url in req.urls:
            doc = corpus.by_url.get(url)
            if doc is None:
                statuses.append({"id": url, "status": "error",
                                 "error": {"tag": "CRAWL_NOT_FOUND", "httpStatusCode": 404}})
                continue
            results.append(_result(doc, None, text_opts, with_entities=bool(doc.get("entities"))))
            statuses.append({"id": url, "status": "success"})
        return JSONResponse({
            "requestId": uuid.uuid4().hex,
            "results": results,
            "statuses": statuses,
            "costDollars": _cost(0, len(results) if text_opts else 0, searched=False),
        })

    app = Starlette(routes=[Route("/search", search, methods=["POST"]),
                            Route("/contents", contents, methods=["POST"])])
    app.state.search_rate_per_s = SEARCH_RATE_PER_S
    app.state.store = store
    return app
