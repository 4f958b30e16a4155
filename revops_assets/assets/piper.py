"""PIPER: real-time website visitors, and a brief for every meeting in the next 24 hours.

``visitor_engagements`` runs many times a day from the sensor, so it never touches the DuckDB file
(one writer at a time): it reads the accounts snapshot COACH leaves as Parquet and keeps its own
records in SQLite, which keeps POST-to-Slack latency in seconds even while the daily cycle runs.
"""


import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pandas as pd

from revops_assets.assets._common import DUCKDB_POOL, as_of, daily_partitions, md_table, table_metadata, utc_now
from revops_assets.directives import load_directives
from revops_assets.geo import region_of
from revops_assets.ledger import SideEffectLedger, post_once
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.exa import ExaResource
from revops_assets.resources.gohighlevel import GoHighLevelResource
from revops_assets.resources.inbox import InboxResource
from revops_assets.resources.slack import SlackResource
from revops_assets.sensors.visitors import REALTIME_MAX_AGE, TAG_FROM, TAG_TO

ACCOUNTS_SNAPSHOT = "snapshots/accounts_latest.parquet"
REALTIME_WINDOW = REALTIME_MAX_AGE  # older visits are history, not a reason to alert now
QUALIFYING_INTENT = 30.0

ENGAGEMENT_COLUMNS = ["visit_seq", "seen_at", "domain", "company_name", "person", "title", "captured_url",
                      "icp_fit", "intent_score", "qualified", "reason", "alert", "crm_note", "slots", "engaged_at"]


def accounts_snapshot_path(home: Path) -> Path:
    return Path(home) / ACCOUNTS_SNAPSHOT


def _visits_for_run(context: dg.AssetExecutionContext, box) -> list:
    """The sensor's batch (seq range in the run's tags), or else the last 24 h of visits."""
    tags = context.run.tags if context.run else {}
    since = utc_now() - REALTIME_WINDOW
    if TAG_FROM in tags and TAG_TO in tags:
        return [v for v in box.read_range(int(tags[TAG_FROM]), int(tags[TAG_TO])) if v.visit.seen_at >= since]
    visits, cursor = [], max(box.max_seq() - 5000, 0)
    while batch := box.read_after(cursor, 1000):
        visits += [v for v in batch if v.visit.seen_at >= since]
        cursor = batch[-1].seq
    return visits


def _store(home: Path, rows: pd.DataFrame) -> None:
    with closing(sqlite3.connect(Path(home) / "piper.sqlite", timeout=30)) as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS engagements ({', '.join(ENGAGEMENT_COLUMNS)}, PRIMARY KEY (visit_seq))")
        db.executemany(
            f"INSERT OR REPLACE INTO engagements VALUES ({', '.join('?' * len(ENGAGEMENT_COLUMNS))})",
            [tuple(None if pd.isna(v) else v for v in r) for r in rows[ENGAGEMENT_COLUMNS].itertuples(index=False)],
        )
        db.commit()


def load_engagements(home: Path) -> pd.DataFrame:
    path = Path(home) / "piper.sqlite"
    if not path.exists():
        return pd.DataFrame(columns=ENGAGEMENT_COLUMNS)
    with closing(sqlite3.connect(path)) as db:
        return pd.read_sql("SELECT * FROM engagements ORDER BY visit_seq", db)


def _slots(ghl: GoHighLevelResource, owner: str | None) -> list[str]:
    """Up to three free slots in the next three days on the account owner's calendar (else the first)."""
    calendars = ghl.list_calendars()
    if not calendars:
        return []
    chosen = next((c for c in calendars if owner and owner in json.dumps(c.wire())), calendars[0])
    start = utc_now()
    slots = ghl.get_free_slots(chosen.id, start, start + timedelta(days=3))
    return [s.wire().get("startTime") or str(s) for s in slots[:3]]


@dg.asset(group_name="piper", kinds={"rb2b", "slack", "gohighlevel"}, deps=["lead_scores"])
def visitor_engagements(
    context: dg.AssetExecutionContext, inbox: InboxResource, exa: ExaResource, ghl: GoHighLevelResource,
    slack: SlackResource, revops: RevOpsConfig,
) -> dg.MaterializeResult:
    """New visitors researched, qualified (ICP + intent), alerted to their AE, noted in the CRM, offered slots."""
    from revops_assets.outbound.crm_sync import sync
    from revops_assets.scoring.lead_model import icp_filter

    settings = revops.settings
    icp = load_directives(settings.directives_dir).lead_processing.icp
    with inbox.open() as box:
        visits = _visits_for_run(context, box)
    snapshot_file = accounts_snapshot_path(settings.home)
    contacts = (pd.read_parquet(snapshot_file) if snapshot_file.exists()
                else pd.DataFrame(columns=["domain", "email", "contact_id"]))  # no scores yet: every visitor is new
    # The snapshot has one row per contact (best-scored first): the account is its domain's first row,
    # the visitor is the contact with the visitor's email, when the CRM knows them.
    known = contacts.drop_duplicates("domain").set_index("domain")
    by_email = contacts.dropna(subset=["email"]).drop_duplicates("email").set_index("email")["contact_id"]
    ledger = SideEffectLedger.for_home(settings.home)
    rows = []
    for item in visits:
        v = item.visit
        account = known.loc[v.domain] if v.domain and v.domain in known.index else None
        industry, employees = (account["industry"], account["employee_count"]) if account is not None else (v.industry, v.employee_count)
        region = account["region"] if account is not None else None
        if account is None and v.domain:  # quick research: one Exa call, firmographics for the ICP check
            try:
                found = exa.search_company(v.domain)
                props = next((e.get("properties") or {} for r in found.results for e in (r.model_dump().get("entities") or [])), {})
                employees = employees or (props.get("workforce") or {}).get("total")
                region = region_of((props.get("headquarters") or {}).get("country"))
            except Exception as exc:
                context.log.warning(f"quick research failed for {v.domain}: {type(exc).__name__}")
        fit, why = icp_filter(pd.DataFrame([{"industry": industry, "employee_count": employees, "region": region,
                                              "title": v.title}]), icp.model_dump())
        intent = float(account["intent_score"]) if account is not None and pd.notna(account["intent_score"]) else 0.0
        qualified = bool(fit.iloc[0]) and (v.is_hot_page or intent >= QUALIFYING_INTENT)
        reason = "ICP fit and " + ("hot page" if v.is_hot_page else f"intent {intent:.0f}") if qualified else str(why.iloc[0] or "below intent bar")
        person = " ".join(p for p in (v.first_name, v.last_name) if p) or "(company-level visit)"
        alert = note = None
        slots: list[str] = []
        if qualified:
            owner = account["assigned_to"] if account is not None else None
            try:
                slots = _slots(ghl, owner)
            except Exception as exc:
                context.log.warning(f"calendar unavailable: {type(exc).__name__}")
            text = (f":fire: {person} ({v.title or 'unknown title'}) from {v.company_name or v.domain} is on "
                    f"{v.captured_url} — {reason}. Offer: {', '.join(slots) or 'no free slots found'}")
            alert = post_once(slack, ledger, f"visit-alert:{v.dedupe_key}", text, context.log)
            contact_id = by_email.get((v.email or "").lower())  # the note goes on the visitor's own record
            if contact_id and settings.crm_writeback:
                ops = sync(ghl, pd.DataFrame(columns=["contact_id"]), [
                    {"kind": "note", "contact_id": contact_id, "body": f"Website visit: {v.captured_url} ({reason})"}])
                note = ",".join(ops["status"]) if len(ops) else None
        rows.append({
            "visit_seq": item.seq, "seen_at": v.seen_at.isoformat(), "domain": v.domain, "company_name": v.company_name,
            "person": person, "title": v.title, "captured_url": v.captured_url, "icp_fit": bool(fit.iloc[0]),
            "intent_score": intent, "qualified": qualified, "reason": reason, "alert": alert, "crm_note": note,
            "slots": json.dumps(slots), "engaged_at": utc_now().isoformat(),
        })
    df = pd.DataFrame(rows, columns=ENGAGEMENT_COLUMNS)
    _store(settings.home, df)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(df), "qualified": int(df["qualified"].sum()) if len(df) else 0,
        "alerts_posted": int((df["alert"] == "posted").sum()) if len(df) else 0,
        "preview": md_table(df, columns=["seen_at", "person", "company_name", "captured_url", "qualified", "alert"]),
    })


