"""GoHighLevel (LeadConnector API v2) as a Dagster resource: the CRM every agent reads and writes.

Why a hand-rolled client: there is no maintained Python SDK for v2, and we need the project's retry,
rate-limit and error policy (``resources/_http.py``) on every call. Facts the OpenAPI files lack come
from /work/shared/api-specs/README.md: a ``Version`` header per service, 100 requests per 10 s per
location (``X-RateLimit-*`` headers), opportunity search paging on ``meta.startAfter/startAfterId``,
and "create may answer 422 yet have created the contact" -- so we upsert and reconcile.

Nothing happens at construction: the HTTP session is created on first use (or in
``setup_for_execution``). The key only ever travels in the ``Authorization`` header; errors name the
env var that holds it (``key_env_var``), never the key.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import dagster as dg
import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from revops_assets.resources._http import (
    MalformedResponse,
    RateLimiter,
    ServiceError,
    ValidationError,
    make_session,
    parse_json,
    raise_for_status,
    retry_malformed,
    transport_error,
)

SERVICE = "GoHighLevel"

# Contact custom fields carrying firmographics. The sample generator emits these ids; a live location
# must map its own custom-field ids here (GHL ids are per location).
CUSTOM_FIELD_IDS: dict[str, str] = {
    "industry": "cf_industry",
    "employee_count": "cf_employee_count",
    "region": "cf_region",
    "seniority": "cf_seniority",
    "title": "cf_title",
}

# API version per service (README of the shared specs; the OpenAPI files pin the same enums).
VERSIONS: dict[str, str] = {
    "contacts": "2021-07-28",
    "opportunities": "2021-07-28",
    "conversations": "2021-04-15",
    "calendars": "2021-04-15",
}

RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining", "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max", "X-RateLimit-Remaining",
)

OPPORTUNITY_STATUSES = ("open", "won", "lost", "abandoned")


class ContactDND(ValidationError):
    """The contact has Do-Not-Disturb on for the channel: GHL refuses to send (never retry)."""


# -------------------------------------------------------------------------------------------- models


class GHLModel(BaseModel):
    """Wire objects: snake_case in Python, camelCase on the wire, unknown fields kept (``extra``)."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class CustomFieldValue(GHLModel):
    id: str
    value: Any = Field(default=None, validation_alias=AliasChoices("value", "fieldValue", "field_value"))


class Contact(GHLModel):
    id: str
    location_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "contactName"))
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    website: str | None = None
    timezone: str | None = None
    country: str | None = None
    source: str | None = None
    assigned_to: str | None = None
    dnd: bool = False
    dnd_settings: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[CustomFieldValue] = Field(default_factory=list)
    date_added: str | None = None
    date_updated: str | None = None
    search_after: list[Any] | None = None

    def custom(self, name: str, default: Any = None) -> Any:
        """A firmographic by friendly name (see ``CUSTOM_FIELD_IDS``) or by raw custom-field id."""
        field_id = CUSTOM_FIELD_IDS.get(name, name)
        for field in self.custom_fields:
            if field.id == field_id:
                return field.value
        return default

    @property
    def full_name(self) -> str:
        return self.name or " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def email_blocked(self) -> bool:
        """DND globally or for the Email channel."""
        email = (self.dnd_settings or {}).get("Email") or {}
        return self.dnd or email.get("status") == "active"


class Stage(GHLModel):
    id: str
    name: str
    position: int | None = None


class Pipeline(GHLModel):
    id: str
    name: str
    stages: list[Stage] = Field(default_factory=list)
    location_id: str | None = None

    def stage(self, name_or_id: str) -> Stage:
        for stage in self.stages:
            if name_or_id in (stage.id, stage.name):
                return stage
        raise KeyError(f"pipeline {self.name!r} has no stage {name_or_id!r}")


