"""QUEEN: what each AE should know this morning, and who does what in the next 24 hours.

Files land in ``<home>/briefings/<date>/<ae>.md`` and ``<home>/24h_action_plan.json``. Slack posts
happen only for today's partition (a backfill never re-posts a past morning) and at most once per
(day, AE), through the side-effect ledger.
"""


import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from revops_assets import warehouse
from revops_assets.assets._common import DUCKDB_POOL, daily_partitions, table_metadata, utc_now
from revops_assets.directives import load_directives
from revops_assets.ledger import SideEffectLedger, post_once
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.gohighlevel import GoHighLevelResource
from revops_assets.resources.slack import SlackResource

PARTITIONED = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})


def ae_names(ghl: GoHighLevelResource) -> dict[str, str]:
    """AE id → name, from the calendars' team members (the API family this project uses has no users call)."""
    names: dict[str, str] = {}
    for cal in ghl.list_calendars():
        w = cal.wire()
        for member in w.get("teamMembers") or []:
            if member.get("userId"):
                names.setdefault(member["userId"], w.get("name", member["userId"]).replace("'s calendar", "").replace(" calendar", ""))
    return names


def _previous_priorities(warehouse_db: DuckDBResource, day: str) -> pd.Series:
    with warehouse_db.get_connection() as conn:
        prev = warehouse.read(conn, "lead_scores", "snapshot_date = (SELECT MAX(snapshot_date) FROM revops.lead_scores WHERE snapshot_date < ?)", [day])
    return prev.set_index("contact_id")["priority"] if len(prev) else pd.Series(dtype=str)


@dg.asset(group_name="queen", kinds={"slack", "markdown"}, **PARTITIONED)
def morning_briefing(
    context: dg.AssetExecutionContext, lead_scores: pd.DataFrame, ghost_list: pd.DataFrame,
    meeting_briefs: pd.DataFrame, outbound_log: pd.DataFrame, ghl: GoHighLevelResource,
    slack: SlackResource, revops: RevOpsConfig, warehouse_db: DuckDBResource,
) -> pd.DataFrame:
    """Per AE: hot leads, ghosts to revive, today's meetings, what changed overnight (markdown + Slack)."""
    settings = revops.settings
    day = context.partition_key
    names = ae_names(ghl)
    before = _previous_priorities(warehouse_db, day)
    now_priority = lead_scores.set_index("contact_id")["priority"]
    promoted = [c for c, p in now_priority.items() if p == "High" and before.get(c) not in (None, "High")]
    out_dir = settings.home / "briefings" / day
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = SideEffectLedger.for_home(settings.home)
    is_today = day == utc_now().date().isoformat()
    owners = sorted(set(lead_scores["assigned_to"].dropna()) | set(ghost_list.get("assigned_to", pd.Series(dtype=str)).dropna()))
    rows = []
    for ae in owners:
        name = names.get(ae, ae)
        hot = lead_scores[(lead_scores["assigned_to"] == ae) & (lead_scores["priority"] == "High")].sort_values("probability", ascending=False)
        ghosts = ghost_list[ghost_list["assigned_to"] == ae].sort_values("days_stalled", ascending=False) if len(ghost_list) else ghost_list
        meetings = meeting_briefs[meeting_briefs["assigned_to"] == ae] if len(meeting_briefs) else meeting_briefs
        new_high = [c for c in promoted if c in set(hot["contact_id"])]
        lines = [f"# Good morning, {name} — {day}", "", f"## Hot leads ({len(hot)})"]
        lines += [f"- **{r.company_name}** — {r.first_name or ''} {r.last_name or ''} ({r.title or 'n/a'}): "
                  f"{r.probability:.0%}; {r.score_explanation}" for r in hot.head(10).itertuples()] or ["- None today."]
        lines += ["", f"## Ghosts to revive ({len(ghosts)})"]
        lines += [f"- {g.name or g.opportunity_id}: {g.stage_name}, quiet {int(g.days_stalled)} days — {g.stall_pattern}"
                  for g in ghosts.head(10).itertuples()] or ["- No stalled deals."]
        lines += ["", f"## Today's meetings ({len(meetings)})"]
        lines += [f"- {m.start_time}: {m.company} (brief: `{m.path}`)" for m in meetings.itertuples()] or ["- No meetings."]
        lines += ["", "## What changed overnight"]
        lines += [f"- {len(new_high)} lead(s) newly High priority"] if new_high else ["- No new High-priority leads."]
        markdown = "\n".join(lines) + "\n"
        (out_dir / f"{ae}.md").write_text(markdown)
        slack_status = "not today (backfill)"
        if is_today:
            summary = f"Morning, {name}: {len(hot)} hot leads, {len(ghosts)} ghosts, {len(meetings)} meetings today."
            slack_status = post_once(slack, ledger, f"morning:{day}:{ae}", summary, context.log)
        rows.append({"assigned_to": ae, "ae_name": name, "hot_leads": len(hot), "ghosts": len(ghosts),
                     "meetings": len(meetings), "new_high": len(new_high), "slack": slack_status,
                     "path": str(out_dir / f"{ae}.md"), "markdown": markdown})
    df = pd.DataFrame(rows, columns=["assigned_to", "ae_name", "hot_leads", "ghosts", "meetings", "new_high", "slack", "path", "markdown"])
    df["snapshot_date"] = pd.Timestamp(day)
    meta = table_metadata(df, ["ae_name", "hot_leads", "ghosts", "meetings", "new_high", "slack"])
    if len(df):
        meta["example"] = dg.MetadataValue.md(df["markdown"].iloc[0])
    context.add_output_metadata(meta)
    return df


