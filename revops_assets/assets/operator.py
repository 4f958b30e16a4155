"""OPERATOR: sequences for today's prioritized leads, the outbox that sends them safely, CRM write-back.

Every side effect is idempotent and dry-run unless configured: emails go through the outbox
(``REVOPS_OUTBOUND_MODE``: dry_run, approval, live); CRM writes carry stable markers so a second run
changes nothing.
"""


import json

import dagster as dg
import pandas as pd

from revops_assets.assets._common import DUCKDB_POOL, as_of, daily_partitions, md_table, table_metadata
from revops_assets.directives import load_directives
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.gohighlevel import GoHighLevelResource

PARTITIONED = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})
VARIANT_SEED = "hive-mind-ab"


def _sender(revops: RevOpsConfig) -> dict:
    sender = load_directives(revops.settings.directives_dir).outbound_campaign.sender.model_dump()
    return sender | {"unsubscribe_secret": revops.unsubscribe_secret}


def _thompson_chooser(plays: pd.DataFrame, leads: pd.DataFrame):
    """A/B(/n) by Thompson sampling from the ReasoningBank, reproducible per lead; audits kept for the trace."""
    from revops_assets.learning.bandit import choose_variant, lead_rng

    context = {r.contact_id: r for r in leads.itertuples()}
    audits: dict[tuple[str, str], tuple[str, dict]] = {}

    def choose(contact_id: str, template_id: str, step: int, variants) -> str:
        key = (contact_id, template_id)
        if key not in audits:
            lead = context[contact_id]
            # Pooled over persona and segment (None): per-template evidence is thin enough already;
            # the bank still reports every play by context for people to read.
            audits[key] = choose_variant(
                plays, template_id, getattr(lead, "strongest_signal", None) or "none", None, None,
                list(variants), lead_rng(VARIANT_SEED, contact_id, template_id),
            )
        return audits[key][0]

    return choose, audits


def _library(revops: RevOpsConfig):
    from revops_assets.outbound.templates import TemplateLibrary

    return TemplateLibrary(revops.settings.content_dir / "emails")


@dg.asset(group_name="operator", kinds={"jinja", "duckdb"}, deps=["directives"], **PARTITIONED)
def sequences(
    context: dg.AssetExecutionContext, lead_scores: pd.DataFrame, enriched_accounts: pd.DataFrame,
    reasoning_bank: pd.DataFrame, revops: RevOpsConfig,
) -> pd.DataFrame:
    """Multi-step email sequences for High/Medium leads, chosen by strongest signal and persona."""
    from revops_assets.outbound.sequences import build_sequences

    rules = load_directives(revops.settings.directives_dir).outbound_campaign.sequence
    leads = lead_scores[lead_scores["priority"].isin(rules.priorities) & lead_scores["email"].notna()].copy()
    facts = enriched_accounts.set_index("domain")["facts"]
    leads["facts"] = leads["domain"].map(facts).fillna("[]")
    choose, audits = _thompson_chooser(reasoning_bank, leads)
    df = build_sequences(leads, _library(revops), _sender(revops), as_of(context).date(), steps=rules.steps,
                         spacing_days=rules.spacing_days, choose_variant=choose)
    rejected = df.attrs.get("rejected", [])
    df = df.copy()
    df["variant_audit"] = [json.dumps(audits.get((c, t), (None, {}))[1], sort_keys=True)
                           for c, t in zip(df["contact_id"], df["template_id"])]
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(
        df, ["contact_id", "step", "template_id", "variant", "subject", "send_on"],
        leads=len(leads), rejected_templates=len(rejected),
        variants=dg.MetadataValue.json({t: g["variant"].value_counts().to_dict() for t, g in df.groupby("template_id")}),
    ))
    return df


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, deps=["directives"], **PARTITIONED)
def outbound_log(
    context: dg.AssetExecutionContext, sequences: pd.DataFrame, ghl: GoHighLevelResource, revops: RevOpsConfig,
) -> pd.DataFrame:
    """The outbox after today's dispatch: every message's state (dry_run by default; nothing leaves)."""
    from revops_assets.outbound.dispatch import dispatch
    from revops_assets.outbound.outbox import Outbox
    from revops_assets.outbound.suppression import SuppressionList

    settings = revops.settings
    campaign = load_directives(settings.directives_dir).outbound_campaign
    outbox = Outbox.for_home(settings.home)
    rows = sequences.assign(sender_email=campaign.sender.email, email=sequences.get("email"))
    enqueued = outbox.enqueue(rows.to_dict("records"))
    report = dispatch(outbox, ghl, settings.outbound_mode, campaign.caps.get("per_mailbox_daily", 50),
                      as_of(context).date(), SuppressionList.for_home(settings.home), context.log)
    keys = set(sequences["idempotency_key"])
    df = pd.DataFrame([
        {"idempotency_key": r.key, "contact_id": r.contact_id, "sequence_id": r.sequence_id, "step": r.step,
         "template_id": r.template_id, "variant": r.variant, "send_on": r.send_on, "status": r.state,
         "reason": r.reason, "provider_message_id": r.provider_message_id}
        for r in outbox.rows() if r.key in keys
    ], columns=["idempotency_key", "contact_id", "sequence_id", "step", "template_id", "variant", "send_on",
                "status", "reason", "provider_message_id"])
    # Text even when every value is None (all dry runs): DuckDB would type the column NULL for good,
    # and the first live send's message id could then never be stored.
    df = df.astype({"reason": "string", "provider_message_id": "string"})
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(
        df, ["contact_id", "step", "template_id", "status", "reason"], mode=settings.outbound_mode,
        newly_enqueued=enqueued, dispatch=dg.MetadataValue.json(report.as_dict()),
        by_status=dg.MetadataValue.json(df["status"].value_counts().to_dict()),
    ))
    return df


