"""RB2B visit: the one normalized shape every later step reads, and the lenient parser that builds it.

RB2B pushes each identification once and never retries (see shared/api-specs/rb2b/README.md), so the
parser is lenient where the vendor is sloppy (``Seen At``, ``Employee Count``, ``Tags``, key spelling)
and strict only where a body cannot be a visit at all (not JSON, not an object, wrong types, no page
or no one visiting it). Strict rejections are quarantined by the receiver, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

__all__ = ["InvalidVisit", "Visit", "parse_visit", "parse_seen_at"]


class InvalidVisit(ValueError):
    """A body that cannot be a visit; ``reason`` is short, specific and safe to store."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Visit(BaseModel):
    """One identified website visit, normalized. Serialized as JSON into the inbox."""

    model_config = ConfigDict(frozen=True)

    linkedin_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company_name: str | None = None
    email: str | None = None
    website: str | None = None
    domain: str | None = None
    industry: str | None = None
    employee_count: int | None = None  # lower bound when RB2B sends a range such as "200-500"
    employee_count_raw: str | None = None
    estimated_revenue: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    seen_at: datetime  # always UTC-aware
    seen_at_raw: str | None = None
    # "rb2b": parsed from Seen At; "envelope": relay timestamp; "received": neither parsed, our clock.
    seen_at_source: Literal["rb2b", "envelope", "received"] = "rb2b"
    referrer: str | None = None
    captured_url: str
    tags: tuple[str, ...] = ()
    is_company_only: bool = False
    is_hot_page: bool = False
    event_id: str | None = None  # relay envelope id, when there was one

    @property
    def seen_at_fallback(self) -> bool:
        """True when Seen At could not be read and another clock stood in (the visit is kept)."""
        return self.seen_at_source != "rb2b"

    @property
    def dedupe_key(self) -> str:
        """Same person (or company), same page, same minute = the same visit delivered twice.

        A repeat visit (RB2B "Send repeat visitor data") carries a later Seen At and so a new key.
        When Seen At was unreadable the raw string stands in for the minute, so a redelivered body
        still dedupes while two different unreadable stamps stay two visits.
        """
        minute = self.seen_at.strftime("%Y-%m-%dT%H:%M")
        when = (self.seen_at_raw or minute) if self.seen_at_source == "received" else minute
        material = json.dumps([_identity(self), _norm_url(self.captured_url), when], separators=(",", ":"))
        return hashlib.sha256(material.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Field spelling: RB2B sends "Business Email"; relays send "business_email", "email", "businessEmail".

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@lru_cache(maxsize=1024)  # the same ~17 keys arrive on every request
def _fold(key: str) -> str:
    return _NOT_ALNUM.sub("", key.lower())


_FIELDS: dict[str, str] = {
    "linkedinurl": "linkedin_url", "linkedin": "linkedin_url",
    "firstname": "first_name", "lastname": "last_name", "title": "title", "jobtitle": "title",
    "companyname": "company_name", "company": "company_name",
    "businessemail": "email", "email": "email",
    "website": "website", "industry": "industry",
    "employeecount": "employee_count", "employees": "employee_count",
    "estimaterevenue": "estimated_revenue", "estimatedrevenue": "estimated_revenue",
    "city": "city", "state": "state", "zipcode": "zipcode", "zip": "zipcode", "postalcode": "zipcode",
    "seenat": "seen_at", "referrer": "referrer", "capturedurl": "captured_url", "tags": "tags",
}
_DISPLAY = {
    "linkedin_url": "LinkedIn URL", "first_name": "First Name", "last_name": "Last Name", "title": "Title",
    "company_name": "Company Name", "email": "Business Email", "website": "Website", "industry": "Industry",
    "employee_count": "Employee Count", "estimated_revenue": "Estimate Revenue", "city": "City",
    "state": "State", "zipcode": "Zipcode", "seen_at": "Seen At", "referrer": "Referrer",
    "captured_url": "Captured URL", "tags": "Tags",
}
_PERSON_FIELDS = ("first_name", "last_name", "title", "email")
_HOT_PATH = re.compile(r"(?:^|[/\-_.])(pricing|plans|demo|contact|contact-us|contact-sales|trial|free-trial|book|get-started)(?:$|[/\-_.?#])", re.I)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(value), type(value).__name__
    )


