"""Who must not be written to, and how many emails a mailbox may send per day.

The suppression check BLOCKS ON ERROR: if the CRM cannot be asked (after the client's own retries),
the answer is "not allowed" with the reason, and dispatch tries again on the next run. Sending to
someone who unsubscribed costs far more than sending a day late.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

SUPPRESSING_TAGS = frozenset({"unsubscribed", "bounced", "dnd", "do-not-contact", "spam-complaint"})
SUPPRESSING_STATUSES = frozenset({"bounced", "unsubscribed", "complained", "spam"})
UNSUBSCRIBE_PHRASES = ("unsubscribe", "remove me", "stop emailing", "opt out", "opt-out")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    transient: bool = False  # True: the check itself failed; ask again later rather than give up


def as_dict(obj: Any) -> dict[str, Any]:
    """A client object (pydantic model, dataclass or dict) as a plain dict with wire names too."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return {**obj.model_dump(), **obj.model_dump(by_alias=True)}
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return dict(vars(obj))


def first(d: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if d.get(name) is not None:
            return d[name]
    return default


# --- unsubscribe links -------------------------------------------------------------------------


def unsubscribe_token(secret: str, contact_id: str) -> str:
    """HMAC of the contact id: a link that cannot be forged for someone else (and carries no email)."""
    if not secret:
        raise ValueError("unsubscribe_secret is empty")
    return hmac.new(secret.encode(), f"unsubscribe:{contact_id}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(base_url: str, secret: str, contact_id: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}{urlencode({'c': contact_id, 't': unsubscribe_token(secret, contact_id)})}"


def verify_unsubscribe(secret: str, contact_id: str, token: str) -> bool:
    return hmac.compare_digest(unsubscribe_token(secret, contact_id), token or "")


# --- the local list ----------------------------------------------------------------------------


class SuppressionList:
    """``<home>/suppression.txt``: one email or domain per line (``#`` comments), re-read when changed."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._emails: frozenset[str] = frozenset()
        self._domains: frozenset[str] = frozenset()

    @classmethod
    def for_home(cls, home: str | Path) -> "SuppressionList":
        return cls(Path(home) / "suppression.txt")

    def _refresh(self) -> None:
        mtime = self.path.stat().st_mtime_ns if self.path.exists() else None
        if mtime == self._mtime:
            return
        emails, domains = set(), set()
        if mtime is not None:
            for line in self.path.read_text(encoding="utf-8").splitlines():
                entry = line.split("#", 1)[0].strip().lower()
                if not entry:
                    continue
                if "@" in entry and not entry.startswith("@"):
                    emails.add(entry)
                else:
                    domains.add(entry.lstrip("@"))
        self._emails, self._domains, self._mtime = frozenset(emails), frozenset(domains), mtime

    def match(self, email: str | None) -> str | None:
        """The entry that suppresses ``email`` (the address, or its domain or a parent domain)."""
        if not email:
            return None
        email = email.strip().lower()
        with self._lock:
            self._refresh()
            if email in self._emails:
                return email
            domain = email.rpartition("@")[2]
            parts = domain.split(".")
            for i in range(len(parts) - 1):
                if ".".join(parts[i:]) in self._domains:
                    return ".".join(parts[i:])
        return None

    def add(self, entries: Iterable[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            for entry in entries:
                fh.write(entry.strip().lower() + "\n")


# --- CRM look-ups ------------------------------------------------------------------------------


def contact_messages(ghl: Any, contact_id: str) -> list[dict[str, Any]]:
    """Every message of every conversation of a contact, as dicts (raises if the CRM cannot answer)."""
    out = []
    for conv in ghl.search_conversations(contact_id) or []:
        conv_id = first(as_dict(conv), "id", "conversationId", "conversation_id")
        for msg in ghl.list_messages(conv_id) or []:
            out.append(as_dict(msg))
    return out


def _tags(contact: Mapping[str, Any]) -> set[str]:
    return {str(t).strip().lower() for t in (contact.get("tags") or [])}


def _email_dnd(contact: Mapping[str, Any]) -> bool:
    settings = first(contact, "dndSettings", "dnd_settings", default={}) or {}
    email = as_dict(settings.get("Email") or settings.get("email"))
    return str(email.get("status", "")).lower() == "active"


def _suppressing_message(msg: Mapping[str, Any]) -> str | None:
    status = str(msg.get("status") or "").lower()
    if status in SUPPRESSING_STATUSES:
        return f"past message {status}"
    if str(first(msg, "direction", default="")).lower() == "inbound":
        body = " ".join(str(msg.get(k) or "") for k in ("subject", "body")).lower()
        if any(p in body for p in UNSUBSCRIBE_PHRASES):
            return "contact asked to unsubscribe"
    return None


def _after(stamp: Any, since: datetime) -> bool:
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return True  # an unreadable date on an inbound message: assume it is recent (the safe side)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) >= since


def check(contact: Mapping[str, Any], ghl: Any, local_list: SuppressionList | None,
          replied_since: str | None = None) -> Decision:
    """May we email this contact now? ``contact`` needs ``contact_id`` and ``email``.

    Order: local list (no network), then the CRM's contact (DND, tags), then past messages
    (bounces, unsubscribes, "remove me" replies, and -- with ``replied_since``, an ISO time -- any
    reply since then: a follow-up step never goes to someone who answered). Any failure to ask blocks.
    """
    since = datetime.fromisoformat(replied_since.replace("Z", "+00:00")) if replied_since else None
    contact_id = str(contact.get("contact_id") or contact.get("id") or "")
    email = contact.get("email")
    if local_list is not None:
        hit = local_list.match(email)
        if hit:
            return Decision(False, f"local suppression list: {hit}")
    try:
        crm = as_dict(ghl.get_contact(contact_id))
        if crm.get("dnd") is True:
            return Decision(False, "CRM: do not disturb")
        if _email_dnd(crm):
            return Decision(False, "CRM: do not disturb (email)")
        bad = sorted(_tags(crm) & SUPPRESSING_TAGS)
        if bad:
            return Decision(False, f"CRM tag: {bad[0]}")
        crm_email = first(crm, "email")
        if local_list is not None and crm_email and crm_email != email and local_list.match(crm_email):
            return Decision(False, f"local suppression list: {local_list.match(crm_email)}")
        for msg in contact_messages(ghl, contact_id):
            why = _suppressing_message(msg)
            if why:
                return Decision(False, f"CRM: {why}")
            if since and str(msg.get("direction", "")).lower() == "inbound" and _after(first(msg, "dateAdded", "date_added"), since):
                return Decision(False, "CRM: contact replied; sequence stopped")
    except Exception as exc:  # noqa: BLE001 -- any failure to ask means "do not send"
        return Decision(False, f"suppression check failed: {type(exc).__name__}: {exc}", transient=True)
    return Decision(True, "ok")


# --- daily caps --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyCaps:
    """Per-mailbox sends per day (directive: e.g. 50/day per sender mailbox)."""

    default: int = 50
    per_mailbox: Mapping[str, int] = field(default_factory=dict)

    def limit(self, mailbox: str) -> int:
        return int(self.per_mailbox.get((mailbox or "").lower(), self.default))

    @classmethod
    def coerce(cls, caps: "DailyCaps | Mapping[str, int] | int | None") -> "DailyCaps":
        if isinstance(caps, DailyCaps):
            return caps
        if caps is None:
            return cls()
        if isinstance(caps, int):
            return cls(default=caps)
        caps = {k.lower(): int(v) for k, v in caps.items()}
        return cls(default=caps.pop("default", 50), per_mailbox=caps)


__all__ = [
    "DailyCaps", "Decision", "SuppressionList", "as_dict", "check", "contact_messages", "first",
    "unsubscribe_token", "unsubscribe_url", "verify_unsubscribe",
]
