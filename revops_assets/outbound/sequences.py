"""Turn prioritized leads into rendered, scheduled, idempotently keyed email sequences.

Pure and deterministic: the same leads, library, sender and ``as_of`` give the same frame, so a
re-run or a backfill enqueues nothing new (the outbox dedupes by key and by (sequence, step)).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import date, timedelta
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from revops_assets.outbound.suppression import unsubscribe_url
from revops_assets.outbound.templates import (
    TemplateLibrary,
    TemplateRejected,
    compliance_problems,
    html_to_text,
    idempotency_marker,
)

PERSONAS = ("executive", "technical", "revenue_leader")
SIGNALS = ("funding", "hiring", "leadership_change", "product_launch", "website_activity", "none")

SEQUENCE_COLUMNS = [
    "sequence_id", "contact_id", "step", "template_id", "template_version", "variant", "subject", "html",
    "text", "send_on", "personalization", "idempotency_key",
    # for the outbox: who receives it, which mailbox sends it (daily caps), how urgent
    "email", "sender_email", "priority", "rewritten",
]

ChooseVariant = Callable[[str, str, int, Sequence[str]], str]
Rewrite = Callable[[str], "str | None"]

_REVENUE = re.compile(r"\b(cro|revenue|sales|marketing|growth|business development|bdr|sdr|account exec\w*|"
                      r"partnerships?|revops|go[- ]to[- ]market|gtm|commercial|customer success)\b", re.I)
_TECHNICAL = re.compile(r"\b(cto|cio|ciso|engineer\w*|technolog\w*|developer|devops|architect|data|it|"
                        r"security|platform|infrastructure|software|product manag\w*|head of product)\b", re.I)
_EXECUTIVE = re.compile(r"\b(ceo|coo|cfo|founder|co-founder|president|owner|chief|managing director|"
                        r"general manager|gm|partner|chair\w*)\b", re.I)

log = logging.getLogger(__name__)


def persona_for(title: str | None, persona: str | None = None) -> str:
    """The persona a template speaks to: given one if valid, else from the title (function first)."""
    if persona in PERSONAS:
        return persona  # type: ignore[return-value]
    title = title or ""
    if _REVENUE.search(title):
        return "revenue_leader"
    if _TECHNICAL.search(title):
        return "technical"
    return "executive"  # named executives, and the safe register for anyone unknown


def _sha(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def idempotency_key(contact_id: str, sequence_id: str, step: int, template_version: str) -> str:
    return _sha(contact_id, sequence_id, step, template_version)[:32]


def sequence_id_for(contact_id: str, template_id: str) -> str:
    """One sequence per (contact, template): rebuilding tomorrow does not start the sequence again."""
    return "seq_" + _sha("sequence", contact_id, template_id)[:20]


def default_choose_variant(contact_id: str, template_id: str, step: int, variants: Sequence[str]) -> str:
    """Deterministic A/B: a contact keeps one variant for the whole sequence (clean attribution)."""
    ordered = sorted(variants)
    return ordered[int(_sha("variant", contact_id, template_id)[:8], 16) % len(ordered)]


def evidence_facts(raw: Any, limit: int = 2) -> list[dict[str, str]]:
    """Facts we may cite: only those with an http(s) source URL, newest first."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            return []
    facts = []
    for item in raw if isinstance(raw, (list, tuple)) else []:
        if not isinstance(item, Mapping):
            continue
        fact, url = str(item.get("fact") or "").strip(), str(item.get("url") or "").strip()
        if fact and re.match(r"^https?://[^\s\"'<>]+$", url):
            facts.append({"fact": fact, "url": url, "date": str(item.get("date") or "")})
    facts.sort(key=lambda f: f["date"], reverse=True)
    return facts[:limit]