@dg.asset(group_name="operator", kinds={"gohighlevel", "duckdb"}, **PARTITIONED)
def crm_sync(
    context: dg.AssetExecutionContext, lead_scores: pd.DataFrame, call_insights: pd.DataFrame,
    ghl: GoHighLevelResource, revops: RevOpsConfig,
) -> pd.DataFrame:
    """Write scores back to the CRM: priority and signal tags, a score note, AE tasks; idempotent."""
    from revops_assets.outbound.crm_sync import sync

    leads = lead_scores[lead_scores["priority"].isin(["High", "Medium"])].copy()
    day = as_of(context).date()
    actions = [
        {"kind": "task", "contact_id": r.contact_id, "title": f"Call {r.first_name or ''} at {r.company_name} (High priority)",
         "body": r.score_explanation, "due_date": day.isoformat(), "assigned_to": r.assigned_to}
        for r in leads[leads["priority"] == "High"].itertuples()
    ]
    by_email = lead_scores.dropna(subset=["email"]).drop_duplicates("email").set_index("email")["contact_id"]
    for item in call_insights.itertuples() if len(call_insights) else []:
        for action in json.loads(getattr(item, "action_items", "[]") or "[]"):
            email = (action.get("contact_email") or getattr(item, "contact_email", None) or "").lower()
            contact_id = action.get("contact_id") or by_email.get(email)
            if contact_id:  # action items of calls with people the CRM knows become AE tasks
                actions.append({"kind": "task", "contact_id": contact_id, "title": action.get("title"),
                                "body": action.get("title"), "due_date": action.get("due") or day.isoformat()})
    if not revops.crm_writeback:
        ops = pd.DataFrame([{"contact_id": r.contact_id, "op": "all", "key": "", "status": "dry_run",
                             "detail": "CRM write-back disabled (REVOPS_CRM_WRITEBACK)"} for r in leads.itertuples()],
                           columns=["contact_id", "op", "key", "status", "detail"])
    else:
        ops = sync(ghl, leads, actions)
    ops["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(
        ops, ["contact_id", "op", "status", "detail"],
        by_status=dg.MetadataValue.json(ops["status"].value_counts().to_dict()),
    ))
    return ops


def revival_sequence_id(opportunity_id: str, stalled_since: str) -> str:
    """One revival per stall: the same deal stalling again later gets a new sequence."""
    return f"revival-{opportunity_id}-{stalled_since}"


@dg.asset(group_name="operator", kinds={"jinja", "gohighlevel"}, deps=["ghost_list", "directives"], pool=DUCKDB_POOL)
def ghost_revivals(context: dg.AssetExecutionContext, ghl: GoHighLevelResource, revops: RevOpsConfig) -> dg.MaterializeResult:
    """The Ghostbuster: a revival sequence with a new angle for each stalled deal, created once per stall.

    Launched by the stalled-deals sensor for one deal (run tags) or over today's whole ghost list.
    """
    from revops_assets.assets.coach import SNAPSHOTS
    from revops_assets.outbound.dispatch import dispatch
    from revops_assets.outbound.outbox import Outbox
    from revops_assets.outbound.sequences import build_sequences
    from revops_assets.outbound.suppression import SuppressionList

    settings = revops.settings
    path = settings.home / SNAPSHOTS / "ghost_list_latest.parquet"
    ghosts = pd.read_parquet(path) if path.exists() else pd.DataFrame()
    wanted = (context.run.tags if context.run else {}).get("revops/opportunity_id")
    if wanted and len(ghosts):
        ghosts = ghosts[ghosts["opportunity_id"] == wanted]
    # A champion who left gets no email: the AE needs a new contact (see the action plan).
    eligible = ghosts[(ghosts["stall_pattern"] != "champion left") & ghosts["email"].notna()] if len(ghosts) else ghosts
    if len(eligible):
        leads = pd.DataFrame({
            "contact_id": eligible["contact_id"], "email": eligible["email"], "domain": eligible["domain"],
            "company_name": eligible["name"], "priority": "High",
            "sequence_id": [revival_sequence_id(o, s) for o, s in zip(eligible["opportunity_id"], eligible["stalled_since"])],
            "facts": [json.dumps([{"fact": a, "url": None, "date": None}]) if a else "[]" for a in eligible["new_angle"]],
        })
        campaign = load_directives(settings.directives_dir).outbound_campaign
        rows = build_sequences(leads, _library(revops), _sender(revops), as_of(context).date(), steps=2,
                               spacing_days=[0, 4], signal_override="ghost_revival")
        outbox = Outbox.for_home(settings.home)
        created = outbox.enqueue(rows.to_dict("records"))
        report = dispatch(outbox, ghl, settings.outbound_mode, campaign.caps.get("per_mailbox_daily", 50),
                          as_of(context).date(), SuppressionList.for_home(settings.home), context.log)
    else:
        rows, created, report = pd.DataFrame(), 0, None
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows), "stalled_deals": len(ghosts), "revival_messages_created": created,
        "skipped_champion_left": int((ghosts["stall_pattern"] == "champion left").sum()) if len(ghosts) else 0,
        "dispatch": dg.MetadataValue.json(report.as_dict() if report else {}),
        "preview": md_table(rows, columns=["sequence_id", "step", "subject", "send_on"]) if len(rows) else md_table(rows),
    })


OPERATOR_ASSETS = [sequences, outbound_log, crm_sync, ghost_revivals]
