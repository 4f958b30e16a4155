"""COACH's self-annealing: what happened after each email (outcomes) and what it teaches (ReasoningBank).

Downstream of outcomes only: the bank is rebuilt from the outcomes known on the day, so re-running a
day gives the same bank. Directive changes are proposed as diffs under ``<home>/proposals``; nothing
changes a directive without a human applying the diff.
"""


import json
import re

import dagster as dg
import pandas as pd

from dagster_duckdb import DuckDBResource

from revops_assets import warehouse
from revops_assets.assets._common import DUCKDB_POOL, as_of, daily_partitions, table_metadata, utc_now
from revops_assets.resources.core import RevOpsConfig

PARTITIONED = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})
REPLY_WINDOW_DAYS = 14

_UNSUB = re.compile(r"\bunsubscribe\b|remove me|stop (emailing|contacting)|opt[- ]?out", re.I)
_AUTO = re.compile(r"out of (the )?office|on (parental|annual|sick|maternity|paternity) leave|auto(matic)?[- ]reply|limited access to email", re.I)
_NEG = re.compile(r"not (a|the) (priority|right)|no budget|already (use|have|work with)|we('ll| will) pass|not interested|in-house|no thanks", re.I)
_POS = re.compile(r"interested|happy to (chat|talk|connect)|let'?s (talk|chat|connect)|works for me|send (me )?(a few )?times|"
                  r"pricing|timing is good|loop in|book (a|some) time|set up a call", re.I)


def classify_reply(body: str | None) -> str:
    """unsubscribe, auto_reply, negative, positive or neutral: the order matters ("not interested" is not "interested")."""
    text = body or ""
    for label, pattern in (("unsubscribe", _UNSUB), ("auto_reply", _AUTO), ("negative", _NEG), ("positive", _POS)):
        if pattern.search(text):
            return label
    return "neutral"


def build_outcomes(activities: pd.DataFrame, opportunities: pd.DataFrame) -> pd.DataFrame:
    """One row per outbound email with the reply that followed it (same conversation, within the window)."""
    acts = activities.sort_values("date_added")
    out = acts[acts["direction"] == "outbound"].copy()
    inbound = acts[acts["direction"] == "inbound"].copy()
    inbound["label"] = inbound["body"].map(classify_reply)
    meta = out["meta"].map(lambda m: json.loads(m) if isinstance(m, str) and m else {})
    for key in ("template", "variant", "signal", "persona", "segment"):
        out[key] = meta.map(lambda d, k=key: d.get(k))
    out = out[out["template"].notna()]
    nxt = out.groupby("conversation_id")["date_added"].shift(-1)
    end = out["date_added"] + pd.Timedelta(days=REPLY_WINDOW_DAYS)
    out["window_end"] = end.where(nxt.isna() | (nxt > end), nxt)  # a reply belongs to the latest email before it
    joined = out.merge(inbound[["conversation_id", "date_added", "label"]], on="conversation_id", how="left", suffixes=("", "_reply"))
    joined = joined[joined["date_added_reply"].isna() | ((joined["date_added_reply"] > joined["date_added"]) & (joined["date_added_reply"] <= joined["window_end"]))]
    first = joined.sort_values("date_added_reply").groupby("message_id", as_index=False).first()
    labels = out[["message_id"]].merge(first[["message_id", "label"]], on="message_id", how="left")["label"].fillna("none").values
    won = set(opportunities.loc[opportunities["status"] == "won", "contact_id"])
    df = pd.DataFrame({
        "message_id": out["message_id"].values, "contact_id": out["contact_id"].values, "sent_at": out["date_added"].values,
        "template": out["template"].values, "variant": out["variant"].values, "signal": out["signal"].fillna("none").values,
        "persona": out["persona"].fillna("unknown").values, "segment": out["segment"].fillna("unknown").values,
        "send_hour": pd.DatetimeIndex(out["date_added"]).hour,
        "replied": pd.Series(labels).isin(["positive", "negative", "neutral"]).values,
        "positive_reply": labels == "positive",
        "meeting_booked": labels == "positive",
        "won": out["contact_id"].isin(won).values,
        "bounced": out["status"].isin(["undelivered", "bounced", "failed"]).values,
        "unsubscribed": (labels == "unsubscribe") | out["status"].eq("opt_out").values,
    })
    df["domain"] = pd.Series(None, index=df.index, dtype="string")  # typed: an all-None column is DuckDB NULL
    return df


