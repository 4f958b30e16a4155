"""COACH: who to work today (lead scores) and which deals went quiet (the ghost list).

Point-in-time: the score for day D uses signals published and activities recorded on or before D,
and the model for D is trained only on deals closed by D, with features as they were when each deal
was opened. Every score row carries the model and directive versions, and the history table keeps
one row per (day, directive version, contact) so two directive versions compare in one query.
"""


import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from revops_assets import warehouse
from revops_assets.assets._common import (
    DUCKDB_POOL,
    as_of,
    daily_partitions,
    histogram_md,
    quarantine_frame,
    table_metadata,
    to_utc,
    utc_now,
)
from revops_assets.directives import ICP, load_directives
from revops_assets.resources.core import RevOpsConfig
from revops_assets.resources.gohighlevel import GoHighLevelResource

PARTITIONED = dict(partitions_def=daily_partitions, pool=DUCKDB_POOL, metadata={"partition_expr": "snapshot_date"})
LEAD_CHECKS = ["probability_in_range", "one_row_per_contact", "high_priority_within_icp", "no_future_leakage"]
SNAPSHOTS = "snapshots"


def icp_rules(icp: ICP) -> dict:
    return icp.model_dump()


def _signals_before(signals: pd.DataFrame, day) -> pd.DataFrame:
    pub = to_utc(signals["published"])
    return signals[pub.dt.date <= day]


def training_history(opps: pd.DataFrame, accounts: pd.DataFrame, signals: pd.DataFrame, icp: dict, rules) -> pd.DataFrame:
    """Closed deals with their account's features as of the day each deal was opened (no hindsight)."""
    from revops_assets.scoring.intent_score import score_intent
    from revops_assets.scoring.lead_model import lead_features

    closed = opps[opps["status"].isin(["won", "lost", "abandoned"])].dropna(subset=["domain"])
    frames = []
    for opened, group in closed.groupby(closed["created_at"].dt.date):
        sig = _signals_before(signals, opened)
        scores = score_intent(sig, as_of=opened, weights=rules.weights, half_life_days=rules.half_life_days,
                              cap=rules.cap, with_contributions=False) if len(sig) else None
        acc = group[["domain"]].merge(accounts, on="domain", how="left")
        feats = lead_features(acc, icp, opened, scores, sig).set_index(group.index)
        frames.append(feats.assign(converted=(group["status"] == "won").astype(int), outcome_at=group["last_status_change_at"]))
    return pd.concat(frames) if frames else pd.DataFrame()