@dg.asset(group_name="queen", kinds={"json"}, deps=["directives"], **PARTITIONED)
def action_plan_24h(
    context: dg.AssetExecutionContext, lead_scores: pd.DataFrame, ghost_list: pd.DataFrame,
    meeting_briefs: pd.DataFrame, outbound_log: pd.DataFrame, revops: RevOpsConfig,
) -> pd.DataFrame:
    """Who does what today, routed per the directives (High/Medium to the AE, Low to nurture)."""
    settings = revops.settings
    routing = load_directives(settings.directives_dir).lead_processing.routing
    rows = []
    for r in lead_scores.itertuples():
        route = routing.get(str(r.priority).lower(), "nurture")
        owner = r.assigned_to if route == "assigned_ae" else "nurture"
        if r.priority in ("High", "Medium"):
            rows.append({"owner": owner, "agent": "OPERATOR" if r.priority == "Medium" else "AE",
                         "action": "call" if r.priority == "High" else "email sequence",
                         "target": r.contact_id, "account": r.domain, "why": r.score_explanation, "priority": r.priority})
    for g in ghost_list.itertuples() if len(ghost_list) else []:
        rows.append({"owner": g.assigned_to, "agent": "OPERATOR", "action": "revive stalled deal", "target": g.opportunity_id,
                     "account": getattr(g, "domain", None), "why": f"{g.stall_pattern} ({int(g.days_stalled)} days)", "priority": "High"})
    for m in meeting_briefs.itertuples() if len(meeting_briefs) else []:
        rows.append({"owner": m.assigned_to, "agent": "PIPER", "action": "meeting", "target": m.appointment_id,
                     "account": m.domain, "why": f"at {m.start_time}; brief at {m.path}", "priority": "High"})
    queued = int((outbound_log["status"].isin(["dry_run", "pending", "awaiting_approval", "approved"])).sum()) if len(outbound_log) else 0
    df = pd.DataFrame(rows, columns=["owner", "agent", "action", "target", "account", "why", "priority"])
    order = {"High": 0, "Medium": 1, "Low": 2}
    df = df.sort_values(["owner", "priority", "action"], key=lambda s: s.map(order) if s.name == "priority" else s).reset_index(drop=True)
    plan = {"date": context.partition_key, "generated_at": utc_now().isoformat(), "emails_queued": queued,
            "by_owner": {str(o): g.drop(columns="owner").to_dict("records") for o, g in df.groupby("owner")}}
    if context.partition_key == utc_now().date().isoformat():
        (settings.home / "24h_action_plan.json").write_text(json.dumps(plan, indent=2, default=str))
    plans = settings.home / "plans"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / f"{context.partition_key}.json").write_text(json.dumps(plan, indent=2, default=str))
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(df, ["owner", "agent", "action", "account", "priority"], emails_queued=queued,
                                               by_action=dg.MetadataValue.json(df["action"].value_counts().to_dict())))
    return df


QUEEN_ASSETS = [morning_briefing, action_plan_24h]
