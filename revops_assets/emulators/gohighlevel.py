"""A local GoHighLevel (LeadConnector API v2) speaking the published OpenAPI paths, bodies and errors.

It serves the endpoints the product's client uses (contacts, notes, tasks, tags, opportunities and
pipelines, email conversations, calendars/free slots/appointments) for the one location of the sample
workspace, with GHL's gateway behaviour: ``Authorization: Bearer`` (the token ``invalid`` or any token
starting ``rejected`` gets 401), a ``Version`` header per service (400 otherwise), 403 for another
location's id, 100 requests per 10 s per location (429 with ``X-RateLimit-*`` headers on every answer),
invalid input (unknown properties included) answered with the status its operation documents -- a
NestJS-style 422 where the spec lists 422, GHL's ``BadRequestDTO`` 400 elsewhere (see ``ENDPOINTS``) --
and the documented quirk that an upsert can answer 422 yet have stored the contact (here: a non-numeric
``cf_employee_count``).

State is the :class:`DocStore` (SQLite): seeded once from ``<sample>/ghl/*`` and written through, so a
note added in one run or process is there in the next. Deterministic apart from wall-clock timestamps
on new records.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections import defaultdict, deque
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from revops_assets.emulators._server import DocStore

VERSIONS = {"contacts": "2021-07-28", "opportunities": "2021-07-28",
            "conversations": "2021-04-15", "calendars": "2021-04-15"}
RATE_LIMIT = 100
RATE_WINDOW_S = 10.0
DAILY_LIMIT = 200_000
DEFAULT_LOCATION = "loc_demo"
NUMERIC_CUSTOM_FIELDS = frozenset({"cf_employee_count"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

# Properties each body accepts (from the spec's DTOs); anything else is invalid input, as in GHL's API.
CONTACT_FIELDS = frozenset({
    "firstName", "lastName", "name", "email", "gender", "phone", "address1", "city", "state", "postalCode",
    "website", "timezone", "dnd", "dndSettings", "inboundDndSettings", "tags", "customFields", "source",
    "dateOfBirth", "country", "companyName", "assignedTo"})
UPSERT_FIELDS = CONTACT_FIELDS | {"locationId", "createNewIfDuplicateAllowed"}
UPDATE_CONTACT_FIELDS = CONTACT_FIELDS - {"companyName", "gender"}  # UpdateContactDto has neither
NOTE_FIELDS = frozenset({"userId", "body", "title", "color", "pinned"})
TASK_FIELDS = frozenset({"title", "body", "dueDate", "completed", "assignedTo"})
OPPORTUNITY_UPDATE_FIELDS = frozenset({"pipelineId", "name", "pipelineStageId", "status", "monetaryValue",
                                       "assignedTo", "customFields"})
OPPORTUNITY_STATUSES = ("open", "won", "lost", "abandoned")
MESSAGE_TYPES = ("SMS", "RCS", "Email", "WhatsApp", "IG", "FB", "Custom", "Live_Chat", "TIKTOK")
MESSAGE_FIELDS = frozenset({
    "type", "subType", "contactId", "appointmentId", "attachments", "emailFrom", "emailCc", "emailBcc", "html",
    "message", "subject", "replyMessageId", "templateId", "threadId", "scheduledTimestamp",
    "conversationProviderId", "emailTo", "customSubtypeId", "emailReplyMode", "fromNumber", "toNumber",
    "forward", "status", "usesNativeSchedulingAi", "optimizationPeriod"})
APPOINTMENT_FIELDS = frozenset({
    "title", "meetingLocationType", "meetingLocationId", "overrideLocationConfig", "appointmentStatus",
    "assignedUserId", "description", "address", "ignoreDateRange", "toNotify", "ignoreFreeSlotValidation",
    "rrule", "calendarId", "locationId", "contactId", "startTime", "endTime"})
APPOINTMENT_STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
INACTIVE_APPOINTMENTS = frozenset({"cancelled", "invalid"})
MESSAGE_TYPE_CODES = {"TYPE_CALL": 1, "TYPE_SMS": 2, "TYPE_EMAIL": 3}


# -------------------------------------------------------------------------------------------- errors

# The error statuses each served operation documents in its OpenAPI ``responses`` (besides 2xx), as
# (method, spec path, handler, statuses); the routes are built from this table. Invalid input answers
# 422 (UnprocessableDTO) where the operation lists 422 and 400 (BadRequestDTO) where it does not --
# the one place that decides it (tests check the table against /work/shared/api-specs). Every endpoint
# may also answer 429 (the specs README: the gateway's throttle), and -- not in the specs -- 403 for
# another location's id and 404 for an unknown object id (the product tells these apart from invalid
# input, as ``AuthError`` and ``NotFound``).
_E400 = frozenset({400, 401})
_E422 = frozenset({400, 401, 422})
ENDPOINTS: tuple[tuple[str, str, str, frozenset[int]], ...] = (
    ("POST", "/contacts/search", "search_contacts", _E400),
    ("GET", "/contacts/search/duplicate", "duplicate", _E400),
    ("POST", "/contacts/upsert", "upsert", _E422),
    ("POST", "/contacts/{contactId}/tags", "add_tags", _E422),
    ("DELETE", "/contacts/{contactId}/tags", "remove_tags", _E422),
    ("GET", "/contacts/{contactId}/notes", "list_notes", _E400),
    ("POST", "/contacts/{contactId}/notes", "create_note", _E422),
    ("GET", "/contacts/{contactId}/tasks", "list_tasks", _E400),
    ("POST", "/contacts/{contactId}/tasks", "create_task", _E422),
    ("GET", "/contacts/{contactId}", "get_contact", _E422),
    ("PUT", "/contacts/{contactId}", "update_contact", _E422),
    ("GET", "/opportunities/search", "search_opportunities", _E422),
    ("GET", "/opportunities/pipelines", "pipelines", _E400),
    ("PUT", "/opportunities/{id}/status", "update_opportunity_status", _E422),
    ("GET", "/opportunities/{id}", "get_opportunity", _E422),
    ("PUT", "/opportunities/{id}", "update_opportunity", _E422),
    ("GET", "/conversations/search", "search_conversations", _E400),
    ("POST", "/conversations/messages", "send_message", _E400),
    ("GET", "/conversations/messages/export", "export_messages", _E400),
    ("GET", "/conversations/{conversationId}/messages", "list_messages", _E400),
    ("GET", "/calendars/", "list_calendars", _E400),
    ("POST", "/calendars/events/appointments", "book", _E400),
    ("GET", "/calendars/events", "list_events", _E400),
    ("GET", "/calendars/{calendarId}/free-slots", "get_free_slots", _E400),
)
ALSO_SERVED = {"/calendars/": "/calendars"}  # GHL answers both spellings of the calendar list


class ApiError(Exception):
    def __init__(self, status: int, message: str | list[str]):
        super().__init__(str(message))
        self.status = status
        self.message = message


def _invalid(*messages: str) -> ApiError:
    """Invalid input: a 422 here, answered as 400 where the endpoint does not document 422 (``_answer``)."""
    return ApiError(422, list(messages))


def _answer(exc: ApiError, documented: frozenset[int]) -> Response:
    """``exc`` as the endpoint documents it (422 only where listed, else 400), in GHL's body shape."""
    status = 400 if exc.status == 422 and 422 not in documented else exc.status
    return JSONResponse(_body_for(status, exc.message), status_code=status)