class Opportunity(GHLModel):
    id: str
    name: str | None = None
    monetary_value: float | None = None
    pipeline_id: str | None = None
    pipeline_stage_id: str | None = None
    assigned_to: str | None = None
    status: str | None = None
    source: str | None = None
    contact_id: str | None = None
    location_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_stage_change_at: str | None = None
    last_status_change_at: str | None = None
    contact: dict[str, Any] | None = None
    custom_fields: list[dict[str, Any]] = Field(default_factory=list)


class Note(GHLModel):
    id: str
    body: str | None = None
    user_id: str | None = None
    contact_id: str | None = None
    date_added: str | None = None


class Task(GHLModel):
    id: str
    title: str | None = None
    body: str | None = None
    assigned_to: str | None = None
    due_date: str | None = None
    completed: bool = False
    contact_id: str | None = None


class Message(GHLModel):
    id: str
    conversation_id: str | None = None
    contact_id: str | None = None
    location_id: str | None = None
    direction: str | None = None
    status: str | None = None
    message_type: str | None = None
    subject: str | None = None
    body: str | None = None
    date_added: str | None = None
    email_message_id: str | None = None
    meta: dict[str, Any] | None = None


class Conversation(GHLModel):
    id: str
    contact_id: str | None = None
    location_id: str | None = None
    last_message_body: str | None = None
    last_message_type: str | None = None
    type: str | None = None
    unread_count: float | None = None
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None


class Calendar(GHLModel):
    id: str
    name: str | None = None
    location_id: str | None = None
    calendar_type: str | None = None
    is_active: bool | None = None
    slot_duration: float | None = None
    slot_duration_unit: str | None = None
    team_members: list[dict[str, Any]] = Field(default_factory=list)
    open_hours: list[dict[str, Any]] = Field(default_factory=list)


class FreeSlot(GHLModel):
    """A bookable start time (GHL reports starts only; the calendar's slot duration gives the end)."""

    start: datetime
    date: str


class Appointment(GHLModel):
    id: str
    calendar_id: str | None = None
    location_id: str | None = None
    contact_id: str | None = None
    title: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    appointment_status: str | None = None
    assigned_user_id: str | None = None

    @property
    def start(self) -> datetime | None:
        return _parse_dt(self.start_time)

    @property
    def end(self) -> datetime | None:
        return _parse_dt(self.end_time)


def _parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1000)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


# ------------------------------------------------------------------------------------------ resource

InvalidRecord = Callable[[Any, str], None]


def _validated(model: type[GHLModel], records: list[Any], on_invalid: InvalidRecord | None) -> Iterator[Any]:
    """Each record as ``model``; one that does not fit goes to ``on_invalid`` with the reason (or raises)."""
    for record in records:
        try:
            yield model.model_validate(record)
        except PydanticValidationError as exc:
            if on_invalid is None:
                raise
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "record"
            on_invalid(record, f"invalid {model.__name__} field {field}: {err['msg']}")


