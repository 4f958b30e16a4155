"""Write the Hive-Mind's conclusions back to GoHighLevel, idempotently.

Every operation first reads what the CRM has and writes only the difference, so a second run reports
every operation ``unchanged``. Notes and tasks cannot be updated by a natural key in GHL, so their
bodies carry a marker line ``[revops:<key>]``; a run that finds the marker does not write again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, Iterable, Mapping

import pandas as pd

from revops_assets.outbound.suppression import as_dict, first

OPS_COLUMNS = ["contact_id", "op", "key", "status", "detail"]
CONTACT_FIELDS = {  # lead column -> GHL wire field
    "email": "email",
    "first_name": "firstName",
    "last_name": "lastName",
    "company_name": "companyName",
    "website": "website",
    "phone": "phone",
}


def marker(key: str) -> str:
    return f"[revops:{key}]"


def stable_key(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _value(row: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = row.get(name, default)
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return default
    return value


def _signals(lead: Mapping[str, Any]) -> list[str]:
    raw = _value(lead, "signals")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = [s for s in raw.split(",")]
    signals = [str(s).strip() for s in (raw if isinstance(raw, (list, tuple)) else []) if str(s).strip()]
    strongest = _value(lead, "strongest_signal")
    if strongest:
        signals.append(str(strongest))
    return sorted({s for s in signals if s and s != "none"})


def desired_tags(lead: Mapping[str, Any]) -> list[str]:
    tags = [f"signal:{s}" for s in _signals(lead)]
    priority = _value(lead, "priority")
    if priority:
        tags.append(f"priority:{str(priority).lower()}")
    return sorted(tags)


class _Ops:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, contact_id: str | None, op: str, key: str, status: str, detail: str = "") -> None:
        self.rows.append({"contact_id": contact_id or "", "op": op, "key": key, "status": status, "detail": detail})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=OPS_COLUMNS)


def sync(ghl: Any, leads: pd.DataFrame, actions: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Apply leads (contact fields, priority/signal tags, score note) and actions (tasks, stage moves).

    ``leads``: contact_id (empty = find by email or create), email, first_name, last_name?,
    company_name, website?, priority, strongest_signal, signals? (list/JSON/comma), score_explanation?.
    ``actions``: rows with ``kind`` in {"task", "stage", "note"} and contact_id plus
    task: title, body, due_date, assigned_to? | stage: opportunity_id, pipeline_stage_id | note: body.
    Returns one row per operation: contact_id, op, key, status (applied|unchanged|failed), detail.
    """
    ops = _Ops()
    notes_cache: dict[str, list[str]] = {}
    tasks_cache: dict[str, list[str]] = {}
    for lead in leads.to_dict("records"):
        contact_id = _sync_contact(ghl, lead, ops)
        if not contact_id:
            continue
        _sync_tags(ghl, contact_id, lead, ops)
        explanation = _value(lead, "score_explanation") or _value(lead, "explanation")
        if explanation:
            key = "score-note:" + stable_key(contact_id, "score-note", explanation)
            body = f"RevOps Hive-Mind score: {_value(lead, 'priority', '')}\n\n{explanation}\n\n{marker(key)}"
            _once(ghl, contact_id, "note", key, notes_cache,
                  lambda: ghl.create_note(contact_id, body), lambda: ghl.list_notes(contact_id), ops)

    action_rows = actions.to_dict("records") if isinstance(actions, pd.DataFrame) else list(actions or [])
    for action in action_rows:
        _sync_action(ghl, action, ops, notes_cache, tasks_cache)
    return ops.frame()