def _body_for(status: int, message: str | list[str] | None = None) -> dict[str, Any]:
    if status == 422:
        msgs = message if isinstance(message, list) else [message or STATUS_TEXT[422]]
        return {"statusCode": 422, "message": msgs, "error": STATUS_TEXT[422]}
    if isinstance(message, list):  # BadRequestDTO and the others carry one string
        message = "; ".join(message)
    body: dict[str, Any] = {"statusCode": status, "message": message or STATUS_TEXT.get(status, "Error")}
    if status in (401, 403, 404):
        body["error"] = STATUS_TEXT[status]
    return body


def error_response(status: int) -> Response:
    """GHL's error body for ``status`` (used by the fault injector in front of this app too)."""
    headers = None
    if status == 429:
        headers = {"X-RateLimit-Max": str(RATE_LIMIT), "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Interval-Milliseconds": str(int(RATE_WINDOW_S * 1000))}
    message = "Too many requests" if status == 429 else None
    return JSONResponse(_body_for(status, message), status_code=status, headers=headers)


# ------------------------------------------------------------------------------------------- helpers


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The instants this emulator can compute with: Python's datetime stops at years 1 and 9999, and a
# margin keeps timezone shifts, slot lengths and day steps inside. Anything outside (a 20-digit epoch
# value is hundreds of millions of years away) is an invalid date, refused like any other invalid input.
_EARLIEST = datetime(1, 1, 3, tzinfo=timezone.utc)
_LATEST = datetime(9999, 12, 29, tzinfo=timezone.utc)


def _in_range(parsed: datetime) -> datetime | None:
    try:
        return parsed if _EARLIEST <= parsed <= _LATEST else None
    except OverflowError:  # comparing needs the UTC instant, which may itself be out of range
        return None


def _from_ms(ms: int | float) -> datetime | None:
    """Epoch milliseconds as a UTC datetime, or ``None`` if not finite or out of range."""
    try:
        return _in_range(datetime.fromtimestamp(ms / 1000, tz=timezone.utc))
    except (OverflowError, ValueError, OSError):  # huge ints, inf/NaN, years past 9999
        return None


def _parse_dt(value: Any) -> datetime | None:
    """An ISO 8601 string or epoch milliseconds (number or digit string) as an aware datetime, or
    ``None`` for anything else -- including values past the supported range, never an exception."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return _from_ms(value)
    text = str(value).strip()
    if re.fullmatch(r"\d{10,}", text):
        return _from_ms(int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))


def _ms(value: Any) -> int:
    parsed = _parse_dt(value)
    return int(parsed.timestamp() * 1000) if parsed else 0


def _number(value: Any) -> float | None:
    """A finite number, or ``None`` (so "inf", "nan" and 400-digit strings are invalid, not a crash)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check_fields(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    extra = sorted(set(body) - allowed)
    if extra:
        raise _invalid(*(f"property {name} should not exist" for name in extra))
    return body


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "Unexpected token in JSON body") from None


class _Throttle:
    """Sliding-window request counter per location (plus the daily quota), as GHL's gateway does."""

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._daily: dict[tuple[str, date], int] = defaultdict(int)
        self._lock = threading.Lock()
        self.throttled = 0

    def take(self, key: str) -> tuple[bool, dict[str, str]]:
        with self._lock:
            now = time.monotonic()
            recent = self._recent[key]
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            day = (key, datetime.now(timezone.utc).date())
            allowed = len(recent) < self.limit and self._daily[day] < DAILY_LIMIT
            if allowed:
                recent.append(now)
                self._daily[day] += 1
            else:
                self.throttled += 1
            headers = {
                "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
                "X-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - self._daily[day])),
                "X-RateLimit-Interval-Milliseconds": str(int(self.window_s * 1000)),
                "X-RateLimit-Max": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.limit - len(recent))),
            }
            return allowed, headers


# ------------------------------------------------------------------------------------------ the app