@dg.asset(group_name="coach", kinds={"duckdb"}, **PARTITIONED)
def outcomes(context: dg.AssetExecutionContext, ghl_activities: pd.DataFrame, ghl_opportunities: pd.DataFrame) -> pd.DataFrame:
    """Every email sent up to the day, joined to what came back: replies, positive replies, bounces, unsubscribes, wins."""
    df = build_outcomes(ghl_activities, ghl_opportunities)
    df["snapshot_date"] = pd.Timestamp(context.partition_key)
    rates = df[["replied", "positive_reply", "bounced", "unsubscribed", "won"]].mean().round(4).to_dict() if len(df) else {}
    context.add_output_metadata(table_metadata(df, ["sent_at", "template", "variant", "signal", "replied", "positive_reply"],
                                               rates=dg.MetadataValue.json(rates)))
    return df


def ghost_history(warehouse_db: DuckDBResource, ghost_list: pd.DataFrame, ghl_opportunities: pd.DataFrame,
                  day: str) -> pd.DataFrame | None:
    """Every (deal, stall pattern) seen on day ``day`` or before, its latest sighting, with the deal's status on ``day``.

    A stall's lesson comes when the deal closes, and by then it is off the day's ghost list (open deals
    only): the lift of a pattern on losses needs the earlier days' lists. Point in time: the lists of
    ``day`` and before (as far as they were materialized) and the statuses of ``day``'s snapshot.
    """
    with warehouse_db.get_connection() as conn:
        earlier = warehouse.read(conn, "ghost_list", "snapshot_date < ?", [pd.Timestamp(day)])
    frames = [f for f in (earlier, ghost_list) if len(f)]
    if not frames:
        return None
    seen = (pd.concat(frames, ignore_index=True).sort_values("snapshot_date", kind="mergesort")
            .drop_duplicates(["opportunity_id", "stall_pattern"], keep="last").reset_index(drop=True))
    status = ghl_opportunities.set_index("opportunity_id")["status"]
    return seen.assign(status=seen["opportunity_id"].map(status).fillna("open"))


@dg.asset(group_name="coach", kinds={"duckdb", "json"}, deps=["directives"], **PARTITIONED)
def reasoning_bank(
    context: dg.AssetExecutionContext, outcomes: pd.DataFrame, ghost_list: pd.DataFrame, intent_signals: pd.DataFrame,
    ghl_opportunities: pd.DataFrame, revops: RevOpsConfig, warehouse_db: DuckDBResource,
) -> pd.DataFrame:
    """Per play (template/variant × signal × persona × segment): Beta-Binomial posterior; winners and failure modes on evidence only."""
    from revops_assets.learning.bank import build_bank
    from revops_assets.learning.proposals import propose_directive_changes, write_proposals

    settings = revops.settings
    ghosts = ghost_history(warehouse_db, ghost_list, ghl_opportunities, context.partition_key)
    bank = build_bank(outcomes, as_of=as_of(context).date(), ghosts=ghosts)
    written = []
    if context.partition_key == utc_now().date().isoformat():  # files describe today; backfills stay in DuckDB
        written = [str(p) for p in bank.write(settings.home).values()]
        proposals = []
        for name in ("lead_processing", "ghost_hunting"):
            proposals += propose_directive_changes(bank, outcomes, intent_signals, ghosts, settings.directives_dir / f"{name}.md")
        written += [str(p) for p in write_proposals(proposals, settings.home / "proposals")]
    plays = bank.plays.copy()
    plays["snapshot_date"] = pd.Timestamp(context.partition_key)
    context.add_output_metadata(table_metadata(
        plays, ["template", "variant", "signal", "persona", "n", "mean", "verdict"],
        summary=dg.MetadataValue.md(bank.to_markdown()), winning_plays=len(bank.winning_plays),
        failure_modes=len(bank.failure_modes), files=dg.MetadataValue.json(written),
    ))
    return plays


LEARNING_ASSETS = [outcomes, reasoning_bank]