def _sync_contact(ghl: Any, lead: Mapping[str, Any], ops: _Ops) -> str | None:
    contact_id = str(_value(lead, "contact_id", "") or "")
    wanted = {wire: str(_value(lead, col)) for col, wire in CONTACT_FIELDS.items() if _value(lead, col)}
    key = "contact:" + (contact_id or str(wanted.get("email", "")).lower())
    try:
        if contact_id:
            current = as_dict(ghl.get_contact(contact_id))
        elif wanted.get("email"):
            found = ghl.find_duplicate(email=wanted["email"])
            current = as_dict(found) if found is not None else None
        else:
            ops.add(None, "upsert_contact", key, "failed", "lead has neither contact_id nor email")
            return None
        if current is not None:
            contact_id = str(first(current, "id"))
            diff = {k: v for k, v in wanted.items()
                    if str(first(current, k, _snake(k), default="") or "").strip().lower() != v.strip().lower()}
            if not diff:
                ops.add(contact_id, "upsert_contact", key, "unchanged")
                return contact_id
            if "email" not in diff and current.get("email"):
                diff["email"] = str(current["email"])  # upsert matches on email
            contact, _created = ghl.upsert_contact(diff)
            ops.add(contact_id, "upsert_contact", key, "applied", "updated " + ", ".join(sorted(set(diff) - {"email"}) or ["email"]))
            return str(as_dict(contact).get("id") or contact_id)
        contact, created = ghl.upsert_contact(wanted)
        contact_id = str(as_dict(contact)["id"])
        ops.add(contact_id, "upsert_contact", key, "applied", "created" if created else "updated")
        return contact_id
    except Exception as exc:  # noqa: BLE001 -- reported per operation; the rest of the batch goes on
        ops.add(contact_id or None, "upsert_contact", key, "failed", f"{type(exc).__name__}: {exc}")
        return None


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def _sync_tags(ghl: Any, contact_id: str, lead: Mapping[str, Any], ops: _Ops) -> None:
    wanted = desired_tags(lead)
    key = "tags:" + ",".join(wanted)
    if not wanted:
        return
    try:
        have = {str(t).lower() for t in as_dict(ghl.get_contact(contact_id)).get("tags") or []}
        stale = sorted(t for t in have if t.startswith("priority:") and t not in wanted)
        missing = [t for t in wanted if t not in have]
        if stale:
            ghl.remove_tags(contact_id, stale)
        if missing:
            ghl.add_tags(contact_id, missing)
        if stale or missing:
            ops.add(contact_id, "tags", key, "applied", f"added {missing}" + (f", removed {stale}" if stale else ""))
        else:
            ops.add(contact_id, "tags", key, "unchanged")
    except Exception as exc:  # noqa: BLE001
        ops.add(contact_id, "tags", key, "failed", f"{type(exc).__name__}: {exc}")


def _once(ghl: Any, contact_id: str, op: str, key: str, cache: dict[str, list[str]], create: Any,
          list_existing: Any, ops: _Ops) -> None:
    """Create a note/task unless one carrying ``key``'s marker already exists."""
    try:
        if contact_id not in cache:
            cache[contact_id] = [str(as_dict(x).get("body") or "") for x in list_existing()]
        if any(marker(key) in body for body in cache[contact_id]):
            ops.add(contact_id, op, key, "unchanged")
            return
        created = as_dict(create())
        cache[contact_id].append(str(created.get("body") or marker(key)))
        ops.add(contact_id, op, key, "applied", str(created.get("id", "")))
    except Exception as exc:  # noqa: BLE001
        ops.add(contact_id, op, key, "failed", f"{type(exc).__name__}: {exc}")


def _due(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 9, 0).isoformat() + "Z"
    return str(value)


def _sync_action(ghl: Any, action: Mapping[str, Any], ops: _Ops, notes_cache: dict[str, list[str]],
                 tasks_cache: dict[str, list[str]]) -> None:
    kind = str(_value(action, "kind", ""))
    contact_id = str(_value(action, "contact_id", "") or "")
    if kind == "task":
        title, due = str(_value(action, "title", "Follow up")), _due(_value(action, "due_date", ""))
        key = "task:" + stable_key(contact_id, "task", title, due[:10])
        body = f"{_value(action, 'body', '')}\n\n{marker(key)}".strip()
        _once(ghl, contact_id, "task", key, tasks_cache,
              lambda: ghl.create_task(contact_id, title, body, due, _value(action, "assigned_to")),
              lambda: ghl.list_tasks(contact_id), ops)
    elif kind == "note":
        text = str(_value(action, "body", ""))
        key = "note:" + stable_key(contact_id, "note", text)
        _once(ghl, contact_id, "note", key, notes_cache,
              lambda: ghl.create_note(contact_id, f"{text}\n\n{marker(key)}"),
              lambda: ghl.list_notes(contact_id), ops)
    elif kind == "stage":
        opp_id, stage = str(_value(action, "opportunity_id", "")), str(_value(action, "pipeline_stage_id", ""))
        key = f"stage:{opp_id}:{stage}"
        try:
            current = as_dict(ghl.get_opportunity(opp_id))
            if first(current, "pipeline_stage_id", "pipelineStageId") == stage:
                ops.add(contact_id, "stage", key, "unchanged")
            else:
                ghl.update_opportunity(opp_id, pipeline_stage_id=stage)
                ops.add(contact_id, "stage", key, "applied",
                        f"{first(current, 'pipeline_stage_id', 'pipelineStageId')} -> {stage}")
        except Exception as exc:  # noqa: BLE001
            ops.add(contact_id, "stage", key, "failed", f"{type(exc).__name__}: {exc}")
    else:
        ops.add(contact_id, kind or "?", "", "failed", f"unknown action kind {kind!r}")


__all__ = ["OPS_COLUMNS", "desired_tags", "marker", "stable_key", "sync"]