class _GHL:
    """Request handlers over the DocStore (one location)."""

    def __init__(self, store: DocStore, sample_dir: Path):
        self.store = store
        self.sample_dir = Path(sample_dir)
        manifest = _read_json(self.sample_dir / "manifest.json", {})
        self._seed()
        self.location_id = manifest.get("location_id") or self.store.get_meta("location_id") or DEFAULT_LOCATION
        self._id_lock = threading.Lock()

    # ---------------------------------------------------------------- seeding and ids

    def _seed(self) -> None:
        if self.store.get_meta("seeded"):
            return
        ghl = self.sample_dir / "ghl"
        pipelines = _read_json(ghl / "pipelines.json", {"pipelines": []})
        calendars = _read_json(ghl / "calendars.json", [])
        collections = {
            "users": _read_json(ghl / "users.json", []),
            "pipelines": pipelines.get("pipelines", []) if isinstance(pipelines, dict) else pipelines,
            "contacts": _read_jsonl(ghl / "contacts.jsonl"),
            "opportunities": _read_jsonl(ghl / "opportunities.jsonl"),
            "notes": _read_jsonl(ghl / "notes.jsonl"),
            "messages": _read_jsonl(ghl / "messages.jsonl"),
            "calendars": calendars.get("calendars", []) if isinstance(calendars, dict) else calendars,
            "appointments": _read_jsonl(ghl / "appointments.jsonl"),
        }
        for name, docs in collections.items():
            if docs:
                self.store.put_many(name, [(str(doc["id"]), doc) for doc in docs])
        manifest = _read_json(self.sample_dir / "manifest.json", {})
        if manifest.get("location_id"):
            self.store.set_meta("location_id", manifest["location_id"])
        self.store.set_meta("seeded", _now_iso())

    def new_id(self, collection: str, body: Any) -> str:
        """A deterministic 20-char GHL-looking id from the collection size and the payload."""
        with self._id_lock:
            n = self.store.count(collection)
            for salt in range(1000):
                digest = hashlib.sha256(f"{collection}:{n}:{salt}:{json.dumps(body, sort_keys=True)}".encode()).digest()
                alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                num = int.from_bytes(digest, "big")
                ident = "".join(alphabet[(num >> (6 * i)) % 62] for i in range(20))
                if self.store.get(collection, ident) is None:
                    return ident
        raise RuntimeError("could not allocate an id")

    def check_location(self, location_id: Any, name: str = "locationId") -> None:
        if not location_id:
            raise _invalid(f"{name} should not be empty")
        if location_id != self.location_id:
            raise ApiError(403, "The token does not have access to this location.")

    # ---------------------------------------------------------------- contacts

    def contact_or_404(self, contact_id: str) -> dict:
        contact = self.store.get("contacts", contact_id)
        if contact is None:
            raise ApiError(404, "Contact not found")
        return contact

    @staticmethod
    def contact_out(doc: dict) -> dict:
        out = dict(doc)
        out.setdefault("tags", [])
        out.setdefault("customFields", [])
        out.setdefault("dnd", False)
        if out.get("email"):
            out["emailLowerCase"] = out["email"].lower()
        full = " ".join(p for p in (out.get("firstName"), out.get("lastName")) if p)
        if full and not out.get("name"):
            out["name"] = full
        return out

    def _sorted_contacts(self) -> list[dict]:
        return sorted(self.store.all("contacts"), key=lambda c: (_ms(c.get("dateAdded")), c["id"]))

    async def search_contacts(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise _invalid("body must be a JSON object")
        self.check_location(body.get("locationId"))
        if body.get("filters"):
            raise ApiError(400, "filters are not supported by this emulator")
        page_limit = body.get("pageLimit", 20)
        if not isinstance(page_limit, int) or not 1 <= page_limit <= 500:
            raise _invalid("pageLimit must be an integer between 1 and 500")
        contacts = self._sorted_contacts()
        query = (body.get("query") or "").strip().lower()
        if query:
            def hit(c: dict) -> bool:
                hay = " ".join(str(c.get(k) or "") for k in ("firstName", "lastName", "name", "email",
                                                             "companyName", "phone"))
                return query in hay.lower()
            contacts = [c for c in contacts if hit(c)]
        total = len(contacts)
        if body.get("searchAfter") is not None:
            after = body["searchAfter"]
            sort_value = _number(after[0]) if isinstance(after, list) and len(after) == 2 else None
            if sort_value is None:
                raise _invalid("searchAfter must be the [number, id] of the last contact of the previous page")
            key = (int(sort_value), str(after[1]))
            contacts = [c for c in contacts if (_ms(c.get("dateAdded")), c["id"]) > key]
        else:
            page = body.get("page", 1)
            if not isinstance(page, int) or page < 1:
                raise _invalid("page must be a positive integer")
            if page * page_limit > 10_000:
                raise _invalid("page * pageLimit must not exceed 10000; use searchAfter")
            contacts = contacts[(page - 1) * page_limit:]
        out = []
        for c in contacts[:page_limit]:
            item = self.contact_out(c)
            item["searchAfter"] = [_ms(c.get("dateAdded")), c["id"]]
            out.append(item)
        return JSONResponse({"contacts": out, "total": total})

    def _find_duplicate(self, email: str | None, phone: str | None) -> dict | None:
        email = (email or "").strip().lower()
        phone = re.sub(r"[^\d+]", "", phone or "")
        for c in self.store.all("contacts"):
            if email and (c.get("email") or "").lower() == email:
                return c
            if phone and re.sub(r"[^\d+]", "", c.get("phone") or "") == phone:
                return c
        return None

    async def duplicate(self, request: Request) -> Response:
        q = request.query_params
        self.check_location(q.get("locationId"))
        found = self._find_duplicate(q.get("email"), q.get("number"))
        return JSONResponse({"contact": self.contact_out(found) if found else None})

    def _apply_contact(self, doc: dict, body: dict) -> list[str]:
        """Merge ``body`` into ``doc``; returns custom-field errors (the fields are dropped, the rest kept)."""
        errors: list[str] = []
        for key, value in body.items():
            if key in ("customFields", "locationId", "createNewIfDuplicateAllowed"):
                continue
            doc[key] = value
        if "customFields" in body:
            fields = {f["id"]: f for f in doc.get("customFields", [])}
            for entry in body["customFields"] or []:
                field_id = entry.get("id") or entry.get("key")
                value = entry.get("field_value", entry.get("value"))
                if field_id in NUMERIC_CUSTOM_FIELDS and _number(value) is None:
                    errors.append(f"customFields.{field_id} must be a number")
                    continue
                fields[field_id] = {"id": field_id, "value": str(value) if value is not None else ""}
            doc["customFields"] = list(fields.values())
        return errors

    @staticmethod
    def _validate_contact_body(body: dict) -> None:
        problems = []
        if "email" in body and body["email"] and not EMAIL_RE.match(str(body["email"])):
            problems.append("email must be an email")
        if "tags" in body and not (isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])):
            problems.append("tags must be an array of strings")
        if "customFields" in body and not isinstance(body["customFields"], list):
            problems.append("customFields must be an array")
        if "dnd" in body and not isinstance(body["dnd"], bool):
            problems.append("dnd must be a boolean value")
        if problems:
            raise _invalid(*problems)

    async def upsert(self, request: Request) -> Response:
        body = _check_fields(await _json_body(request), UPSERT_FIELDS)
        self.check_location(body.get("locationId"))
        self._validate_contact_body(body)
        if not (body.get("email") or body.get("phone")):
            raise _invalid("email or phone is required")
        existing = None if body.get("createNewIfDuplicateAllowed") else self._find_duplicate(body.get("email"), body.get("phone"))
        now = _now_iso()
        if existing is None:
            doc = {"id": self.new_id("contacts", body), "locationId": self.location_id, "dateAdded": now,
                   "tags": [], "customFields": [], "dnd": False, "type": "lead", "source": body.get("source", "public api")}
            created = True
        else:
            doc = dict(existing)
            created = False
        tags_before = list(doc.get("tags", []))
        errors = self._apply_contact(doc, body)
        if not created and "tags" in body:  # upsert adds tags; it does not drop existing ones
            doc["tags"] = list(dict.fromkeys(tags_before + list(body["tags"])))
        doc["dateUpdated"] = now
        self.store.put("contacts", doc["id"], doc)
        if errors:  # the documented quirk: the contact is stored, the answer is a 422
            raise _invalid(*errors)
        return JSONResponse({"new": created, "contact": self.contact_out(doc), "traceId": self.new_id("traces", doc)})

    async def get_contact(self, request: Request) -> Response:
        return JSONResponse({"contact": self.contact_out(self.contact_or_404(request.path_params["contactId"]))})

    async def update_contact(self, request: Request) -> Response:
        doc = self.contact_or_404(request.path_params["contactId"])
        body = _check_fields(await _json_body(request), UPDATE_CONTACT_FIELDS)
        self._validate_contact_body(body)
        errors = self._apply_contact(doc, body)
        if errors:
            raise _invalid(*errors)
        doc["dateUpdated"] = _now_iso()
        self.store.put("contacts", doc["id"], doc)
        return JSONResponse({"succeded": True, "contact": self.contact_out(doc)})

    async def _tags_body(self, request: Request) -> list[str]:
        body = _check_fields(await _json_body(request), frozenset({"tags"}))
        tags = body.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
            raise _invalid("tags must be a non-empty array of strings")
        return tags

    async def add_tags(self, request: Request) -> Response:
        doc = self.contact_or_404(request.path_params["contactId"])
        tags = await self._tags_body(request)
        doc["tags"] = list(dict.fromkeys(list(doc.get("tags", [])) + tags))
        doc["dateUpdated"] = _now_iso()
        self.store.put("contacts", doc["id"], doc)
        return JSONResponse({"tags": doc["tags"]}, status_code=201)

    async def remove_tags(self, request: Request) -> Response:
        doc = self.contact_or_404(request.path_params["contactId"])
        drop = set(await self._tags_body(request))
        doc["tags"] = [t for t in doc.get("tags", []) if t not in drop]
        doc["dateUpdated"] = _now_iso()
        self.store.put("contacts", doc["id"], doc)
        return JSONResponse({"tags": doc["tags"]})

    async def list_notes(self, request: Request) -> Response:
        contact_id = self.contact_or_404(request.path_params["contactId"])["id"]
        notes = [n for n in self.store.all("notes") if n.get("contactId") == contact_id]
        notes.sort(key=lambda n: (_ms(n.get("dateAdded")), n["id"]), reverse=True)
        return JSONResponse({"notes": notes})

    async def create_note(self, request: Request) -> Response:
        contact_id = self.contact_or_404(request.path_params["contactId"])["id"]
        body = _check_fields(await _json_body(request), NOTE_FIELDS)
        if not isinstance(body.get("body"), str) or not body["body"].strip():
            raise _invalid("body should not be empty")
        note = {"id": self.new_id("notes", body), "contactId": contact_id, "dateAdded": _now_iso(), **body}
        self.store.put("notes", note["id"], note)
        return JSONResponse({"note": note}, status_code=201)

    async def list_tasks(self, request: Request) -> Response:
        contact_id = self.contact_or_404(request.path_params["contactId"])["id"]
        tasks = [t for t in self.store.all("tasks") if t.get("contactId") == contact_id]
        return JSONResponse({"tasks": tasks})

    async def create_task(self, request: Request) -> Response:
        contact_id = self.contact_or_404(request.path_params["contactId"])["id"]
        body = _check_fields(await _json_body(request), TASK_FIELDS)
        problems = []
        if not isinstance(body.get("title"), str) or not body["title"].strip():
            problems.append("title should not be empty")
        if _parse_dt(body.get("dueDate")) is None or not isinstance(body.get("dueDate"), str):
            problems.append("dueDate must be a valid ISO 8601 date string")
        if not isinstance(body.get("completed"), bool):
            problems.append("completed must be a boolean value")
        if problems:
            raise _invalid(*problems)
        task = {"id": self.new_id("tasks", body), "contactId": contact_id, **body}
        self.store.put("tasks", task["id"], task)
        return JSONResponse({"task": task}, status_code=201)

    # ---------------------------------------------------------------- opportunities

    def _opportunity_out(self, doc: dict, contacts: dict[str, dict] | None = None) -> dict:
        out = dict(doc)
        contact = (contacts or {}).get(doc.get("contactId")) if contacts is not None else \
            self.store.get("contacts", doc.get("contactId") or "")
        if contact:
            summary = {"id": contact["id"], "name": self.contact_out(contact).get("name", ""),
                       "companyName": contact.get("companyName", ""), "email": contact.get("email", ""),
                       "phone": contact.get("phone", ""), "tags": contact.get("tags", [])}
            out["contact"] = {k: v for k, v in summary.items() if v is not None}
        return out

    async def search_opportunities(self, request: Request) -> Response:
        q = request.query_params
        self.check_location(q.get("location_id"), "location_id")
        limit = _number(q.get("limit", 20))
        if limit is None or limit != int(limit) or not 1 <= limit <= 100:
            raise _invalid("limit must be an integer between 1 and 100")
        limit = int(limit)
        status = q.get("status")
        if status and status not in (*OPPORTUNITY_STATUSES, "all"):
            raise _invalid(f"status must be one of the following values: {', '.join(OPPORTUNITY_STATUSES)}, all")
        opps = list(self.store.all("opportunities"))
        filters = {"pipelineId": q.get("pipeline_id"), "pipelineStageId": q.get("pipeline_stage_id"),
                   "contactId": q.get("contact_id"), "assignedTo": q.get("assigned_to"), "id": q.get("id")}
        for field, wanted in filters.items():
            if wanted:
                opps = [o for o in opps if o.get(field) == wanted]
        if status and status != "all":
            opps = [o for o in opps if o.get("status") == status]
        if q.get("q"):
            needle = q["q"].lower()
            opps = [o for o in opps if needle in (o.get("name") or "").lower()]
        descending = q.get("order", "added_asc") == "added_desc"
        opps.sort(key=lambda o: (_ms(o.get("createdAt")), o["id"]), reverse=descending)
        total = len(opps)
        if q.get("startAfterId") and q.get("startAfter"):
            start_after = _number(q["startAfter"])
            if start_after is None:
                raise _invalid("startAfter must be a number (epoch milliseconds)")
            key = (int(start_after), q["startAfterId"])
            opps = [o for o in opps if ((_ms(o.get("createdAt")), o["id"]) < key if descending
                                        else (_ms(o.get("createdAt")), o["id"]) > key)]
            page = (total - len(opps)) // limit + 1
        else:
            page = int(_number(q.get("page", 1)) or 1)
            opps = opps[(page - 1) * limit:]
        batch = opps[:limit]
        contacts = {c["id"]: c for c in self.store.all("contacts")}
        meta: dict[str, Any] = {"total": total, "currentPage": page}
        if page > 1:
            meta["prevPage"] = page - 1
        if len(opps) > limit:
            last = batch[-1]
            meta.update(startAfter=_ms(last.get("createdAt")), startAfterId=last["id"], nextPage=page + 1)
            params = {k: v for k, v in q.items() if k not in ("startAfter", "startAfterId", "page")}
            params.update(startAfter=meta["startAfter"], startAfterId=last["id"], page=page + 1)
            meta["nextPageUrl"] = f"{request.base_url}opportunities/search?{urlencode(params)}"
        return JSONResponse({"opportunities": [self._opportunity_out(o, contacts) for o in batch],
                             "meta": meta, "aggregations": {}})

    async def pipelines(self, request: Request) -> Response:
        self.check_location(request.query_params.get("locationId"))
        out = [{"locationId": self.location_id, **p} for p in self.store.all("pipelines")]
        return JSONResponse({"pipelines": out})

    def opportunity_or_404(self, opp_id: str) -> dict:
        doc = self.store.get("opportunities", opp_id)
        if doc is None:
            raise ApiError(404, "Opportunity not found")
        return doc

    async def get_opportunity(self, request: Request) -> Response:
        return JSONResponse({"opportunity": self._opportunity_out(self.opportunity_or_404(request.path_params["id"]))})

    def _set_status(self, doc: dict, status: Any, now: str) -> None:
        if status not in OPPORTUNITY_STATUSES:
            raise _invalid(f"status must be one of the following values: {', '.join(OPPORTUNITY_STATUSES)}")
        if doc.get("status") != status:
            doc["status"] = status
            doc["lastStatusChangeAt"] = now

    async def update_opportunity(self, request: Request) -> Response:
        doc = self.opportunity_or_404(request.path_params["id"])
        body = _check_fields(await _json_body(request), OPPORTUNITY_UPDATE_FIELDS)
        now = _now_iso()
        pipeline_id = body.get("pipelineId", doc.get("pipelineId"))
        if "pipelineStageId" in body or "pipelineId" in body:
            pipeline = self.store.get("pipelines", pipeline_id or "")
            if pipeline is None:
                raise _invalid("pipelineId is invalid")
            stage_id = body.get("pipelineStageId", doc.get("pipelineStageId"))
            if stage_id not in {s["id"] for s in pipeline.get("stages", [])}:
                raise _invalid("pipelineStageId does not belong to the pipeline")
            if stage_id != doc.get("pipelineStageId"):
                doc["lastStageChangeAt"] = now
            doc["pipelineId"], doc["pipelineStageId"] = pipeline_id, stage_id
        if "status" in body:
            self._set_status(doc, body["status"], now)
        if "monetaryValue" in body:
            if _number(body["monetaryValue"]) is None or isinstance(body["monetaryValue"], bool):
                raise _invalid("monetaryValue must be a number")
            doc["monetaryValue"] = body["monetaryValue"]
        for key in ("name", "assignedTo", "customFields"):
            if key in body:
                doc[key] = body[key]
        doc["updatedAt"] = doc["lastActionDate"] = now
        self.store.put("opportunities", doc["id"], doc)
        return JSONResponse({"opportunity": self._opportunity_out(doc)})

    async def update_opportunity_status(self, request: Request) -> Response:
        doc = self.opportunity_or_404(request.path_params["id"])
        body = _check_fields(await _json_body(request), frozenset({"status", "lostReasonId"}))
        now = _now_iso()
        self._set_status(doc, body.get("status"), now)
        if body.get("lostReasonId"):
            doc["lostReasonId"] = body["lostReasonId"]
        doc["updatedAt"] = doc["lastActionDate"] = now
        self.store.put("opportunities", doc["id"], doc)
        return JSONResponse({"succeded": True})

    # ---------------------------------------------------------------- conversations

    def _message_out(self, doc: dict) -> dict:
        out = dict(doc)
        kind = out.get("messageType") or "TYPE_EMAIL"
        out.setdefault("messageType", kind)
        out.setdefault("type", MESSAGE_TYPE_CODES.get(kind, 3))
        out.setdefault("locationId", self.location_id)
        out.setdefault("contentType", "text/html" if kind == "TYPE_EMAIL" else "text/plain")
        out.setdefault("direction", "outbound")
        out.setdefault("body", "")
        return out

    def _conversations(self) -> dict[str, list[dict]]:
        by_id: dict[str, list[dict]] = defaultdict(list)
        for msg in self.store.all("messages"):
            by_id[msg["conversationId"]].append(msg)
        return by_id

    async def search_conversations(self, request: Request) -> Response:
        q = request.query_params
        self.check_location(q.get("locationId"))
        limit = int(_number(q.get("limit", 20)) or 20)
        out = []
        for conv_id, msgs in self._conversations().items():
            contact_id = msgs[0].get("contactId")
            if q.get("contactId") and contact_id != q["contactId"]:
                continue
            if q.get("id") and conv_id != q["id"]:
                continue
            last = max(msgs, key=lambda m: (_ms(m.get("dateAdded")), m["id"]))
            contact = self.contact_out(self.store.get("contacts", contact_id or "") or {})
            kind = last.get("messageType") or "TYPE_EMAIL"
            out.append({
                "id": conv_id, "contactId": contact_id or "", "locationId": self.location_id,
                "lastMessageBody": last.get("body") or "", "lastMessageType": kind,
                "type": "TYPE_EMAIL" if kind == "TYPE_EMAIL" else "TYPE_PHONE",
                "unreadCount": sum(1 for m in msgs if m.get("direction") == "inbound" and m.get("status") != "read"),
                "fullName": contact.get("name") or "", "contactName": contact.get("name") or "",
                "email": contact.get("email") or "", "phone": contact.get("phone") or "",
                "lastMessageDate": _ms(last.get("dateAdded")),
            })
        out.sort(key=lambda c: (-c["lastMessageDate"], c["id"]))
        return JSONResponse({"conversations": out[:limit], "total": len(out)})

    async def list_messages(self, request: Request) -> Response:
        conv_id = request.path_params["conversationId"]
        msgs = self._conversations().get(conv_id)
        if msgs is None:
            raise ApiError(404, "Conversation not found")
        q = request.query_params
        limit = int(_number(q.get("limit", 20)) or 20)
        if not 1 <= limit <= 100:
            raise _invalid("limit must not be greater than 100")
        msgs.sort(key=lambda m: (_ms(m.get("dateAdded")), m["id"]), reverse=True)
        if q.get("lastMessageId"):
            ids = [m["id"] for m in msgs]
            if q["lastMessageId"] not in ids:
                raise _invalid("lastMessageId is invalid")
            msgs = msgs[ids.index(q["lastMessageId"]) + 1:]
        batch = msgs[:limit]
        return JSONResponse({"lastMessageId": batch[-1]["id"] if batch else "",
                             "nextPage": len(msgs) > limit,
                             "messages": [self._message_out(m) for m in batch]})

    async def export_messages(self, request: Request) -> Response:
        q = request.query_params
        self.check_location(q.get("locationId"))
        limit = _number(q.get("limit", 100))
        if limit is None or limit != int(limit) or not 10 <= limit <= 500:
            raise _invalid("limit must be an integer between 10 and 500")
        sort_by, order = q.get("sortBy", "createdAt"), q.get("sortOrder", "desc")
        if sort_by not in ("createdAt", "updatedAt") or order not in ("asc", "desc"):
            raise _invalid("sortBy must be createdAt or updatedAt; sortOrder asc or desc")
        channel = q.get("channel")
        channels = {"Call": "TYPE_CALL", "SMS": "TYPE_SMS", "Email": "TYPE_EMAIL", "WhatsApp": "TYPE_WHATSAPP",
                    "Instagram": "TYPE_INSTAGRAM", "Facebook": "TYPE_FACEBOOK"}
        if channel and channel not in channels:
            raise _invalid(f"channel must be one of the following values: {', '.join(channels)}")
        bounds = {}
        for name in ("startDate", "endDate"):
            if q.get(name):
                bounds[name] = _parse_dt(q[name])
                if bounds[name] is None:
                    raise _invalid(f"{name} must be an ISO 8601 date or epoch milliseconds")
        msgs = [self._message_out(m) for m in self.store.all("messages")]
        if channel:
            msgs = [m for m in msgs if m["messageType"] == channels[channel]]
        for field in ("contactId", "conversationId"):
            if q.get(field):
                msgs = [m for m in msgs if m.get(field) == q[field]]
        if bounds.get("startDate"):
            msgs = [m for m in msgs if _ms(m.get("dateAdded")) >= _ms(bounds["startDate"])]
        if bounds.get("endDate"):
            msgs = [m for m in msgs if _ms(m.get("dateAdded")) <= _ms(bounds["endDate"])]
        key = (lambda m: (_ms(m.get("dateUpdated") or m.get("dateAdded")), m["id"])) if sort_by == "updatedAt" \
            else (lambda m: (_ms(m.get("dateAdded")), m["id"]))
        msgs.sort(key=key, reverse=order == "desc")
        total = len(msgs)
        if q.get("cursor"):
            try:
                last = json.loads(base64.urlsafe_b64decode(q["cursor"].encode()))
                after = (int(last["lastSort"][0]), str(last["lastId"]))
            except (ValueError, KeyError, IndexError, TypeError, OverflowError):
                raise _invalid("cursor is invalid") from None
            msgs = [m for m in msgs if (key(m) < after if order == "desc" else key(m) > after)]
        batch = msgs[:int(limit)]
        body: dict[str, Any] = {"messages": batch, "total": total}
        if len(msgs) > limit:
            sort_value, last_id = key(batch[-1])
            cursor = json.dumps({"lastSort": [sort_value], "lastId": last_id}).encode()
            body["nextCursor"] = base64.urlsafe_b64encode(cursor).decode()
        return JSONResponse(body)

    async def send_message(self, request: Request) -> Response:
        body = _check_fields(await _json_body(request), MESSAGE_FIELDS)
        problems = []
        if body.get("type") not in MESSAGE_TYPES:
            problems.append(f"type must be one of the following values: {', '.join(MESSAGE_TYPES)}")
        if not body.get("contactId"):
            problems.append("contactId should not be empty")
        if body.get("type") == "Email":
            if not body.get("subject"):
                problems.append("subject should not be empty for Email")
            if not (body.get("html") or body.get("message")):
                problems.append("html or message is required for Email")
        if problems:
            raise _invalid(*problems)
        if body["type"] != "Email":
            raise ApiError(400, f"Message type {body['type']} is not supported by this emulator")
        contact = self.contact_or_404(body["contactId"])
        if not contact.get("email"):
            raise ApiError(400, "Contact does not have an email address")
        if contact.get("dnd") or ((contact.get("dndSettings") or {}).get("Email") or {}).get("status") == "active":
            raise ApiError(400, "Cannot send message as DND is active for Email.")
        existing = [cid for cid, msgs in self._conversations().items() if msgs[0].get("contactId") == contact["id"]]
        conv_id = sorted(existing)[0] if existing else self.new_id("conversations", {"contactId": contact["id"]})
        msg_id = self.new_id("messages", body)
        message = {
            "id": msg_id, "conversationId": conv_id, "contactId": contact["id"], "locationId": self.location_id,
            "direction": "outbound", "status": "delivered", "messageType": "TYPE_EMAIL", "type": 3,
            "contentType": "text/html", "subject": body["subject"], "body": body.get("html") or body.get("message"),
            "dateAdded": _now_iso(), "source": "api",
            "meta": {"email": {"messageIds": [msg_id], "emailFrom": body.get("emailFrom"),
                               "threadId": body.get("threadId")}},
        }
        self.store.put("messages", msg_id, message)
        return JSONResponse({"conversationId": conv_id, "messageId": msg_id, "emailMessageId": msg_id,
                             "msg": "Email queued successfully.", "status": "delivered"})

    # ---------------------------------------------------------------- calendars

    async def list_calendars(self, request: Request) -> Response:
        self.check_location(request.query_params.get("locationId"))
        out = [{"locationId": self.location_id, "isActive": True, **c} for c in self.store.all("calendars")]
        return JSONResponse({"calendars": out})

    def calendar_or_error(self, calendar_id: str) -> dict:
        calendar = self.store.get("calendars", calendar_id or "")
        if calendar is None:
            raise ApiError(400, "Calendar not found")
        return calendar

    def _calendar_tz(self, calendar: dict) -> ZoneInfo:
        for member in calendar.get("teamMembers") or []:
            user = self.store.get("users", member.get("userId") or "")
            if user and user.get("timezone"):
                try:
                    return ZoneInfo(user["timezone"])
                except ZoneInfoNotFoundError:
                    break
        return ZoneInfo(calendar.get("timezone") or "UTC")

    @staticmethod
    def _minutes(value: Any, unit: Any, default: float) -> timedelta:
        amount = _number(value) or default
        return timedelta(minutes=amount * (60 if unit == "hours" else 1))

    def _busy(self, calendar_id: str) -> list[tuple[datetime, datetime]]:
        busy = []
        for event in self.store.all("appointments"):
            if event.get("calendarId") != calendar_id or event.get("appointmentStatus") in INACTIVE_APPOINTMENTS:
                continue
            start, end = _parse_dt(event.get("startTime")), _parse_dt(event.get("endTime"))
            if start and end:
                busy.append((start, end))
        return busy

    def free_slots(self, calendar: dict, start: datetime, end: datetime) -> list[datetime]:
        """Slot starts in [start, end]: open hours (in the AE's timezone) minus booked appointments."""
        tz = self._calendar_tz(calendar)
        duration = self._minutes(calendar.get("slotDuration"), calendar.get("slotDurationUnit"), 30)
        interval = self._minutes(calendar.get("slotInterval") or calendar.get("slotDuration"),
                                 calendar.get("slotIntervalUnit") or calendar.get("slotDurationUnit"), 30)
        per_slot = int(_number(calendar.get("appoinmentPerSlot")) or 1)
        busy = self._busy(calendar["id"])
        slots = []
        day = start.astimezone(tz).date()
        while day <= end.astimezone(tz).date():
            weekday = (day.weekday() + 1) % 7  # GHL: 0 = Sunday
            for rule in calendar.get("openHours") or []:
                if weekday not in rule.get("daysOfTheWeek", []):
                    continue
                for hours in rule.get("hours", []):
                    cursor = datetime(day.year, day.month, day.day, int(hours["openHour"]), int(hours["openMinute"]), tzinfo=tz)
                    close = datetime(day.year, day.month, day.day, int(hours["closeHour"]), int(hours["closeMinute"]), tzinfo=tz)
                    while cursor + duration <= close:
                        slot_end = cursor + duration
                        clashes = sum(1 for b0, b1 in busy if b0 < slot_end and cursor < b1)
                        if start <= cursor <= end and clashes < per_slot:
                            slots.append(cursor)
                        cursor += interval
            day += timedelta(days=1)
        return sorted(set(slots))

    async def get_free_slots(self, request: Request) -> Response:
        calendar = self.calendar_or_error(request.path_params["calendarId"])
        q = request.query_params
        start_ms, end_ms = _number(q.get("startDate")), _number(q.get("endDate"))
        problems = [f"{name} must be a number (epoch milliseconds)"
                    for name, v in (("startDate", start_ms), ("endDate", end_ms)) if v is None]
        if problems:
            raise _invalid(*problems)
        start, end = _from_ms(start_ms), _from_ms(end_ms)
        problems = [f"{name} must be a valid date (epoch milliseconds)"
                    for name, v in (("startDate", start), ("endDate", end)) if v is None]
        if problems:
            raise _invalid(*problems)
        try:
            out_tz = ZoneInfo(q.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise _invalid("timezone is invalid") from None
        if end < start:
            raise _invalid("endDate must be after startDate")
        if end - start > timedelta(days=31):
            raise _invalid("Date range can not be more than 31 days")
        by_day: dict[str, dict[str, list[str]]] = {}
        for slot in self.free_slots(calendar, start, end):
            local = slot.astimezone(out_tz)
            by_day.setdefault(local.date().isoformat(), {"slots": []})["slots"].append(local.isoformat())
        return JSONResponse(by_day)

    def _event_out(self, doc: dict) -> dict:
        out = dict(doc)
        out.setdefault("title", "")
        out.setdefault("groupId", "")
        out.setdefault("appointmentStatus", "confirmed")
        out.setdefault("assignedUserId", "")
        out.setdefault("users", [out["assignedUserId"]] if out["assignedUserId"] else [])
        out.setdefault("locationId", self.location_id)
        out.setdefault("dateAdded", out.get("startTime"))
        out.setdefault("dateUpdated", out.get("dateAdded"))
        return out

    async def book(self, request: Request) -> Response:
        body = _check_fields(await _json_body(request), APPOINTMENT_FIELDS)
        problems = [f"{name} should not be empty" for name in ("calendarId", "locationId", "contactId", "startTime")
                    if not body.get(name)]
        start = _parse_dt(body.get("startTime"))
        if body.get("startTime") and start is None:
            problems.append("startTime must be a valid ISO 8601 date string")
        if body.get("endTime") and _parse_dt(body["endTime"]) is None:
            problems.append("endTime must be a valid ISO 8601 date string")
        if body.get("appointmentStatus") and body["appointmentStatus"] not in APPOINTMENT_STATUSES:
            problems.append(f"appointmentStatus must be one of: {', '.join(APPOINTMENT_STATUSES)}")
        if problems:
            raise _invalid(*problems)
        self.check_location(body["locationId"])
        calendar = self.calendar_or_error(body["calendarId"])
        contact = self.contact_or_404(body["contactId"])
        assert start is not None
        duration = self._minutes(calendar.get("slotDuration"), calendar.get("slotDurationUnit"), 30)
        end = _parse_dt(body.get("endTime")) or start + duration
        if end <= start:
            raise _invalid("endTime must be after startTime")
        if not body.get("ignoreFreeSlotValidation") and start not in self.free_slots(calendar, start, start):
            raise ApiError(400, "The slot you have selected is no longer available.")
        members = [m.get("userId") for m in calendar.get("teamMembers") or [] if m.get("userId")]
        assigned = body.get("assignedUserId") or (members[0] if members else "")
        now = _now_iso()
        event = {
            "id": self.new_id("appointments", body), "calendarId": calendar["id"], "locationId": self.location_id,
            "contactId": contact["id"], "title": body.get("title") or calendar.get("eventTitle") or calendar.get("name", ""),
            "appointmentStatus": body.get("appointmentStatus", "confirmed"), "assignedUserId": assigned,
            "users": [assigned] if assigned else [], "groupId": calendar.get("groupId", ""),
            "startTime": body["startTime"], "endTime": body.get("endTime") or end.isoformat(),
            "address": body.get("address", ""), "dateAdded": now, "dateUpdated": now, "isRecurring": False,
        }
        self.store.put("appointments", event["id"], event)
        keys = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title",
                "appointmentStatus", "assignedUserId", "address", "isRecurring")
        return JSONResponse({k: event[k] for k in keys})

    async def list_events(self, request: Request) -> Response:
        q = request.query_params
        self.check_location(q.get("locationId"))
        if not (q.get("calendarId") or q.get("userId") or q.get("groupId")):
            raise _invalid("one of calendarId, userId or groupId is required")
        start, end = _parse_dt(q.get("startTime")), _parse_dt(q.get("endTime"))
        if start is None or end is None:
            raise _invalid("startTime and endTime must be epoch milliseconds")
        out = []
        for event in self.store.all("appointments"):
            if q.get("calendarId") and event.get("calendarId") != q["calendarId"]:
                continue
            if q.get("userId") and event.get("assignedUserId") != q["userId"]:
                continue
            if q.get("groupId") and event.get("groupId") != q["groupId"]:
                continue
            e0, e1 = _parse_dt(event.get("startTime")), _parse_dt(event.get("endTime"))
            if e0 and e1 and e0 < end and start < e1:
                out.append(self._event_out(event))
        out.sort(key=lambda e: (_ms(e.get("startTime")), e["id"]))
        return JSONResponse({"events": out})