def _text(field: str, value: Any) -> str | None:
    """Strings stay strings (trimmed, empty -> None); numbers are accepted for zip codes only."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if field == "zipcode" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidVisit(f"wrong type for '{_DISPLAY[field]}': expected string, got {_type_name(value)}")


# No employer comes near this (the largest have ~3 million staff); anything above is garbage, and
# garbage this size would overflow the int64 columns downstream (pandas, DuckDB).
MAX_EMPLOYEE_COUNT = 10_000_000
_MAX_COUNT_DIGITS = len(str(MAX_EMPLOYEE_COUNT))


def _employee_count(value: Any) -> tuple[int | None, str | None]:
    """60 -> 60; "200-500" -> 200; "1,001-5,000" -> 1001; "10000+" -> 10000; "unknown" -> None (kept raw).

    An absurd count (negative, non-finite, above ``MAX_EMPLOYEE_COUNT``, or a digit string of any
    length, even past Python's 4300-digit ``int()`` limit) is None with the raw value kept, like
    "unknown": the head count is a nice-to-have, while the visit (who, which page) is what RB2B will
    never send again, so a bad count must not cost the visit. Digit strings are length-checked
    *before* ``int()``, so no length can raise.
    """
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidVisit(f"wrong type for 'Employee Count': expected integer or string, got {_type_name(value)}")
    if isinstance(value, (int, float)):
        usable = 0 <= value <= MAX_EMPLOYEE_COUNT and (isinstance(value, int) or math.isfinite(value))  # 1e400 is inf
        return (int(value) if usable else None), str(value)  # JSON ints are <= 4300 digits: str() is safe
    raw = value.strip()
    match = re.search(r"\d[\d,]*", raw)
    return (_bounded_count(match.group()) if match else None), (raw or None)


def _bounded_count(digits: str) -> int | None:
    """``"1,001"`` -> 1001; None above ``MAX_EMPLOYEE_COUNT``, decided by length before ``int()`` can raise."""
    significant = digits.replace(",", "").lstrip("0") or "0"  # "000...060" is 60, whatever its length
    if len(significant) > _MAX_COUNT_DIGITS:
        return None
    count = int(significant)
    return count if count <= MAX_EMPLOYEE_COUNT else None


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value  # not RB2B's form, but harmless: some relays pre-split
    else:
        raise InvalidVisit(f"wrong type for 'Tags': expected comma-separated string, got {_type_name(value)}")
    seen: dict[str, None] = {}
    for part in parts:
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


_LOOSE_TS = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?::\d{2})?(?:[.,](\d+))?"
    r"\s*(Z|[+-]\d{2}(?:[:.]?\d{2})?)?\s*$",
    re.I,
)


def parse_seen_at(value: Any) -> datetime | None:
    """Lenient UTC timestamp: ISO 8601, RB2B's documented ``2024-01-01T12:34:56:00.00+00.00``,
    naive (taken as UTC) or epoch seconds/milliseconds. ``None`` when nothing sensible comes out."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            seconds = value / 1000 if value > 1e11 else value  # a huge int overflows the division
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        parsed = _parse_loose(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        return None


def _parse_loose(text: str) -> datetime | None:
    match = _LOOSE_TS.match(text)
    if not match:
        return None
    y, mo, d, h, mi, s, frac, tz = match.groups()
    try:  # every group int() sees is bounded (\d{2}, \d{4}, frac cut to 6): no 4300-digit ValueError
        micro = int((frac or "0")[:6].ljust(6, "0"))
        base = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
    except ValueError:
        return None
    if not tz or tz.upper() == "Z":
        return base.replace(tzinfo=timezone.utc)
    digits = re.sub(r"[:.]", "", tz[1:])
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes) * (1 if tz[0] == "+" else -1)
    return base.replace(tzinfo=timezone(offset))


def _split(url: str):
    """``urlsplit`` of a URL or bare host; ``None`` when it cannot be split (e.g. ``http://[x``)."""
    try:
        return urlsplit(url if "//" in url else f"//{url}")
    except ValueError:
        return None


def _host(url: str | None) -> str | None:
    parts = _split(url) if url else None
    if parts is None:
        return None
    host = (parts.hostname or "").lower().strip(".")
    return host.removeprefix("www.") or None


def _norm_url(url: str | None) -> str:
    parts = _split(url.strip()) if url else None
    if parts is None:
        return (url or "").strip().lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def _identity(visit: Visit) -> str:
    if visit.linkedin_url:
        return "li:" + _norm_url(visit.linkedin_url).lower()
    if visit.email:
        return "em:" + visit.email.lower()
    return "co:" + (visit.company_name or "").lower() + "|" + (visit.domain or "")


def _is_hot(captured_url: str, tags: tuple[str, ...]) -> bool:
    if any(tag.lower() == "hot pages" for tag in tags):
        return True
    parts = _split(captured_url)
    return bool(parts and _HOT_PATH.search(parts.path or ""))


# ---------------------------------------------------------------------------------------------------

def parse_visit(body: bytes, *, received_at: datetime | None = None) -> Visit:
    """RB2B flat body or relay envelope -> :class:`Visit`; raises :class:`InvalidVisit` with the reason."""
    received_at = (received_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise InvalidVisit("body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidVisit(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        raise InvalidVisit(f"malformed JSON: {str(exc)[:120]}") from None
    except RecursionError:
        raise InvalidVisit("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidVisit(f"body must be a JSON object, got {_type_name(data)}")

    event_id: str | None = None
    envelope_ts: Any = None
    if "payload" in data:
        payload = data["payload"]
        if not isinstance(payload, dict):
            raise InvalidVisit(f"envelope 'payload' must be an object, got {_type_name(payload)}")
        if data.get("event_id") is not None:
            event_id = str(data["event_id"])
        envelope_ts = data.get("timestamp")
        data = payload

    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = _FIELDS.get(_fold(str(key)))
        if name is not None and (name not in fields or fields[name] is None):
            fields[name] = value

    text = {name: _text(name, fields.get(name)) for name in _DISPLAY if name not in ("employee_count", "tags", "seen_at")}
    captured_url = text["captured_url"]
    if not captured_url:
        raise InvalidVisit("missing required field 'Captured URL'")
    if _split(captured_url) is None:
        raise InvalidVisit("malformed 'Captured URL': not a URL")
    if not any(text[k] for k in ("linkedin_url", "email", "company_name", "website")):
        raise InvalidVisit("missing identity: none of 'LinkedIn URL', 'Business Email', 'Company Name', 'Website'")

    employee_count, employee_count_raw = _employee_count(fields.get("employee_count"))
    tags = _tags(fields.get("tags"))

    raw_seen = fields.get("seen_at")
    if raw_seen is not None and not isinstance(raw_seen, (str, int, float)):
        raise InvalidVisit(f"wrong type for 'Seen At': expected string, got {_type_name(raw_seen)}")
    seen_at, source = parse_seen_at(raw_seen), "rb2b"
    if seen_at is None:
        seen_at, source = parse_seen_at(envelope_ts), "envelope"
    if seen_at is None:
        seen_at, source = received_at, "received"

    email = text["email"].lower() if text["email"] else None
    email_domain = email.rpartition("@")[2] if email and "@" in email else ""
    domain = _host(text["website"]) or email_domain or None
    linkedin = text["linkedin_url"]
    company_only = all(text[k] is None for k in _PERSON_FIELDS) or bool(linkedin and "/company/" in linkedin.lower())

    return Visit(
        linkedin_url=linkedin,
        first_name=text["first_name"],
        last_name=text["last_name"],
        title=text["title"],
        company_name=text["company_name"],
        email=email,
        website=text["website"],
        domain=domain,
        industry=text["industry"],
        employee_count=employee_count,
        employee_count_raw=employee_count_raw,
        estimated_revenue=text["estimated_revenue"],
        city=text["city"],
        state=text["state"],
        zipcode=text["zipcode"],
        seen_at=seen_at,
        seen_at_raw=None if raw_seen is None else str(raw_seen),
        seen_at_source=source,  # type: ignore[arg-type]
        referrer=text["referrer"],
        captured_url=captured_url,
        tags=tags,
        is_company_only=company_only,
        is_hot_page=_is_hot(captured_url, tags),
        event_id=event_id,
    )