def _value(row: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = row.get(name, default)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return default
    return value


def build_sequences(
    leads: pd.DataFrame,
    library: TemplateLibrary,
    sender: Mapping[str, Any],
    as_of: date,
    steps: int = 3,
    spacing_days: Sequence[int] = (0, 3, 7),
    choose_variant: ChooseVariant | None = None,
    rewrite: Rewrite | None = None,
    signal_override: str | None = None,
) -> pd.DataFrame:
    """One row per (lead, step), rendered and scheduled; see ``SEQUENCE_COLUMNS``.

    ``sender``: name, email, postal_address, unsubscribe_base_url, unsubscribe_secret (company optional).
    ``choose_variant(contact_id, template_id, step, variants) -> variant`` (default: hash A/B).
    ``rewrite(html) -> html | None``: optional LLM pass; its output is used only if it still carries the
    unsubscribe link and the postal address, else the template's HTML is kept.
    ``signal_override`` forces a template signal for every lead (e.g. ``"ghost_revival"``).
    Leads whose template rejects are left out and listed in ``frame.attrs["rejected"]``.
    """
    for required in ("name", "email", "postal_address", "unsubscribe_base_url", "unsubscribe_secret"):
        if not sender.get(required):
            raise ValueError(f"sender needs {required!r}")
    if len(spacing_days) < steps:
        raise ValueError(f"spacing_days has {len(spacing_days)} entries for {steps} steps")
    choose = choose_variant or default_choose_variant
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, str]] = []
    sender_ctx = {k: sender[k] for k in ("name", "email", "company", "title") if sender.get(k)}

    for lead in leads.to_dict("records"):
        contact_id = str(lead["contact_id"])
        persona = persona_for(_value(lead, "title"), _value(lead, "persona"))
        signal = signal_override or str(_value(lead, "strongest_signal", "none") or "none")
        try:
            template = library.select(signal, persona)
        except TemplateRejected as exc:
            rejected.append({"contact_id": contact_id, "reason": exc.reason})
            continue
        facts = evidence_facts(_value(lead, "facts"))
        unsub = unsubscribe_url(sender["unsubscribe_base_url"], sender["unsubscribe_secret"], contact_id)
        context = {
            "first_name": _value(lead, "first_name") or "there",
            "company_name": _value(lead, "company_name") or _value(lead, "domain") or "your team",
            "domain": _value(lead, "domain", ""),
            "title": _value(lead, "title", ""),
            "persona": persona,
            "signal": signal,
            "facts": facts,
            "fact": facts[0] if facts else None,
            "sender": sender_ctx,
            "postal_address": sender["postal_address"],
            "unsubscribe_url": unsub,
        }
        seq_id = str(_value(lead, "sequence_id") or sequence_id_for(contact_id, template.id))  # revivals: one per stall
        lead_rows = []
        try:
            for step in range(1, min(steps, template.steps) + 1):
                variant = choose(contact_id, template.id, step, template.variants)
                if variant not in template.variants:
                    raise TemplateRejected(f"choose_variant returned unknown variant {variant!r}")
                email = library.render(template.id, step, variant, context)
                html, rewritten = email.html, False
                if rewrite is not None:
                    html, rewritten = _rewritten(rewrite, email.html, unsub, sender["postal_address"], contact_id)
                key = idempotency_key(contact_id, seq_id, step, email.template_version)
                lead_rows.append({
                    "sequence_id": seq_id,
                    "contact_id": contact_id,
                    "step": step,
                    "template_id": email.template_id,
                    "template_version": email.template_version,
                    "variant": variant,
                    "subject": email.subject,
                    "html": _with_marker(html, key),
                    "text": html_to_text(html) if rewritten else email.text,
                    "send_on": as_of + timedelta(days=int(spacing_days[step - 1])),
                    "personalization": json.dumps(facts if step == 1 else []),
                    "idempotency_key": key,
                    "email": _value(lead, "email"),
                    "sender_email": sender["email"],
                    "priority": _value(lead, "priority"),
                    "rewritten": rewritten,
                })
        except TemplateRejected as exc:
            rejected.append({"contact_id": contact_id, "reason": exc.reason})
            continue
        rows.extend(lead_rows)

    frame = pd.DataFrame(rows, columns=SEQUENCE_COLUMNS)
    frame.attrs["rejected"] = rejected
    return frame


def _rewritten(rewrite: Rewrite, html: str, unsub: str, address: str, contact_id: str) -> tuple[str, bool]:
    try:
        candidate = rewrite(html)
    except Exception as exc:  # noqa: BLE001 -- a failed rewrite falls back to the reviewed template
        log.warning("rewrite failed for %s, keeping template: %s", contact_id, exc)
        return html, False
    if not candidate:
        return html, False
    problems = compliance_problems(candidate, html_to_text(candidate), unsub, address)
    if problems:
        log.warning("rewrite for %s dropped %s, keeping template", contact_id, "; ".join(problems))
        return html, False
    return candidate, True


def _with_marker(html: str, key: str) -> str:
    """Embed the idempotency key invisibly, after any rewrite, so reconciliation can find the message."""
    marker = idempotency_marker(key)
    if "</body>" in html:
        return html.replace("</body>", f"{marker}\n</body>", 1)
    return f"{html}\n{marker}"


__all__ = [
    "PERSONAS", "SEQUENCE_COLUMNS", "SIGNALS", "build_sequences", "default_choose_variant", "evidence_facts",
    "idempotency_key", "persona_for", "sequence_id_for",
]