Handler = Callable[[Request], Awaitable[Response]]


def build_app(store: DocStore, sample_dir: Path, *, rate_limit: int = RATE_LIMIT,
              rate_window_s: float = RATE_WINDOW_S) -> Starlette:
    """The GoHighLevel emulator app; ``app.state.throttle.throttled`` counts the 429s it sent itself."""
    ghl = _GHL(store, sample_dir)
    throttle = _Throttle(rate_limit, rate_window_s)

    def api(handler: Handler, documented: frozenset[int]) -> Handler:
        async def endpoint(request: Request) -> Response:
            token = request.headers.get("authorization", "")
            scheme, _, value = token.partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value or value == "invalid" or value.startswith("rejected"):
                return JSONResponse(_body_for(401, "Invalid JWT"), status_code=401)
            allowed, headers = throttle.take(ghl.location_id)
            if not allowed:
                return JSONResponse(_body_for(429, "Too many requests"), status_code=429, headers=headers)
            service = request.url.path.strip("/").split("/", 1)[0]
            version = request.headers.get("version")
            if version != VERSIONS[service]:
                message = f"Version header must be {VERSIONS[service]} for /{service} (got {version or 'none'})"
                return JSONResponse(_body_for(400, message), status_code=400, headers=headers)
            try:
                response = await handler(request)
            except ApiError as exc:
                response = _answer(exc, documented)
            response.headers.update(headers)
            return response
        return endpoint

    routes = [Route(served, api(getattr(ghl, handler), documented), methods=[method])
              for method, path, handler, documented in ENDPOINTS
              for served in (path, *([ALSO_SERVED[path]] if path in ALSO_SERVED else []))]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse(_body_for(404, f"Cannot {request.method} {request.url.path}"), status_code=404)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse(_body_for(404, f"Cannot {request.method} {request.url.path}"), status_code=404)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed})
    app.router.redirect_slashes = False
    app.state.ghl = ghl
    app.state.throttle = throttle
    return app
