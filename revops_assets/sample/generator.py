"""Write the sample workspace described in :mod:`revops_assets.sample` (the contract).

Same ``(accounts, seed, as_of)`` gives byte-identical files: every random choice comes from a stream
named after its purpose, so adding a stream never shifts another. The workspace is built in a
sibling temp dir and renamed into place, so readers never see half a sample.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from revops_assets.sample import DEMO_LOCATION_ID
from revops_assets.sample.clock import anchor, ghl_id, iso_ms
from revops_assets.sample.crm import (
    DEFECTS, SELLER, Account, location_of, make_appointments, make_calendars, make_contacts, make_opportunity,
    make_pipeline, make_users, recent_activity_notes, stall_deals,
)
from revops_assets.sample.emails import TEMPLATES, make_messages, variant_truth
from revops_assets.sample.frame import accounts_frame
from revops_assets.sample.news import company_document, news_documents
from revops_assets.sample.rb2b import make_visits, plan_visits

__all__ = ["accounts_frame", "write_sample", "build_sample", "expected_manifest", "VERSION"]

VERSION = 1
OPPORTUNITY_SHARE = 0.40
DEFECT_SHARE = 0.03

Progress = Callable[[str], None]


def _stream(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def expected_manifest(accounts: int, seed: int, as_of: date) -> dict:
    """The manifest a sample with these parameters has (cheap: no generation)."""
    return {
        "accounts": accounts,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "location_id": DEMO_LOCATION_ID,  # the demo resources and emulator agree on it
        "version": VERSION,
        "website": SELLER["website"],
    }


def _pick_defects(rnd: random.Random, n: int) -> dict[int, str]:
    """~3% of accounts, the four kinds in turn (so even a small sample has each kind)."""
    k = min(n, max(len(DEFECTS), round(DEFECT_SHARE * n))) if n >= 20 else min(n, 1 if n else 0)
    chosen = sorted(rnd.sample(range(n), k))
    return {i: DEFECTS[j % len(DEFECTS)] for j, i in enumerate(chosen)}


def build_sample(accounts: int, seed: int, as_of: date, progress: Progress | None = None) -> dict[str, object]:
    """Every file of the sample as ``{relative path: JSON value or list of JSON-lines rows}``."""
    step = progress or (lambda _msg: None)
    t0 = anchor(as_of)
    manifest = expected_manifest(accounts, seed, as_of)
    location_id = manifest["location_id"]

    step("accounts")
    frame = accounts_frame(accounts, seed)
    rows = frame.to_dict("records")
    ids = _stream(seed, "ids")
    users = make_users(_stream(seed, "users"))
    pipeline = make_pipeline(ids, location_id)
    group_id = ghl_id(ids)
    defects = _pick_defects(_stream(seed, "defects"), accounts)

    rnd_ae = _stream(seed, "assign")
    by_territory = {u["territory"]: [x for x in users if x["territory"] == u["territory"]] for u in users}
    accs: list[Account] = []
    for i, row in enumerate(rows):
        ae = rnd_ae.choice(by_territory.get(row["region"], users))
        accs.append(Account(idx=i, row=row, location=location_of(row), ae=ae, defect=defects.get(i)))

    step("contacts")
    rnd_c = _stream(seed, "contacts")
    for acc in accs:
        make_contacts(rnd_c, acc, t0, location_id)

    step("opportunities")
    rnd_o = _stream(seed, "opportunities")
    props = frame["propensity"].to_numpy()
    pct = (np.argsort(np.argsort(props)) + 0.5) / max(1, len(props))
    draws = np.random.default_rng([seed, 0x0FF]).random(len(props))
    has_opp = draws < (OPPORTUNITY_SHARE - 0.25) + 0.5 * pct
    history: list[dict] = []
    notes: list[dict] = []
    for acc in accs:
        if has_opp[acc.idx] or acc.defect == "unknown_stage":
            h, n = make_opportunity(rnd_o, acc, t0, pipeline, location_id)
            history += h
            notes += n
            if acc.opportunity["status"] == "won":
                for c in acc.contacts:
                    c["type"] = "customer"
    notes += stall_deals(_stream(seed, "stalls"), accs, t0)
    notes += recent_activity_notes(_stream(seed, "activity"), accs, t0)

    step("website visits")
    rnd_v = _stream(seed, "visits")
    plans = [(acc, plan_visits(rnd_v, acc, t0)) for acc in accs]
    visits, visit_truth = make_visits(rnd_v, plans)

    step("email history")
    rnd_t = _stream(seed, "templates")
    better = {name: rnd_t.choice("AB") for name in TEMPLATES}
    messages, outcomes, positives = make_messages(_stream(seed, "messages"), accs, t0, location_id, better)

    step("calendars")
    calendars = make_calendars(ids, users, location_id, group_id)
    appointments = make_appointments(_stream(seed, "appointments"), accs, calendars, t0, location_id, group_id, positives)

    _touch_opportunities(accs, notes, messages, appointments, t0)

    step("web corpus")
    rnd_n = _stream(seed, "news")
    documents: list[dict] = []
    labels: list[dict] = []
    for acc in accs:
        documents.append(company_document(acc.row, acc.location))
        for doc, lab, kind in news_documents(rnd_n, acc.row, acc.location, t0, len(documents)):
            documents.append(doc)
            labels.append({"id": doc["id"], "domain": acc.row["domain"], "labels": lab, "kind": kind,
                           "publishedDate": doc["publishedDate"]})

    notes.sort(key=lambda n: (n["dateAdded"], n["id"]))
    history.sort(key=lambda h: (h["enteredAt"], h["opportunityId"]))
    truth_accounts = [_truth_row(acc) for acc in accs]
    opportunities = [acc.opportunity for acc in accs if acc.opportunity]
    contacts = [c for acc in accs for c in acc.contacts]
    return {
        "manifest.json": manifest,
        "ghl/users.json": [{k: u[k] for k in ("id", "name", "firstName", "lastName", "email", "timezone", "role", "territory")} for u in users],
        "ghl/pipelines.json": {"pipelines": [pipeline]},
        "ghl/contacts.jsonl": contacts,
        "ghl/opportunities.jsonl": opportunities,
        "ghl/notes.jsonl": notes,
        "ghl/messages.jsonl": messages,
        "ghl/calendars.json": {"calendars": calendars},
        "ghl/appointments.jsonl": appointments,
        "exa/documents.jsonl": documents,
        "rb2b/visits.jsonl": visits,
        "imports/stage_history.jsonl": history,
        "truth/accounts.jsonl": truth_accounts,
        "truth/news_labels.jsonl": labels,
        "truth/email_outcomes.jsonl": outcomes,
        "truth/email_variants.json": variant_truth(outcomes, better),
        "truth/visits.jsonl": visit_truth,
    }


def _touch_opportunities(accs: list[Account], notes: list[dict], messages: list[dict], appointments: list[dict], t0: datetime) -> None:
    """Fill ``lastActionDate`` / ``updatedAt`` from the activities actually generated."""
    last: dict[str, str] = {}
    for item in notes + messages:
        cid = item["contactId"]
        if item["dateAdded"] > last.get(cid, ""):
            last[cid] = item["dateAdded"]
    for a in appointments:
        start = datetime.fromisoformat(a["startTime"])
        if start < t0 and a["appointmentStatus"] != "cancelled":
            s = iso_ms(start)
            if s > last.get(a["contactId"], ""):
                last[a["contactId"]] = s
    for acc in accs:
        opp = acc.opportunity
        if not opp:
            continue
        acts = [last[c["id"]] for c in acc.contacts if c["id"] in last]
        action = max(acts) if acts else opp["lastStageChangeAt"]
        opp["lastActionDate"] = action
        opp["updatedAt"] = max(action, opp["lastStageChangeAt"], opp["lastStatusChangeAt"])


def _truth_row(acc: Account) -> dict:
    row, opp = acc.row, acc.opportunity
    return {
        "domain": row["domain"],
        "company_name": row["company_name"],
        "industry": row["industry"],
        "employee_count": row["employee_count"],
        "region": row["region"],
        "country": row["country"],
        "icp_fit": round(row["icp_fit"], 6),
        "in_market": round(row["in_market"], 6),
        "propensity": round(row["propensity"], 6),
        "converted": bool(row["converted"]),
        "funding_days_ago": _nan_none(row["funding_days_ago"]),
        "hiring_days_ago": _nan_none(row["hiring_days_ago"]),
        "leadership_days_ago": _nan_none(row["leadership_days_ago"]),
        "launch_days_ago": _nan_none(row["launch_days_ago"]),
        "visits_30d": row["visits_30d"],
        "pricing_visits_30d": row["pricing_visits_30d"],
        "defect": acc.defect,
        "ae_id": acc.ae["id"],
        "contact_ids": [c["id"] for c in acc.contacts],
        "opportunity_id": opp["id"] if opp else None,
        "opportunity_status": opp["status"] if opp else None,
        "stalled": acc.stall is not None,
        "stall_reason": acc.stall,
        "quiet_since": iso_ms(acc.quiet_since) if acc.quiet_since else None,
    }


def _nan_none(x: float) -> int | None:
    return None if x != x else int(x)


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _dump_lines(rows: Iterable[object]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n" for r in rows)


def _write_tree(root: Path, files: dict[str, object]) -> None:
    for rel, value in files.items():
        if rel == "manifest.json":
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = _dump_lines(value) if rel.endswith(".jsonl") else _dump(value)  # type: ignore[arg-type]
        path.write_text(text, encoding="utf-8", newline="\n")
    (root / "manifest.json").write_text(_dump(files["manifest.json"]), encoding="utf-8", newline="\n")  # last: marks complete


def _swap_in(tmp: Path, out: Path) -> None:
    """Put ``tmp`` where ``out`` is. Refuses to replace a directory that is not a sample workspace."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / "manifest.json").exists()):
            raise FileExistsError(f"{out} exists and is not a sample workspace; not replacing it")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "x")
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        try:
            os.rename(tmp, out)
        except OSError:  # another writer got there first; theirs is equivalent or will be checked next run
            shutil.rmtree(tmp, ignore_errors=True)


def write_sample(
    out_dir: Path, accounts: int = 500, seed: int = 42, as_of: date | None = None, *,
    force: bool = False, progress: Progress | None = None,
) -> dict:
    """Write the sample workspace to ``out_dir`` and return its manifest.

    ``as_of`` (default: today, UTC) is the date history ends: all past events are before
    ``as_of`` 00:00 UTC, upcoming appointments fall in the 72 h after it. If ``out_dir`` already
    holds a sample with the same manifest it is left as is (unless ``force``); a different one is
    replaced atomically.
    """
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    as_of = as_of or datetime.now(timezone.utc).date()
    out_dir = Path(out_dir)
    manifest = expected_manifest(accounts, seed, as_of)
    current = out_dir / "manifest.json"
    if not force and current.exists():
        try:
            if json.loads(current.read_text(encoding="utf-8")) == manifest:
                return manifest
        except (OSError, ValueError):
            pass
    files = build_sample(accounts, seed, as_of, progress)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        (progress or (lambda _m: None))("writing files")
        _write_tree(tmp, files)
        _swap_in(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest
