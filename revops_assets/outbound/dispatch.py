"""Send what is due from the outbox, at most once per message, whatever crashes in between.

The order of a live send is fixed: suppression (blocks on error) -> daily cap -> atomic claim
(``sending``) -> the provider call -> ``sent``. A process killed between the provider call and
``mark_sent`` leaves the row in ``sending``; the next dispatch (holding the outbox's dispatch lock, so
no live process can own that row) looks for the message in the CRM by the idempotency marker embedded
in its HTML: found -> ``sent``; absent -> released and sent once more; absent again -> ``failed``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Literal, Mapping

from revops_assets.outbound.outbox import Outbox, OutboxRow
from revops_assets.outbound.suppression import (
    DailyCaps,
    SuppressionList,
    as_dict,
    check,
    contact_messages,
    first,
)
from revops_assets.outbound.templates import MARKER_PREFIX

DispatchMode = Literal["dry_run", "approval", "live"]
APPROVAL_TAG_PREFIX = "revops-approved:"
MAX_ATTEMPTS = 2  # the first send plus one resend after a reconciliation proved it absent
DUE_STATES = ("pending", "approved", "capped", "dry_run", "awaiting_approval")


@dataclass
class DispatchReport:
    mode: str
    counts: Counter = field(default_factory=Counter)
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # (key, outcome, detail)

    def add(self, key: str, outcome: str, detail: str = "") -> None:
        self.counts[outcome] += 1
        self.outcomes.append((key, outcome, detail))

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "counts": dict(self.counts)}


def find_sent_message(ghl: Any, contact_id: str, key: str) -> dict[str, Any] | None:
    """The CRM's copy of the message carrying ``key``'s marker, if the provider has it."""
    marker = f"{MARKER_PREFIX}{key}"
    for msg in contact_messages(ghl, contact_id):
        if str(first(msg, "direction", default="outbound")).lower() == "inbound":
            continue
        if marker in json.dumps(msg, default=str):
            return msg
    return None


def reconcile(outbox: Outbox, ghl: Any, today: date, report: DispatchReport, log: Any) -> None:
    """Resolve every ``sending`` row left by a dead process. Call only while holding the dispatch lock."""
    for row in outbox.rows(states=("sending",)):
        try:
            found = find_sent_message(ghl, row.contact_id, row.key)
        except Exception as exc:  # noqa: BLE001 -- cannot tell: leave it in sending, never resend blind
            log.warning("outbox %s: cannot reconcile (%s); left in sending", row.key, exc)
            report.add(row.key, "unreconciled", str(exc))
            continue
        if found:
            outbox.mark_sent(row.key, first(found, "id", "messageId"), sent_day=today.isoformat())
            report.add(row.key, "reconciled_sent", "found in CRM")
        elif row.attempts >= MAX_ATTEMPTS:
            outbox.mark_failed(row.key, f"not in CRM after {row.attempts} attempts; not resending")
            report.add(row.key, "failed", "not in CRM after resend")
        else:
            outbox.release(row.key, "not found in CRM; will resend once")
            report.add(row.key, "released", "not found in CRM")


def dispatch(
    outbox: Outbox,
    ghl: Any,
    mode: DispatchMode,
    caps: DailyCaps | Mapping[str, int] | int | None,
    today: date,
    suppression_list: SuppressionList | None,
    log: Any = None,
    *,
    after_send: Callable[[str], None] | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """Process every due outbox row once; returns counts by outcome.

    ``mode``: ``dry_run`` marks due rows ``dry_run`` and makes no network call; ``approval`` parks
    unapproved rows in ``awaiting_approval`` and sends approved ones; ``live`` sends.
    ``after_send(key)`` runs after the provider accepted a message and before ``mark_sent``
    (a seam for crash tests and metrics). ``limit`` caps how many messages this run sends.
    """
    if mode not in ("dry_run", "approval", "live"):
        raise ValueError(f"unknown outbound mode {mode!r}")
    log = log or logging.getLogger(__name__)
    caps = DailyCaps.coerce(caps)
    report = DispatchReport(mode=mode)
    day = today.isoformat()
    with outbox.dispatch_lock():
        if mode != "dry_run":
            reconcile(outbox, ghl, today, report, log)
        sent_this_run = 0
        for row in outbox.rows(states=DUE_STATES):
            if row.send_on > day:
                report.counts["not_due"] += 1
                continue
            if mode == "dry_run":
                if row.state in ("pending", "capped") and outbox.mark(row.key, "dry_run", "dry run: would send",
                                                                    from_states=("pending", "capped")):
                    report.add(row.key, "dry_run")
                continue
            if limit is not None and sent_this_run >= limit:
                report.counts["deferred"] += 1
                continue
            outcome = _process(outbox, ghl, mode, caps, day, suppression_list, row, log, after_send)
            report.add(row.key, *outcome)
            sent_this_run += outcome[0] == "sent"
    log.info("outbound %s: %s", mode, dict(report.counts))
    return report


def _process(outbox: Outbox, ghl: Any, mode: str, caps: DailyCaps, day: str,
             suppression_list: SuppressionList | None, row: OutboxRow, log: Any,
             after_send: Callable[[str], None] | None) -> tuple[str, str]:
    key = row.key
    waiting = _previous_step_pending(outbox, row, day)
    if waiting:
        return "waiting_previous", waiting
    needs_approval = mode == "approval" and not row.approved_by
    if needs_approval and row.state == "awaiting_approval":
        if not _approved_by_crm_tag(outbox, ghl, row):
            return "awaiting_approval", "still waiting"
        needs_approval = False

    previous = outbox.step_row(row.sequence_id, row.step - 1) if row.step > 1 else None
    decision = check({"contact_id": row.contact_id, "email": row.email}, ghl, suppression_list,
                     replied_since=outbox.last_claimed_at(previous.key) if previous else None)
    if not decision.allowed:
        if decision.transient:  # the check failed: not sent now, asked again next run
            log.warning("outbox %s blocked: %s", key, decision.reason)
            return "blocked", decision.reason
        outbox.mark(key, "suppressed", decision.reason, from_states=DUE_STATES)
        return "suppressed", decision.reason
    if needs_approval:
        outbox.mark(key, "awaiting_approval", "waiting for a human approval", from_states=DUE_STATES)
        return "awaiting_approval", "queued for approval"

    cap = caps.limit(row.sender_email)
    if outbox.sent_count(row.sender_email, day) >= cap:
        outbox.mark(key, "capped", f"daily cap {cap} reached for {row.sender_email} on {day}", from_states=DUE_STATES)
        return "capped", f"cap {cap}"
    if not outbox.claim_for_send(key):
        return "lost_claim", "another dispatcher owns it"

    try:
        message = ghl.send_email(row.contact_id, row.subject, row.html, email_from=row.sender_email or None)
    except Exception as exc:  # noqa: BLE001 -- classified below; nothing is re-sent blindly
        return _after_failed_send(outbox, ghl, row, day, exc, log)
    if after_send is not None:
        after_send(key)
    outbox.mark_sent(key, as_dict(message).get("id"), sent_day=day)
    return "sent", str(as_dict(message).get("id"))


def _previous_step_pending(outbox: Outbox, row: OutboxRow, day: str) -> str | None:
    """Step n waits until step n-1 was sent AND the planned gap between them has passed since.

    So a backfill or a late run never fires two steps of one sequence at the same contact at once.
    """
    if row.step <= 1:
        return None
    prev = outbox.step_row(row.sequence_id, row.step - 1)
    if prev is None:
        return None
    if prev.state != "sent":
        return f"step {prev.step} is {prev.state}"
    gap = date.fromisoformat(row.send_on) - date.fromisoformat(prev.send_on)
    earliest = (date.fromisoformat(prev.sent_day or day) + gap).isoformat()
    return f"step {prev.step} sent {prev.sent_day}; not before {earliest}" if day < earliest else None


def _approved_by_crm_tag(outbox: Outbox, ghl: Any, row: OutboxRow) -> bool:
    """An AE can approve in the CRM: tag the contact ``revops-approved:<first 12 chars of the key>``."""
    try:
        tags = {str(t).lower() for t in as_dict(ghl.get_contact(row.contact_id)).get("tags") or []}
    except Exception:  # noqa: BLE001 -- no answer, no approval
        return False
    return f"{APPROVAL_TAG_PREFIX}{row.key[:12]}" in tags and outbox.approve(row.key, "crm-tag")


def _after_failed_send(outbox: Outbox, ghl: Any, row: OutboxRow, day: str, exc: Exception,
                       log: Any) -> tuple[str, str]:
    """A refused send (4xx) did not go out; an ambiguous one (5xx, timeout, bad body) may have."""
    status = getattr(exc, "status", None)
    detail = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "ContactDND":
        outbox.mark(row.key, "suppressed", f"CRM refused: {exc}", from_states=("sending",))
        return "suppressed", detail
    if isinstance(status, int) and 400 <= status < 500 and status != 429:
        outbox.mark_failed(row.key, detail)
        return "failed", detail
    try:
        found = find_sent_message(ghl, row.contact_id, row.key)
    except Exception as lookup_exc:  # noqa: BLE001
        log.warning("outbox %s: send outcome unknown (%s) and CRM lookup failed (%s); left in sending",
                    row.key, exc, lookup_exc)
        return "unreconciled", detail
    if found:
        outbox.mark_sent(row.key, first(found, "id", "messageId"), sent_day=day)
        return "sent", "provider errored but the message is in the CRM"
    if row.attempts + 1 >= MAX_ATTEMPTS:
        outbox.mark_failed(row.key, detail)
        return "failed", detail
    outbox.release(row.key, f"send failed, not in CRM: {detail}")
    return "released", detail


__all__ = ["APPROVAL_TAG_PREFIX", "DispatchMode", "DispatchReport", "MAX_ATTEMPTS", "dispatch", "find_sent_message", "reconcile"]