@dg.asset(group_name="piper", kinds={"gohighlevel", "chroma"}, deps=["directives", "digital_mind_index"],
          **dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"}))
def meeting_briefs(
    context: dg.AssetExecutionContext, enriched_accounts: pd.DataFrame, intent_signals: pd.DataFrame,
    ghost_list: pd.DataFrame, call_insights: pd.DataFrame, ghl: GoHighLevelResource, revops: RevOpsConfig,
) -> pd.DataFrame:
    """A brief per appointment in the next 24 h: account, news, history, risks, agenda (markdown on disk)."""
    from revops_assets.assets.crm import domain_of
    from revops_assets.mind.query import ask

    settings = revops.settings
    rules = load_directives(settings.directives_dir).meeting_preparation.meetings
    start = as_of(context) if context.partition_key < utc_now().date().isoformat() else utc_now()
    end = start + timedelta(hours=rules.lookahead_hours)
    accounts = enriched_accounts.set_index("domain")
    out_dir = settings.home / "briefs" / context.partition_key
    rows = []
    for calendar in ghl.list_calendars():
        for appt in ghl.list_events(calendar.id, start, end):
            a = appt.wire()
            contact = ghl.get_contact(a["contactId"]).wire() if a.get("contactId") else {}
            domain = domain_of(contact.get("website"), contact.get("email"))
            acct = accounts.loc[domain] if domain in accounts.index else None
            cutoff = (start - timedelta(days=rules.news_lookback_days)).date().isoformat()
            news = [n for n in json.loads(acct["news"]) if (n.get("published") or "") >= cutoff] if acct is not None and isinstance(acct["news"], str) else []
            signals = intent_signals[intent_signals["domain"] == domain].sort_values("published", ascending=False).head(5)
            try:
                passages = ask(f"past conversations with {contact.get('companyName') or domain}", account=domain,
                               k=rules.passages, settings=settings) if domain else []
            except Exception as exc:  # no index yet: the brief says so instead of failing
                context.log.warning(f"digital mind unavailable: {type(exc).__name__}")
                passages = []
            risks = [f"Deal stalled {int(g.days_stalled)} days: {g.stall_pattern}" for g in ghost_list[ghost_list["domain"] == domain].itertuples()] if "domain" in ghost_list else []
            for c in call_insights[call_insights.get("account", pd.Series(dtype=str)) == domain].itertuples() if len(call_insights) else []:
                risks += [f"Objection raised on a call: {o.get('category')}" for o in json.loads(getattr(c, "objections", "[]") or "[]")][:3]
            name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p) or "the contact"
            company = contact.get("companyName") or domain or "unknown account"
            lines = [f"# Brief: {a.get('title') or 'Meeting'} with {name} ({company})", "",
                     f"**When:** {a.get('startTime')}  ", f"**Account:** {company} ({domain or 'no domain'})", "",
                     "## Account intelligence"]
            if acct is not None:
                lines += [f"- Industry: {acct.get('industry')}; employees: {acct.get('employee_count')}; region: {acct.get('region')}",
                          f"- {acct.get('description') or 'No description on file.'}"]
            else:
                lines += ["- Not in the CRM's accounts yet: brief from the calendar only."]
            lines += ["", "## Recent news"] + ([f"- {n['published']}: [{n['title']}]({n['url']})" for n in news[:5]] or ["- Nothing in the lookback window."])
            lines += ["", "## Intent signals"] + ([f"- {s.type} ({s.published:%Y-%m-%d}): {s.evidence}" for s in signals.itertuples()] or ["- None detected."])
            lines += ["", "## Past interactions (Digital Mind)"] + ([f"- *{p.source}* — {p.text[:200]}" for p in passages] or ["- No indexed history with this account."])
            lines += ["", "## Open risks"] + (risks or ["- None known."])
            agenda = ["Confirm goals and timeline"]
            if news:
                agenda.insert(0, f"Open with their news: {news[0]['title']}")
            if risks:
                agenda.append("Address: " + risks[0])
            agenda.append("Agree on a concrete next step with an owner and date")
            lines += ["", "## Suggested agenda"] + [f"{i}. {item}" for i, item in enumerate(agenda, 1)]
            markdown = "\n".join(lines) + "\n"
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"{a.get('id')}.md"
            path.write_text(markdown)
            rows.append({"appointment_id": a.get("id"), "start_time": a.get("startTime"), "assigned_to": a.get("assignedUserId") or calendar.id,
                         "contact_id": a.get("contactId"), "domain": domain, "company": company, "news_items": len(news),
                         "passages": len(passages), "risks": len(risks), "path": str(path), "brief": markdown})
    df = pd.DataFrame(rows, columns=["appointment_id", "start_time", "assigned_to", "contact_id", "domain", "company",
                                     "news_items", "passages", "risks", "path", "brief"])
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    meta = table_metadata(df, ["start_time", "company", "news_items", "passages", "risks"])
    if len(df):
        meta["first_brief"] = dg.MetadataValue.md(df["brief"].iloc[0])
    context.add_output_metadata(meta)
    return df


PIPER_ASSETS = [visitor_engagements, meeting_briefs]