@dg.asset(
    group_name="coach", kinds={"scikitlearn", "duckdb"}, deps=["directives"],
    check_specs=[dg.AssetCheckSpec(name, asset="lead_scores") for name in LEAD_CHECKS], **PARTITIONED,
)
def lead_scores(
    context: dg.AssetExecutionContext, ghl_contacts: pd.DataFrame, ghl_opportunities: pd.DataFrame,
    enriched_accounts: pd.DataFrame, intent_scores: pd.DataFrame, intent_signals: pd.DataFrame,
    revops: RevOpsConfig, warehouse_db: DuckDBResource,
):
    """Conversion probability, High/Medium/Low priority and the top factors for every contact."""
    from revops_assets.scoring.lead_model import (
        assign_priority,
        fit_lead_model,
        icp_filter,
        lead_features,
        predict,
        validate_accounts,
    )

    directives = load_directives(revops.settings.directives_dir)
    lp = directives.lead_processing
    icp = icp_rules(lp.icp)
    day = as_of(context)
    accounts = enriched_accounts[["domain", "company_name", "industry", "employee_count", "region"]]
    good_accounts, bad_accounts = validate_accounts(accounts, date_columns=[])
    leads = ghl_contacts.drop(columns=["company_name", "industry", "employee_count", "region"], errors="ignore")
    leads = leads.merge(good_accounts, on="domain", how="inner").reset_index(drop=True)

    opps = ghl_opportunities.merge(ghl_contacts[["contact_id", "domain"]], on="contact_id", how="left")
    history = training_history(opps, good_accounts, intent_signals, icp, lp.intent)
    model = fit_lead_model(history, day, min_outcomes=lp.scoring.min_outcomes_to_train) if len(history) else fit_lead_model(
        pd.DataFrame(columns=["converted", "outcome_at"]), day, min_outcomes=lp.scoring.min_outcomes_to_train)

    fit, reasons = icp_filter(leads, icp)
    features = lead_features(leads, icp, day, intent_scores, intent_signals)
    probability, factors = predict(model, features)
    priority = assign_priority(probability, fit, lp.scoring.thresholds.model_dump())
    contributions = intent_scores.set_index("domain")["contributions"]
    types = {d: [c["type"] for c in json.loads(v)] for d, v in contributions.items()}
    strongest = {d: (t[0] if t else "none") for d, t in types.items()}
    df = leads[["contact_id", "email", "first_name", "last_name", "title", "domain", "company_name", "industry",
                "employee_count", "region", "assigned_to", "dnd"]].copy()
    df["icp_fit"] = fit.to_numpy()
    df["icp_reasons"] = reasons.to_numpy()
    df["intent_score"] = features["intent score"].to_numpy()
    df["strongest_signal"] = df["domain"].map(strongest).fillna("none")
    df["signals"] = df["domain"].map(lambda d: json.dumps(sorted(set(types.get(d, [])))))
    df["probability"] = probability.round(4).to_numpy()
    df["priority"] = priority.to_numpy()
    df["top_factors"] = [json.dumps(f) for f in factors]
    df["score_explanation"] = [
        f"{p:.0%} to convert ({'ICP fit' if ok else 'outside ICP: ' + why}); intent {s:.0f}/100"
        + (f" led by {sig.replace('_', ' ')}" if sig != "none" else "")
        + "; top factors: " + ", ".join(f"{x['factor']} {x['effect']:+.2f}" for x in f)
        for p, ok, why, s, sig, f in zip(df["probability"], df["icp_fit"], df["icp_reasons"], df["intent_score"],
                                        df["strongest_signal"], factors)
    ]
    df["model_kind"] = model.kind
    df["model_version"] = model.model_version
    df["directive_version"] = directives.version
    df = df.sort_values(["probability", "contact_id"], ascending=[False, True]).reset_index(drop=True)
    df["snapshot_date"] = pd.Timestamp(context.partition_key)

    quarantined = quarantine_frame(bad_accounts, bad_accounts["reason"], "enriched_accounts", "domain")
    with warehouse_db.get_connection() as conn:
        warehouse.replace_where(conn, "quarantine", quarantined, asset="lead_scores", partition=context.partition_key)
        history_rows = df[["contact_id", "domain", "probability", "priority", "intent_score", "icp_fit", "model_version"]]
        warehouse.replace_where(conn, "lead_score_history", history_rows, snapshot_date=context.partition_key,
                                directive_version=directives.version)
    if context.partition_key == utc_now().date().isoformat():
        _write_snapshot(revops.settings.home, df)

    metrics = {f"model_{k}": round(float(v), 4) for k, v in model.metrics.items() if np.isfinite(v)}
    yield dg.Output(df, metadata=table_metadata(
        df, ["company_name", "title", "probability", "priority", "strongest_signal"],
        model_kind=model.kind, model_version=model.model_version, directive_version=directives.version,
        training_outcomes=model.n_outcomes, quarantined=len(bad_accounts),
        priorities=dg.MetadataValue.json(df["priority"].value_counts().to_dict()),
        distribution=histogram_md(df["probability"], [0, .1, .2, .3, .4, .5, .6, .8, 1.0], "probability"),
        **metrics,
    ))
    yield dg.AssetCheckResult(check_name="probability_in_range", passed=bool(df["probability"].between(0, 1).all()))
    yield dg.AssetCheckResult(check_name="one_row_per_contact", passed=bool(df["contact_id"].is_unique))
    leaks = int(((df["priority"] == "High") & ~df["icp_fit"]).sum())
    yield dg.AssetCheckResult(check_name="high_priority_within_icp", passed=leaks == 0, metadata={"violations": leaks})
    trained_to = model.train_window[1] if model.train_window else None
    yield dg.AssetCheckResult(
        check_name="no_future_leakage", passed=trained_to is None or trained_to <= context.partition_key,
        metadata={"train_window_end": str(trained_to), "partition": context.partition_key},
    )


def _write_snapshot(home: Path, df: pd.DataFrame) -> None:
    """Today's scores as Parquet for PIPER's real-time path, which must not wait on the DuckDB lock."""
    path = Path(home) / SNAPSHOTS
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / "accounts_latest.parquet.tmp"
    df.drop(columns=["snapshot_date"]).to_parquet(tmp, index=False)
    tmp.replace(path / "accounts_latest.parquet")


