"""Raw snapshots: what the CRM (GoHighLevel) and the website (RB2B) say, as of each day.

Daily partitions keep history. A past partition is rebuilt point-in-time: records created after the
day are left out, and deal stages and statuses are taken from the stage history as they were then.
"""


import json
from datetime import timedelta
from urllib.parse import urlparse

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from revops_assets import warehouse
from revops_assets.assets._common import (
    DUCKDB_POOL,
    as_of,
    daily_partitions,
    json_col,
    quarantine_frame,
    table_metadata,
    to_utc,
)
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.gohighlevel import GoHighLevelResource
from revops_assets.resources.inbox import InboxResource

FREE_MAIL = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "proton.me"}
VISIT_LOOKBACK_DAYS = 30
SNAPSHOT = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})


def domain_of(website: str | None, email: str | None) -> str | None:
    """The account key: the website's host, else a business email's domain."""
    if website:
        try:
            host = urlparse(website if "//" in website else f"//{website}").hostname or ""
        except ValueError:  # not a URL at all (e.g. "http://["): fall back to the email's domain
            host = ""
        host = host.lower().removeprefix("www.")
        if "." in host:
            return host
    if email and "@" in email:
        dom = email.rsplit("@", 1)[1].lower().strip()
        if "." in dom and dom not in FREE_MAIL:
            return dom
    return None


def _custom(contact: dict, field_id: str):
    for item in contact.get("customFields") or []:
        if item.get("id") == field_id:
            return item.get("value", item.get("fieldValue"))
    return None


def _record_quarantine(warehouse_res: DuckDBResource, asset: str, partition: str, bad: pd.DataFrame) -> None:
    with warehouse_res.get_connection() as conn:
        warehouse.replace_where(conn, "quarantine", bad, asset=asset, partition=partition)


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, **SNAPSHOT)
def ghl_pipelines(context: dg.AssetExecutionContext, ghl: GoHighLevelResource) -> pd.DataFrame:
    """Pipelines and their stages (OPERATOR's map of the funnel), one row per stage."""
    rows = []
    for pipeline in ghl.get_pipelines():
        p = pipeline.wire()
        for stage in p.get("stages") or []:
            rows.append(
                {"pipeline_id": p["id"], "pipeline_name": p.get("name"), "stage_id": stage["id"],
                 "stage_name": stage.get("name"), "position": int(stage.get("position") or 0)}
            )
    df = pd.DataFrame(rows, columns=["pipeline_id", "pipeline_name", "stage_id", "stage_name", "position"])
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(df))
    return df


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, **SNAPSHOT)
def ghl_contacts(context: dg.AssetExecutionContext, ghl: GoHighLevelResource, warehouse_db: DuckDBResource) -> pd.DataFrame:
    """Contacts with their account (domain) and firmographics, as of the partition's day."""
    from revops_assets.resources.gohighlevel import CUSTOM_FIELD_IDS

    cutoff = as_of(context)
    invalid: list[tuple[dict, str]] = []
    raw = [c.wire() for c in ghl.search_contacts(on_invalid=lambda r, why: invalid.append((r, why)))]
    df = pd.DataFrame(
        {
            "contact_id": [c.get("id") for c in raw],
            "first_name": [c.get("firstName") for c in raw],
            "last_name": [c.get("lastName") for c in raw],
            "email": [(c.get("email") or "").lower() or None for c in raw],
            "company_name": [c.get("companyName") for c in raw],
            "website": [c.get("website") for c in raw],
            "domain": [domain_of(c.get("website"), c.get("email")) for c in raw],
            "title": [_custom(c, CUSTOM_FIELD_IDS["title"]) for c in raw],
            "seniority": [_custom(c, CUSTOM_FIELD_IDS["seniority"]) for c in raw],
            "industry": [_custom(c, CUSTOM_FIELD_IDS["industry"]) for c in raw],
            "employee_count_raw": [_custom(c, CUSTOM_FIELD_IDS["employee_count"]) for c in raw],
            "region": [_custom(c, CUSTOM_FIELD_IDS["region"]) for c in raw],
            "country": [c.get("country") for c in raw],
            "tags": json_col(c.get("tags") or [] for c in raw),
            "dnd": [bool(c.get("dnd")) for c in raw],
            "assigned_to": [c.get("assignedTo") for c in raw],
            "date_added_raw": [c.get("dateAdded") for c in raw],
        }
    )
    df["employee_count"] = pd.to_numeric(df["employee_count_raw"], errors="coerce")
    df["date_added"] = to_utc(df["date_added_raw"])
    reasons = pd.Series("", index=df.index)
    reasons[df["domain"].isna()] = "no domain (neither website nor business email)"
    reasons[(reasons == "") & df["date_added"].isna()] = "malformed dateAdded"
    reasons[(reasons == "") & (df["employee_count"] < 0)] = "negative employee count"
    bad = reasons != ""
    _record_quarantine(warehouse_db, "ghl_contacts", context.partition_key, pd.concat([
        quarantine_frame(df[bad], reasons[bad], "gohighlevel.contact", "contact_id"),
        _invalid_frame(invalid, "gohighlevel.contact")]))
    good = df[~bad & (df["date_added"] <= cutoff)].drop(columns=["employee_count_raw", "date_added_raw"])
    good = good.reset_index(drop=True).assign(snapshot_date=pd.Timestamp(context.partition_key))
    context.add_output_metadata(
        table_metadata(good, ["contact_id", "email", "domain", "title", "industry", "employee_count"],
                       quarantined=int(bad.sum()) + len(invalid),
                       quarantine_reasons=dg.MetadataValue.json(reasons[bad].value_counts().to_dict() | _reason_counts(invalid)))
    )
    return good