class GoHighLevelResource(dg.ConfigurableResource):
    """The GoHighLevel CRM of one location (contacts, opportunities, conversations, calendars)."""

    api_key: str
    location_id: str
    base_url: str = "https://services.leadconnectorhq.com"
    timeout_s: float = 15
    max_retries: int = 5
    requests_per_10s: int = 100
    key_env_var: str = "GHL_API_KEY"
    # Tuning knobs (tests shrink them; production keeps the defaults).
    backoff_factor: float = 0.5
    backoff_max_s: float = 20.0
    rate_window_s: float = 10.0
    malformed_retries: int = 2
    # Demo: with ``base_url=""`` call this home's GHL emulator, started lazily on first use.
    demo_home: str | None = None

    _sessions: dict[str, requests.Session] | None = PrivateAttr(default=None)
    _url: str = PrivateAttr(default="")
    _limiter: RateLimiter | None = PrivateAttr(default=None)
    _rate_limit: dict[str, str] = PrivateAttr(default_factory=dict)
    _hooks: list[Callable[[requests.Response], None]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # ------------------------------------------------------------------------------- lifecycle

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._ensure_sessions()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._sessions:
            for session in self._sessions.values():
                session.close()
        self._sessions = None

    def _ensure_sessions(self) -> dict[str, requests.Session]:
        with self._lock:
            if self._sessions is None:
                base_url = self.base_url
                if not base_url and self.demo_home:
                    from revops_assets.resources.core import resolve_base_url

                    base_url = resolve_base_url("ghl", "", self.demo_home)
                if not base_url:
                    raise ValueError("GoHighLevelResource needs base_url (or demo_home in demo mode)")
                self._url = base_url.rstrip("/")
                # One limiter per resource instance: Dagster builds one per run and process; several
                # processes share the location's budget only through the server's 429 (retried).
                self._limiter = RateLimiter(self.requests_per_10s, self.rate_window_s)
                common = dict(
                    max_retries=self.max_retries, backoff_factor=self.backoff_factor,
                    backoff_max=self.backoff_max_s, connect_timeout_s=min(5.0, self.timeout_s),
                    read_timeout_s=self.timeout_s, limiter=self._limiter,
                    headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"},
                )
                self._sessions = {
                    # reads and idempotent writes (POST search/upsert included): retried on 429 and 5xx
                    "safe": make_session(**common, any_method=True),
                    # writes that must not happen twice (send email, create note/task, book): 429 only
                    "once": make_session(**common, statuses=(429,)),
                }
            return self._sessions

    # ------------------------------------------------------------------------------- observability

    @property
    def last_rate_limit(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers of the most recent response (empty before the first call)."""
        return dict(self._rate_limit)

    @property
    def limiter(self) -> RateLimiter:
        self._ensure_sessions()
        assert self._limiter is not None
        return self._limiter

    def add_response_hook(self, hook: Callable[[requests.Response], None]) -> None:
        """Call ``hook(response)`` with every final response (tests validate traffic against the spec)."""
        self._hooks.append(hook)

    # ------------------------------------------------------------------------------- transport

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json: Any = None, idempotent: bool = True) -> Any:
        service = path.strip("/").split("/", 1)[0]
        version = VERSIONS[service]
        session = self._ensure_sessions()["safe" if idempotent else "once"]
        url = self._url + path
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}

        def attempt() -> Any:
            try:
                with self.limiter:
                    response = session.request(method, url, params=clean_params, json=json,
                                               headers={"Version": version})
            except requests.RequestException as exc:
                raise transport_error(SERVICE, exc) from None
            self._record(response)
            raise_for_status(SERVICE, response, self.key_env_var, endpoint=f"{method} {path}")
            return parse_json(SERVICE, response)

        try:
            if not idempotent:  # a malformed 200 to a send means it was sent: never re-send
                return attempt()
            return retry_malformed(attempt, 1 + self.malformed_retries, self.backoff_factor)
        except ValidationError as exc:
            if "DND" in exc.message:
                raise ContactDND(exc.service, exc.status, exc.message, exc.body) from None
            raise

    def _record(self, response: requests.Response) -> None:
        seen = {h: response.headers[h] for h in RATE_LIMIT_HEADERS if h in response.headers}
        if seen:
            self._rate_limit = seen
        for hook in self._hooks:
            hook(response)

    @staticmethod
    def _expect(body: Any, key: str, what: str) -> Any:
        if not isinstance(body, dict) or key not in body:
            raise MalformedResponse(SERVICE, 200, f"{what}: expected a JSON object with {key!r}", body)
        return body[key]

    # ------------------------------------------------------------------------------- health

    def verify(self) -> None:
        """One cheap authenticated call; raises AuthError (naming ``key_env_var``) on 401/403."""
        self._request("GET", "/opportunities/pipelines", params={"locationId": self.location_id})

    # ------------------------------------------------------------------------------- contacts

    def search_contacts(self, query: str | None = None, page_limit: int = 100,
                        on_invalid: InvalidRecord | None = None) -> Iterator[Contact]:
        """All contacts matching ``query`` (all contacts if None): page 1, then ``searchAfter`` cursors.

        ``on_invalid(raw, reason)`` receives records that do not fit the model (they are skipped, the
        rest go on); without it such a record raises.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit, "page": 1}
        if query:
            body["query"] = query
        while True:
            page = self._request("POST", "/contacts/search", json=body)
            raw = self._expect(page, "contacts", "search contacts")
            yield from _validated(Contact, raw, on_invalid)
            last = raw[-1] if raw and isinstance(raw[-1], dict) else {}
            if len(raw) < page_limit or not last.get("searchAfter"):
                return
            body = {k: v for k, v in body.items() if k != "page"}
            body["searchAfter"] = last["searchAfter"]

    def get_contact(self, contact_id: str) -> Contact:
        body = self._request("GET", f"/contacts/{contact_id}")
        return Contact.model_validate(self._expect(body, "contact", "get contact"))

    def find_duplicate(self, email: str | None = None, phone: str | None = None) -> Contact | None:
        """The existing contact GHL would treat as this email/phone's duplicate, if any."""
        body = self._request("GET", "/contacts/search/duplicate",
                             params={"locationId": self.location_id, "email": email, "number": phone})
        found = body.get("contact") if isinstance(body, dict) else None
        return Contact.model_validate(found) if found else None

    def upsert_contact(self, payload: dict[str, Any]) -> tuple[Contact, bool]:
        """Create or update by email/phone; returns ``(contact, created)``.

        GHL may answer 422 yet have stored the contact (e.g. a rejected custom-field value): on 422 we
        look the contact up as a duplicate and, if it is there, return it -- ``created`` is then True
        when it was added at or after this call started.
        """
        body = {"locationId": self.location_id, **payload}
        started = datetime.now(timezone.utc) - timedelta(seconds=5)
        try:
            answer = self._request("POST", "/contacts/upsert", json=body)
        except ValidationError as exc:
            if exc.status != 422 or not (body.get("email") or body.get("phone")):
                raise
            found = self.find_duplicate(email=body.get("email"), phone=body.get("phone"))
            if found is None:
                raise
            added = _parse_dt(found.date_added)
            return found, bool(added and added >= started)
        contact = Contact.model_validate(self._expect(answer, "contact", "upsert contact"))
        return contact, bool(answer.get("new"))

    def update_contact(self, contact_id: str, payload: dict[str, Any]) -> Contact:
        body = self._request("PUT", f"/contacts/{contact_id}", json=payload)
        return Contact.model_validate(self._expect(body, "contact", "update contact"))

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        body = self._request("POST", f"/contacts/{contact_id}/tags", json={"tags": list(tags)})
        return list(self._expect(body, "tags", "add tags"))

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        body = self._request("DELETE", f"/contacts/{contact_id}/tags", json={"tags": list(tags)})
        return list(self._expect(body, "tags", "remove tags"))

    def list_notes(self, contact_id: str) -> list[Note]:
        body = self._request("GET", f"/contacts/{contact_id}/notes")
        return [Note.model_validate(n) for n in self._expect(body, "notes", "list notes")]

    def create_note(self, contact_id: str, body: str, user_id: str | None = None) -> Note:
        payload: dict[str, Any] = {"body": body}
        if user_id:
            payload["userId"] = user_id
        answer = self._request("POST", f"/contacts/{contact_id}/notes", json=payload, idempotent=False)
        return Note.model_validate(self._expect(answer, "note", "create note"))

    def list_tasks(self, contact_id: str) -> list[Task]:
        body = self._request("GET", f"/contacts/{contact_id}/tasks")
        return [Task.model_validate(t) for t in self._expect(body, "tasks", "list tasks")]

    def create_task(self, contact_id: str, title: str, body: str, due_date: datetime | str,
                    assigned_to: str | None = None) -> Task:
        payload: dict[str, Any] = {"title": title, "body": body, "completed": False,
                                   "dueDate": due_date if isinstance(due_date, str) else _iso(due_date)}
        if assigned_to:
            payload["assignedTo"] = assigned_to
        answer = self._request("POST", f"/contacts/{contact_id}/tasks", json=payload, idempotent=False)
        return Task.model_validate(self._expect(answer, "task", "create task"))

    # ------------------------------------------------------------------------------- opportunities

    def search_opportunities(self, pipeline_id: str | None = None, status: str | None = None,
                             limit: int = 100, on_invalid: InvalidRecord | None = None) -> Iterator[Opportunity]:
        """All matching opportunities, following ``meta.startAfter/startAfterId`` to the last page.

        ``on_invalid`` as in :meth:`search_contacts`.
        """
        params: dict[str, Any] = {"location_id": self.location_id, "pipeline_id": pipeline_id,
                                  "status": status, "limit": limit}
        while True:
            page = self._request("GET", "/opportunities/search", params=params)
            raw = self._expect(page, "opportunities", "search opportunities")
            yield from _validated(Opportunity, raw, on_invalid)
            meta = page.get("meta") or {}
            if len(raw) < limit or not meta.get("startAfterId") or meta.get("startAfter") is None:
                return
            params = {**params, "startAfter": meta["startAfter"], "startAfterId": meta["startAfterId"]}

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        body = self._request("GET", f"/opportunities/{opportunity_id}")
        return Opportunity.model_validate(self._expect(body, "opportunity", "get opportunity"))

    def get_pipelines(self) -> list[Pipeline]:
        body = self._request("GET", "/opportunities/pipelines", params={"locationId": self.location_id})
        return [Pipeline.model_validate(p) for p in self._expect(body, "pipelines", "get pipelines")]

    def update_opportunity(self, opportunity_id: str, **fields: Any) -> Opportunity:
        """PUT the given fields (snake_case or camelCase); a stage move is ``pipeline_stage_id=...``."""
        payload = {to_camel(k): v for k, v in fields.items()}
        body = self._request("PUT", f"/opportunities/{opportunity_id}", json=payload)
        return Opportunity.model_validate(self._expect(body, "opportunity", "update opportunity"))

    def update_opportunity_status(self, opportunity_id: str, status: str) -> None:
        if status not in OPPORTUNITY_STATUSES:
            raise ValueError(f"status must be one of {OPPORTUNITY_STATUSES}, got {status!r}")
        self._request("PUT", f"/opportunities/{opportunity_id}/status", json={"status": status})

    # ------------------------------------------------------------------------------- conversations

    def send_email(self, contact_id: str, subject: str, html: str, email_from: str | None = None,
                   thread_id: str | None = None) -> Message:
        """Send an email to a contact. Raises :class:`ContactDND` when the contact must not be emailed.

        Never re-sent after a 5xx or a malformed answer (it may have gone out); only a 429 is retried.
        """
        # ``subType`` and ``status`` are marked required by the published schema.
        payload: dict[str, Any] = {"type": "Email", "subType": "Email", "status": "pending",
                                   "contactId": contact_id, "subject": subject, "html": html}
        if email_from:
            payload["emailFrom"] = email_from
        if thread_id:
            payload["threadId"] = thread_id
        answer = self._request("POST", "/conversations/messages", json=payload, idempotent=False)
        if not isinstance(answer, dict) or "messageId" not in answer:
            raise MalformedResponse(SERVICE, 200, "send email: expected messageId", answer)
        return Message(id=answer["messageId"], conversation_id=answer.get("conversationId"),
                       contact_id=contact_id, location_id=self.location_id, direction="outbound",
                       status=answer.get("status"), message_type="TYPE_EMAIL", subject=subject, body=html,
                       email_message_id=answer.get("emailMessageId"),
                       date_added=datetime.now(timezone.utc).isoformat(timespec="milliseconds"))

    def search_conversations(self, contact_id: str) -> list[Conversation]:
        body = self._request("GET", "/conversations/search",
                             params={"locationId": self.location_id, "contactId": contact_id})
        return [Conversation.model_validate(c) for c in self._expect(body, "conversations", "search conversations")]

    def list_messages(self, conversation_id: str, page_limit: int = 100) -> list[Message]:
        """All messages of a conversation, newest first, following ``lastMessageId``/``nextPage``."""
        params: dict[str, Any] = {"limit": page_limit}
        out: list[Message] = []
        while True:
            body = self._request("GET", f"/conversations/{conversation_id}/messages", params=params)
            batch = self._expect(body, "messages", "list messages")
            out.extend(Message.model_validate(m) for m in batch)
            if not body.get("nextPage") or not batch or not body.get("lastMessageId"):
                return out
            params = {**params, "lastMessageId": body["lastMessageId"]}

    def export_messages(self, channel: str | None = "Email", start_date: datetime | None = None,
                        end_date: datetime | None = None, contact_id: str | None = None,
                        conversation_id: str | None = None, page_limit: int = 500) -> Iterator[Message]:
        """Every message of the location (oldest first), following ``nextCursor`` to the end."""
        params: dict[str, Any] = {
            "locationId": self.location_id, "limit": page_limit, "sortBy": "createdAt", "sortOrder": "asc",
            "channel": channel, "contactId": contact_id, "conversationId": conversation_id,
            "startDate": _iso(start_date) if start_date else None, "endDate": _iso(end_date) if end_date else None,
        }
        while True:
            body = self._request("GET", "/conversations/messages/export", params=params)
            yield from (Message.model_validate(m) for m in self._expect(body, "messages", "export messages"))
            if not body.get("nextCursor"):
                return
            params = {**params, "cursor": body["nextCursor"]}

    # ------------------------------------------------------------------------------- calendars

    def list_calendars(self) -> list[Calendar]:
        body = self._request("GET", "/calendars/", params={"locationId": self.location_id})
        return [Calendar.model_validate(c) for c in self._expect(body, "calendars", "list calendars")]

    def get_free_slots(self, calendar_id: str, start: datetime, end: datetime,
                       timezone: str = "UTC") -> list[FreeSlot]:
        body = self._request("GET", f"/calendars/{calendar_id}/free-slots",
                             params={"startDate": _ms(start), "endDate": _ms(end), "timezone": timezone})
        if not isinstance(body, dict):
            raise MalformedResponse(SERVICE, 200, "free slots: expected an object keyed by date", body)
        slots = []
        for day, entry in sorted(body.items()):
            if isinstance(entry, dict) and isinstance(entry.get("slots"), list):
                slots.extend(FreeSlot(start=_parse_dt(s), date=day) for s in entry["slots"])
        return sorted(slots, key=lambda s: s.start)

    def book_appointment(self, calendar_id: str, contact_id: str, start: datetime, end: datetime,
                         title: str, assigned_user_id: str | None = None) -> Appointment:
        payload: dict[str, Any] = {"calendarId": calendar_id, "locationId": self.location_id,
                                   "contactId": contact_id, "startTime": _iso(start), "endTime": _iso(end),
                                   "title": title, "appointmentStatus": "confirmed"}
        if assigned_user_id:
            payload["assignedUserId"] = assigned_user_id
        answer = self._request("POST", "/calendars/events/appointments", json=payload, idempotent=False)
        return Appointment.model_validate(answer)

    def list_events(self, calendar_id: str, start: datetime, end: datetime) -> list[Appointment]:
        body = self._request("GET", "/calendars/events",
                             params={"locationId": self.location_id, "calendarId": calendar_id,
                                     "startTime": str(_ms(start)), "endTime": str(_ms(end))})
        return [Appointment.model_validate(e) for e in self._expect(body, "events", "list events")]


__all__ = [
    "Appointment", "CUSTOM_FIELD_IDS", "Calendar", "Contact", "ContactDND", "Conversation", "FreeSlot",
    "GoHighLevelResource", "Message", "Note", "Opportunity", "Pipeline", "ServiceError", "Stage", "Task",
    "VERSIONS",
]