@dg.asset(
    group_name="coach", kinds={"gohighlevel", "duckdb"}, deps=["directives"],
    check_specs=[dg.AssetCheckSpec("one_row_per_deal", asset="ghost_list"),
                 dg.AssetCheckSpec("stalled_past_threshold_or_champion_left", asset="ghost_list")],
    **PARTITIONED,
)
def ghost_list(
    context: dg.AssetExecutionContext, ghl_opportunities: pd.DataFrame, ghl_contacts: pd.DataFrame,
    ghl_pipelines: pd.DataFrame, enriched_accounts: pd.DataFrame, ghl: GoHighLevelResource,
    revops: RevOpsConfig, warehouse_db: DuckDBResource,
):
    """Open deals quiet past their stage's threshold, with how long and why (the stall pattern)."""
    from revops_assets.scoring.ghosts import find_ghosts

    rules = load_directives(revops.settings.directives_dir).ghost_hunting.ghosts
    day = as_of(context)
    opps = ghl_opportunities.merge(ghl_contacts[["contact_id", "domain", "email"]], on="contact_id", how="left")
    stage_names = ghl_pipelines.drop_duplicates("stage_id").set_index("stage_id")["stage_name"]
    with warehouse_db.get_connection() as conn:
        stored = warehouse.read(conn, "stage_history")
    history = stored.assign(stage_name=stored["stage_id"].map(stage_names))[["opportunity_id", "stage_name", "entered_at"]] if len(stored) else pd.DataFrame(columns=["opportunity_id", "stage_name", "entered_at"])
    open_contacts = opps.loc[opps["status"] == "open", "contact_id"].dropna().unique()
    notes = [{"contact_id": n.wire().get("contactId") or cid, "body": n.wire().get("body"), "date_added": n.wire().get("dateAdded")}
             for cid in open_contacts for n in ghl.list_notes(cid)]
    notes_df = pd.DataFrame(notes, columns=["contact_id", "body", "date_added"])
    ghosts = find_ghosts(opps, history, notes_df, day, rules.stall_days_default, rules.stall_days_by_stage)
    news = enriched_accounts.set_index("domain")["news"]
    ghosts["new_angle"] = ghosts["domain"].map(lambda d: (json.loads(news[d])[:1] or [{}])[0].get("title") if d in news.index and isinstance(news[d], str) else None)
    ghosts["stalled_since"] = (day - pd.to_timedelta(ghosts["days_stalled"], unit="D")).dt.date.astype(str)
    keep = ["opportunity_id", "name", "contact_id", "domain", "email", "stage_name", "assigned_to", "monetary_value",
            "days_stalled", "stall_threshold", "days_in_stage", "stall_pattern", "stall_patterns", "stall_evidence",
            "new_angle", "stalled_since"]
    ghosts = ghosts[[c for c in keep if c in ghosts.columns]].reset_index(drop=True)
    ghosts["snapshot_date"] = pd.Timestamp(context.partition_key)
    if context.partition_key == utc_now().date().isoformat():
        path = revops.settings.home / SNAPSHOTS
        path.mkdir(parents=True, exist_ok=True)
        ghosts.drop(columns=["snapshot_date"]).to_parquet(path / "ghost_list_latest.parquet.tmp", index=False)
        (path / "ghost_list_latest.parquet.tmp").replace(path / "ghost_list_latest.parquet")
    yield dg.Output(ghosts, metadata=table_metadata(
        ghosts, ["name", "stage_name", "days_stalled", "stall_pattern"],
        patterns=dg.MetadataValue.json(ghosts["stall_pattern"].value_counts().to_dict()),
        open_deals=int((ghl_opportunities["status"] == "open").sum()),
    ))
    yield dg.AssetCheckResult(check_name="one_row_per_deal", passed=bool(ghosts["opportunity_id"].is_unique))
    ok = (ghosts["days_stalled"] >= ghosts["stall_threshold"]) | ghosts["stall_patterns"].fillna("").str.contains(
        "champion left|stuck in stage", regex=True)
    yield dg.AssetCheckResult(check_name="stalled_past_threshold_or_champion_left", passed=bool(ok.all()),
                              metadata={"violations": int((~ok).sum())})


def fetch_stalled_deals(context: dg.SensorEvaluationContext) -> list[dict]:
    """The stalled-deals sensor's view: today's ghost list, read from its Parquet snapshot (no DuckDB lock)."""
    path = Path(context.resources.revops.home) / SNAPSHOTS / "ghost_list_latest.parquet"
    if not path.exists():
        return []
    ghosts = pd.read_parquet(path)
    return [{"opportunity_id": g.opportunity_id, "stage_name": g.stage_name, "days_inactive": float(g.days_stalled),
             "stall_threshold": float(g.stall_threshold), "stalled_since": g.stalled_since} for g in ghosts.itertuples()]


COACH_ASSETS = [lead_scores, ghost_list]