def _invalid_frame(invalid: list[tuple[dict, str]], source: str) -> pd.DataFrame:
    """Records the client could not read at all (a wrongly typed field), kept whole with the reason."""
    rows = pd.DataFrame({"record_key": [str(r.get("id")) if isinstance(r, dict) else "?" for r, _ in invalid],
                         "reason": [why for _, why in invalid],
                         "record": [json.dumps(r, default=str) for r, _ in invalid]})
    return rows.assign(source=source)[["source", "record_key", "reason", "record"]]


def _reason_counts(invalid: list[tuple[dict, str]]) -> dict[str, int]:
    return pd.Series([why for _, why in invalid], dtype=object).value_counts().to_dict()



def _monetary_value_problem(value: object) -> str:
    """Why a deal amount cannot be summed into pipeline figures ("" when usable; no amount is fine)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"non-numeric monetaryValue ({type(value).__name__})"
    if not abs(value) < float("inf"):  # NaN and +-inf; exact for ints of any size
        return f"non-finite monetaryValue ({value})"
    if value < 0:
        return f"negative monetaryValue ({value})" if value > -1e300 else "negative monetaryValue"
    return ""


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, **SNAPSHOT)
def ghl_opportunities(
    context: dg.AssetExecutionContext, ghl: GoHighLevelResource, revops: RevOpsConfig, warehouse_db: DuckDBResource
) -> pd.DataFrame:
    """Deals with their stage as it was on the partition's day, built from the CRM and the stage history.

    The history is the CRM's stage changes seen by every snapshot, plus any imported export
    (``<home>/sample/imports/stage_history.jsonl`` in the demo).
    """
    cutoff = as_of(context)
    stages = {s.id: (p.id, s.name) for p in ghl.get_pipelines() for s in p.stages}
    invalid: list[tuple[dict, str]] = []
    raw = [o.wire() for o in ghl.search_opportunities(on_invalid=lambda r, why: invalid.append((r, why)))]
    df = pd.DataFrame(
        {
            "opportunity_id": [o.get("id") for o in raw],
            "name": [o.get("name") for o in raw],
            "contact_id": [o.get("contactId") for o in raw],
            "pipeline_id": [o.get("pipelineId") for o in raw],
            "stage_id": [o.get("pipelineStageId") for o in raw],
            "status_now": [o.get("status") for o in raw],
            "monetary_value": pd.to_numeric([o.get("monetaryValue") for o in raw], errors="coerce"),
            "assigned_to": [o.get("assignedTo") for o in raw],
            "created_at": to_utc(pd.Series([o.get("createdAt") for o in raw], dtype="object")),
            "last_stage_change_at": to_utc(pd.Series([o.get("lastStageChangeAt") for o in raw], dtype="object")),
            "last_status_change_at": to_utc(pd.Series([o.get("lastStatusChangeAt") for o in raw], dtype="object")),
            "last_action_at": to_utc(pd.Series([o.get("lastActionDate") or o.get("updatedAt") for o in raw], dtype="object")),
        }
    )
    reasons = pd.Series("", index=df.index)
    reasons[~df["stage_id"].isin(list(stages))] = "unknown stage id"
    reasons[(reasons == "") & df["created_at"].isna()] = "malformed createdAt"
    money = pd.Series([_monetary_value_problem(o.get("monetaryValue")) for o in raw], index=df.index, dtype=object)
    reasons[(reasons == "") & (money != "")] = money
    bad = reasons != ""
    _record_quarantine(warehouse_db, "ghl_opportunities", context.partition_key, pd.concat([
        quarantine_frame(df[bad], reasons[bad], "gohighlevel.opportunity", "opportunity_id"),
        _invalid_frame(invalid, "gohighlevel.opportunity")]))
    df = df[~bad & (df["created_at"] <= cutoff)].copy()

    history = _stage_history(revops, warehouse_db, df, stages, context.partition_key)
    # Stage on the day: the last change on or before it (the current stage when history is silent).
    past = history[history["entered_at"] <= cutoff].sort_values("entered_at")
    last = past.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    df["stage_id"] = df["opportunity_id"].map(last["stage_id"]).fillna(df["stage_id"])
    df["stage_entered_at"] = df["opportunity_id"].map(last["entered_at"])
    df["stage_entered_at"] = df["stage_entered_at"].fillna(df["created_at"])
    df["stage_name"] = df["stage_id"].map(lambda s: stages.get(s, (None, None))[1])
    closed_later = df["last_status_change_at"] > cutoff
    df["status"] = df["status_now"].where(~closed_later | (df["status_now"] == "open"), "open")
    # Activity after the day is unknown on the day: fall back to the last stage move we can see.
    df["last_activity_at"] = df["last_action_at"].where(df["last_action_at"] <= cutoff, df["stage_entered_at"])
    df = df.drop(columns=["status_now", "last_action_at"]).reset_index(drop=True)
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(
        table_metadata(df, ["opportunity_id", "stage_name", "status", "monetary_value", "last_activity_at"],
                       quarantined=int(bad.sum()) + len(invalid), open_deals=int((df["status"] == "open").sum()),
                       stage_history_rows=len(history))
    )
    return df


def _stage_history(revops: RevOpsConfig, warehouse_db: DuckDBResource, opps: pd.DataFrame,
                   stages: dict, partition: str) -> pd.DataFrame:
    """Every (deal, stage, entered_at) known: the imported export plus what this snapshot shows."""
    seen = opps[["opportunity_id", "stage_id", "last_stage_change_at"]].rename(columns={"last_stage_change_at": "entered_at"})
    seen = seen.dropna(subset=["entered_at"])
    with warehouse_db.get_connection() as conn:
        warehouse.upsert(conn, "stage_history", seen.assign(seen_in_partition=partition),
                         keys=["opportunity_id", "stage_id", "entered_at"])
        return known_stage_history(revops, conn)


def known_stage_history(revops: RevOpsConfig, conn) -> pd.DataFrame:
    """[opportunity_id, stage_id, entered_at] of every stage change known, whenever it happened: the
    imported export (``<sample_dir>/imports/stage_history.jsonl``) plus the changes snapshots have
    seen (warehouse table ``stage_history``). Read-only; callers cut it at their own day."""
    frames = []
    imported = revops.settings.sample_dir / "imports" / "stage_history.jsonl"
    if imported.exists():
        rows = [json.loads(line) for line in imported.read_text().splitlines() if line.strip()]
        frames.append(pd.DataFrame({
            "opportunity_id": [r.get("opportunityId") for r in rows],
            "stage_id": [r.get("pipelineStageId") for r in rows],
            "entered_at": to_utc(pd.Series([r.get("enteredAt") for r in rows], dtype="object")),
        }))
    stored = warehouse.read(conn, "stage_history")
    if not stored.empty:
        stored["entered_at"] = to_utc(stored["entered_at"])
        frames.append(stored[["opportunity_id", "stage_id", "entered_at"]])
    columns = ["opportunity_id", "stage_id", "entered_at"]
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return history.dropna(subset=["entered_at"]).drop_duplicates(columns).reset_index(drop=True)


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, **SNAPSHOT)
def ghl_activities(context: dg.AssetExecutionContext, ghl: GoHighLevelResource) -> pd.DataFrame:
    """Email activity (sent, replies, bounces) on or before the day: the raw material of outcomes."""
    cutoff = as_of(context)
    rows = []
    for m in ghl.export_messages(channel="Email", end_date=cutoff):
        d = m.wire()
        meta = d.get("meta") or {}
        rows.append({
            "message_id": d.get("id"), "contact_id": d.get("contactId"), "conversation_id": d.get("conversationId"),
            "direction": d.get("direction"), "status": d.get("status"), "subject": d.get("subject"),
            "body": (d.get("body") or "")[:2000], "date_added": d.get("dateAdded"),
            "meta": json.dumps(meta if isinstance(meta, dict) else {}, sort_keys=True),
        })
    df = pd.DataFrame(rows, columns=["message_id", "contact_id", "conversation_id", "direction", "status",
                                     "subject", "body", "date_added", "meta"])
    df["date_added"] = to_utc(df["date_added"])
    df = df[df["date_added"] <= cutoff].reset_index(drop=True)
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(df, ["message_id", "contact_id", "direction", "status", "subject"]))
    return df


@dg.asset(group_name="piper", kinds={"rb2b", "duckdb"}, **SNAPSHOT)
def rb2b_visitors(context: dg.AssetExecutionContext, inbox: InboxResource) -> pd.DataFrame:
    """Identified website visits of the 30 days up to the partition's day, from the durable inbox."""
    cutoff = as_of(context)
    start = cutoff - timedelta(days=VISIT_LOOKBACK_DAYS)
    box = inbox.open()
    rows = []
    cursor = 0
    while True:
        batch = box.read_after(cursor, 5000)
        if not batch:
            break
        for item in batch:
            v = item.visit
            seen = pd.Timestamp(v.seen_at)
            seen = seen.tz_localize("UTC") if seen.tzinfo is None else seen.tz_convert("UTC")
            if start <= seen <= cutoff:
                rows.append({
                    "visit_seq": item.seq, "seen_at": seen, "domain": v.domain, "company_name": v.company_name,
                    "email": v.email, "first_name": v.first_name, "last_name": v.last_name, "title": v.title,
                    "linkedin_url": v.linkedin_url, "industry": v.industry, "employee_count": v.employee_count,
                    "captured_url": v.captured_url, "referrer": v.referrer, "tags": json.dumps(list(v.tags or [])),
                    "is_hot_page": bool(v.is_hot_page), "is_company_only": bool(v.is_company_only),
                })
        cursor = batch[-1].seq
    df = pd.DataFrame(rows, columns=["visit_seq", "seen_at", "domain", "company_name", "email", "first_name",
                                     "last_name", "title", "linkedin_url", "industry", "employee_count",
                                     "captured_url", "referrer", "tags", "is_hot_page", "is_company_only"])
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(
        table_metadata(df, ["seen_at", "domain", "title", "captured_url", "is_hot_page"],
                       hot_page_visits=int(df["is_hot_page"].sum()), quarantined_in_inbox=len(box.quarantined()))
    )
    return df


CRM_ASSETS = [ghl_pipelines, ghl_contacts, ghl_opportunities, ghl_activities, rb2b_visitors]
