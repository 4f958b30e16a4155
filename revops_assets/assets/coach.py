"""COACH: who to work today (lead scores) and which deals went quiet (the ghost list).

Point-in-time: the score for day D uses signals published and activities recorded on or before D,
and the model for D is trained only on deals closed by D, with features as they were on the day each
deal opened and on each day it entered a later stage (so it learns what a deal's stage is worth).
The model is fitted on the rule prior: its inputs are the prior's log-odds and deal stage, so it
learns how far to trust the prior and what a deal's progress adds, and ranks leads of one stage as
the prior does (an eleven-feature model re-learning the ICP and intent weights from the closed deals
ranked the sample's open leads worse than the prior's weights; see benchmarks/bench_lead_scores.py).
Every score row carries the model and directive versions, and the history table keeps one row per
(day, directive version, contact) so two directive versions compare in one query.
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
CLOSED = ["won", "lost", "abandoned"]


def icp_rules(icp: ICP) -> dict:
    return icp.model_dump()


def _signals_before(signals: pd.DataFrame, day) -> pd.DataFrame:
    pub = to_utc(signals["published"])
    return signals[pub.dt.date <= day]


def features_as_of(rows: pd.DataFrame, day, accounts: pd.DataFrame, signals: pd.DataFrame, icp: dict, rules) -> pd.DataFrame:
    """Model features of ``rows`` [domain, title, optional deal_stage_depth] as they were on ``day``
    (index of ``rows``): the accounts' firmographics and the intent scored from the signals
    published by then."""
    from revops_assets.scoring.intent_score import score_intent
    from revops_assets.scoring.lead_model import DEAL_STAGE_COLUMN, lead_features

    sig = _signals_before(signals, day)
    scores = score_intent(sig, as_of=day, weights=rules.weights, half_life_days=rules.half_life_days,
                          cap=rules.cap, with_contributions=False) if len(sig) else None
    cols = ["domain", "title"] + ([DEAL_STAGE_COLUMN] if DEAL_STAGE_COLUMN in rows else [])
    acc = rows[cols].merge(accounts.drop_duplicates("domain"), on="domain", how="left")
    return lead_features(acc, icp, day, scores, sig).set_axis(rows.index)


def stage_log(history: pd.DataFrame, pipelines: pd.DataFrame) -> pd.DataFrame:
    """Every known stage entry [opportunity_id, entered_at, depth], depth = how far through its
    pipeline the stage is (first 0, last 1), by the stages' positions; entries of unknown stages dropped."""
    pos = pd.to_numeric(pipelines["position"], errors="coerce").astype("float64")
    by_pipeline = pos.groupby(pipelines["pipeline_id"])
    lo, hi = by_pipeline.transform("min"), by_pipeline.transform("max")
    depth = ((pos - lo) / (hi - lo).where(hi > lo)).fillna(0.0)
    log = history.assign(entered_at=to_utc(history["entered_at"]),
                         depth=history["stage_id"].map(dict(zip(pipelines["stage_id"], depth))))
    log = log.dropna(subset=["depth", "entered_at"])[["opportunity_id", "entered_at", "depth"]]
    return log.sort_values(["opportunity_id", "entered_at"], kind="stable").reset_index(drop=True)


def deal_stage_on(opps: pd.DataFrame, log: pd.DataFrame, end) -> pd.Series:
    """domain -> depth of the account's furthest deal open at ``end`` (its latest stage entry by
    then; 0 for an open deal with none recorded). Accounts with no open deal are absent."""
    closed_at = to_utc(opps["last_status_change_at"])
    open_then = (to_utc(opps["created_at"]) <= end) & ~(opps["status"].isin(CLOSED) & (closed_at <= end))
    live = opps.loc[open_then & opps["domain"].notna(), ["opportunity_id", "domain"]]
    seen = log[(log["entered_at"] <= end) & log["opportunity_id"].isin(live["opportunity_id"])]
    latest = seen.groupby("opportunity_id", sort=False)["depth"].last()
    depth = live["opportunity_id"].map(latest).fillna(0.0)
    return depth.groupby(live["domain"]).max().rename("depth")


def training_history(opps: pd.DataFrame, accounts: pd.DataFrame, signals: pd.DataFrame, icp: dict, rules,
                     log: pd.DataFrame | None = None) -> pd.DataFrame:
    """Closed deals with features as they were at each point the deal was open (no hindsight): on
    the day it was opened (index: opportunity_id) and, given the stage ``log``, on each later day it
    entered a stage before the day it closed (index ``<opportunity_id>#<n>``), with ``deal stage``
    as it was then -- so the model learns what reaching a stage is worth, which a deal's opening day
    alone cannot teach (every deal opens in the first stage). Each row has the account's
    firmographics and intent then and the deal contact's ``title`` (seniority is learned from the
    person the deal was worked with, as it is scored; titles are current: the CRM keeps no title
    history). ``features_as_of``, ``outcome_at`` and ``opportunity_id`` on every row."""
    from revops_assets.scoring.lead_model import DEAL_STAGE_COLUMN

    closed = opps[opps["status"].isin(CLOSED)].dropna(subset=["domain"])
    created, closed_at = to_utc(closed["created_at"]), to_utc(closed["last_status_change_at"])
    rows = closed.assign(_at=created, _row=closed["opportunity_id"], **{DEAL_STAGE_COLUMN: 0.0})
    if log is not None and len(closed):
        entries = log.merge(pd.DataFrame({"opportunity_id": closed["opportunity_id"], "_created": created,
                                          "_closed": closed_at}), on="opportunity_id")
        opening = entries[entries["entered_at"] <= entries["_created"]].groupby("opportunity_id")["depth"].last()
        rows[DEAL_STAGE_COLUMN] = rows["opportunity_id"].map(opening).fillna(0.0)
        later = entries[(entries["entered_at"] > entries["_created"])
                        & (entries["entered_at"].dt.normalize() < entries["_closed"].dt.normalize())]
        if len(later):
            staged = later[["opportunity_id", "entered_at", "depth"]].merge(closed, on="opportunity_id", how="left")
            staged = staged.sort_values(["opportunity_id", "entered_at"], kind="stable")
            nth = (staged.groupby("opportunity_id").cumcount() + 1).astype(str)
            staged = staged.assign(_at=staged.pop("entered_at"), _row=staged["opportunity_id"] + "#" + nth,
                                   **{DEAL_STAGE_COLUMN: staged.pop("depth")})
            rows = pd.concat([rows, staged], ignore_index=True)
    frames = []
    for day, group in rows.groupby(rows["_at"].dt.date):
        feats = features_as_of(group, day, accounts, signals, icp, rules).set_axis(group["_row"])
        frames.append(feats.assign(converted=(group["status"] == "won").astype(int).to_numpy(),
                                   features_as_of=pd.Timestamp(day),
                                   outcome_at=group["last_status_change_at"].to_numpy(),
                                   opportunity_id=group["opportunity_id"].to_numpy()))
    if not frames:
        return pd.DataFrame(columns=["converted", "features_as_of", "outcome_at", "opportunity_id"])
    return pd.concat(frames).rename_axis(None)


def lead_backtest(leads: pd.DataFrame, opps: pd.DataFrame, accounts: pd.DataFrame, signals: pd.DataFrame, icp: dict,
                  rules, day, days_back: int, log: pd.DataFrame | None = None):
    """The day's scoring question asked ``days_back`` days earlier (``lead_model.Backtest``): the
    leads known then (added by that day) whose account had no closed deal by then, their features as
    of then (deal stage too, given the stage ``log``), and whether the account won a deal after it, by ``day``."""
    from revops_assets.scoring.lead_model import DEAL_STAGE_COLUMN, Backtest

    last = pd.Timestamp(day)  # an as_of() datetime, or a bare date meaning its whole day
    last = last.tz_convert("UTC") if last.tzinfo else last.normalize().tz_localize("UTC") + pd.Timedelta(days=1, microseconds=-1)
    then = (last - pd.Timedelta(days=days_back)).date()
    end_then = pd.Timestamp(then, tz="UTC") + pd.Timedelta(days=1)
    closed_at = to_utc(opps["last_status_change_at"])
    closed_then = set(opps.loc[opps["status"].isin(CLOSED) & (closed_at < end_then), "domain"].dropna())
    won_since = set(opps.loc[(opps["status"] == "won") & (closed_at >= end_then) & (closed_at <= last), "domain"].dropna())
    known = to_utc(leads["date_added"]) < end_then if "date_added" in leads else pd.Series(True, index=leads.index)
    rows = leads[known & ~leads["domain"].isin(closed_then)]
    if log is not None:
        depth = deal_stage_on(opps, log, end_then - pd.Timedelta(microseconds=1))
        rows = rows.assign(**{DEAL_STAGE_COLUMN: rows["domain"].map(depth).fillna(0.0)})
    return Backtest(as_of=then, features=features_as_of(rows, then, accounts, signals, icp, rules),
                    converted=rows["domain"].isin(won_since).astype(int).to_numpy(), groups=rows["domain"].to_numpy())


def training_leakage(trained: pd.DataFrame, opportunities: pd.DataFrame, day) -> pd.Series:
    """Why each training row (``opportunity_id`` column, else the index; ``features_as_of``,
    ``outcome_at``) could not have been known on ``day`` -- judged against the day's deal snapshot,
    not the model's own window filter. Empty when every row is a deal closed on or before the day,
    with the outcome date the snapshot records and features dated while the deal was open (from
    the day it opened to its outcome)."""
    end = pd.Timestamp(day)
    end = end.tz_convert("UTC") if end.tzinfo else end.tz_localize("UTC")
    ids = trained["opportunity_id"] if "opportunity_id" in trained else trained.index.to_series()
    deals = opportunities.drop_duplicates("opportunity_id").set_index("opportunity_id").reindex(ids).set_axis(trained.index)
    closed_at = to_utc(deals["last_status_change_at"])
    outcome_at = to_utc(pd.Series(trained["outcome_at"], index=trained.index))
    features_at = to_utc(pd.Series(trained["features_as_of"], index=trained.index))
    rules = [
        (deals["status"].isna(), "not a deal in the day's snapshot"),
        (deals["status"].notna() & ~deals["status"].isin(CLOSED), "deal still open on the day"),
        (~(closed_at <= end), "deal closed after the day"),
        (~(outcome_at <= end), "outcome dated after the day"),
        (outcome_at != closed_at, "outcome date differs from the deal's close"),
        (~(features_at <= outcome_at), "features dated after the outcome"),
        (~(features_at.dt.normalize() >= to_utc(deals["created_at"]).dt.normalize()), "features dated before the deal opened"),
    ]
    why = pd.Series("", index=trained.index, dtype=object)
    for bad, text in rules:
        why = why.where(~np.asarray(bad, dtype=bool) | (why != ""), text)  # the first reason found
    return why[why != ""]


def lead_scoring_inputs(ghl_contacts: pd.DataFrame, ghl_opportunities: pd.DataFrame, ghl_pipelines: pd.DataFrame,
                 enriched_accounts: pd.DataFrame, intent_signals: pd.DataFrame, changes: pd.DataFrame, lp, day):
    """What the day's model is chosen from, as of ``day`` (``changes``: every known stage change,
    cut here at the day): (leads with their deal stage, valid accounts, quarantined accounts,
    training history, one backtest per ``lp.scoring.backtest_days``). The asset's steps before
    ``fit_lead_model``, a function so the benchmark can ask the same questions of the same data."""
    from revops_assets.scoring.lead_model import DEAL_STAGE_COLUMN, validate_accounts

    icp = icp_rules(lp.icp)
    accounts = enriched_accounts[["domain", "company_name", "industry", "employee_count", "region"]]
    good_accounts, bad_accounts = validate_accounts(accounts, date_columns=[])
    leads = ghl_contacts.drop(columns=["company_name", "industry", "employee_count", "region"], errors="ignore")
    leads = leads.merge(good_accounts, on="domain", how="inner").reset_index(drop=True)

    opps = ghl_opportunities.merge(ghl_contacts[["contact_id", "domain", "title"]], on="contact_id", how="left")
    log = stage_log(changes[changes["entered_at"] <= day], ghl_pipelines)  # point in time: changes by the day
    leads[DEAL_STAGE_COLUMN] = leads["domain"].map(deal_stage_on(opps, log, day)).fillna(0.0)
    history = training_history(opps, good_accounts, intent_signals, icp, lp.intent, log)
    backtests = [lead_backtest(leads, opps, good_accounts, intent_signals, icp, lp.intent, day, days, log)
                 for days in lp.scoring.backtest_days]
    return leads, good_accounts, bad_accounts, history, backtests


@dg.asset(
    group_name="coach", kinds={"scikitlearn", "duckdb"}, deps=["directives"],
    check_specs=[dg.AssetCheckSpec(name, asset="lead_scores") for name in LEAD_CHECKS], **PARTITIONED,
)
def lead_scores(
    context: dg.AssetExecutionContext, ghl_contacts: pd.DataFrame, ghl_opportunities: pd.DataFrame,
    ghl_pipelines: pd.DataFrame, enriched_accounts: pd.DataFrame, intent_scores: pd.DataFrame,
    intent_signals: pd.DataFrame, revops: RevOpsConfig, warehouse_db: DuckDBResource,
):
    """Conversion probability, High/Medium/Low priority and the top factors for every contact."""
    from revops_assets.assets.crm import known_stage_history
    from revops_assets.scoring.lead_model import (
        ON_PRIOR_FEATURES,
        assign_priority,
        fit_lead_model,
        icp_filter,
        lead_features,
        predict,
    )

    directives = load_directives(revops.settings.directives_dir)
    lp = directives.lead_processing
    icp = icp_rules(lp.icp)
    day = as_of(context)
    with warehouse_db.get_connection() as conn:
        changes = known_stage_history(revops, conn)
    leads, good_accounts, bad_accounts, history, backtests = lead_scoring_inputs(
        ghl_contacts, ghl_opportunities, ghl_pipelines, enriched_accounts, intent_signals, changes, lp, day)
    # the model learns on the prior: the prior's log-odds and deal stage (lead_model.ON_PRIOR_FEATURES)
    model = fit_lead_model(history, day, lp.icp.employee_range, min_outcomes=lp.scoring.min_outcomes_to_train,
                           backtest=backtests, features=ON_PRIOR_FEATURES, on_prior=True)
    leaks_in_training = training_leakage(history.loc[model.trained_on], ghl_opportunities, day)

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

    metrics = {f"{who}_{k}": round(float(v), 4) for who, values in (("model", model.metrics), ("prior", model.prior_metrics))
               for k, v in values.items() if np.isfinite(v)}
    yield dg.Output(df, metadata=table_metadata(
        df, ["company_name", "title", "probability", "priority", "strongest_signal"],
        model_kind=model.kind, model_choice=model.choice, model_version=model.model_version,
        directive_version=directives.version, training_outcomes=model.n_outcomes, quarantined=len(bad_accounts),
        priorities=dg.MetadataValue.json(df["priority"].value_counts().to_dict()),
        distribution=histogram_md(df["probability"], [0, .1, .2, .3, .4, .5, .6, .8, 1.0], "probability"),
        **metrics,
    ))
    yield dg.AssetCheckResult(check_name="probability_in_range", passed=bool(df["probability"].between(0, 1).all()))
    yield dg.AssetCheckResult(check_name="one_row_per_contact", passed=bool(df["contact_id"].is_unique))
    leaks = int(((df["priority"] == "High") & ~df["icp_fit"]).sum())
    yield dg.AssetCheckResult(check_name="high_priority_within_icp", passed=leaks == 0, metadata={"violations": leaks})
    yield dg.AssetCheckResult(
        check_name="no_future_leakage", passed=leaks_in_training.empty,
        metadata={"outcomes_checked": len(model.trained_on), "violations": len(leaks_in_training),
                  "reasons": dg.MetadataValue.json(leaks_in_training.value_counts().to_dict()),
                  "partition": context.partition_key},
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
                 dg.AssetCheckSpec("stall_facts_possible", asset="ghost_list")],
    **PARTITIONED,
)
def ghost_list(
    context: dg.AssetExecutionContext, ghl_opportunities: pd.DataFrame, ghl_contacts: pd.DataFrame,
    ghl_pipelines: pd.DataFrame, enriched_accounts: pd.DataFrame, ghl: GoHighLevelResource,
    revops: RevOpsConfig, warehouse_db: DuckDBResource,
):
    """Open deals quiet past their stage's threshold, or in their stage beyond twice its median stay,
    or whose champion left, with how long and why (the stall pattern).

    Stage stays come from the full stage history (the imported export plus every change snapshots
    have seen), cut at the partition's day: medians and the stage a deal was in use only stage
    changes on or before it.
    """
    from revops_assets.assets.crm import known_stage_history
    from revops_assets.scoring.ghosts import find_ghosts, ghost_list_problems

    rules = load_directives(revops.settings.directives_dir).ghost_hunting.ghosts
    day = as_of(context)
    opps = ghl_opportunities.merge(ghl_contacts[["contact_id", "domain", "email"]], on="contact_id", how="left")
    stage_names = ghl_pipelines.drop_duplicates("stage_id").set_index("stage_id")["stage_name"]
    with warehouse_db.get_connection() as conn:
        known = known_stage_history(revops, conn)
    known = known[known["entered_at"] <= pd.Timestamp(day)]  # point in time: changes on or before the day
    history = known.assign(stage_name=known["stage_id"].map(stage_names)).dropna(subset=["stage_name"])
    history = history[["opportunity_id", "stage_name", "entered_at"]]
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
    problems = ghost_list_problems(ghosts, ghl_pipelines["stage_name"].dropna().unique(), day)
    ghosts = ghosts.assign(snapshot_date=pd.Timestamp(context.partition_key))[keep + ["snapshot_date", "stage_median_days"]]
    ghosts = ghosts.reset_index(drop=True)
    if context.partition_key == utc_now().date().isoformat():
        path = revops.settings.home / SNAPSHOTS
        path.mkdir(parents=True, exist_ok=True)
        ghosts.drop(columns=["snapshot_date"]).to_parquet(path / "ghost_list_latest.parquet.tmp", index=False)
        (path / "ghost_list_latest.parquet.tmp").replace(path / "ghost_list_latest.parquet")
    yield dg.Output(ghosts, metadata=table_metadata(
        ghosts, ["name", "stage_name", "days_stalled", "stall_pattern"],
        patterns=dg.MetadataValue.json(ghosts["stall_pattern"].value_counts().to_dict()),
        open_deals=int((ghl_opportunities["status"] == "open").sum()),
        stage_history_rows=len(history),
    ))
    yield dg.AssetCheckResult(check_name="one_row_per_deal", passed=bool(ghosts["opportunity_id"].is_unique))
    yield dg.AssetCheckResult(check_name="stall_facts_possible", passed=problems.empty,
                              metadata={"violations": len(problems),
                                        "reasons": dg.MetadataValue.json(problems.value_counts().to_dict())})


def fetch_stalled_deals(context: dg.SensorEvaluationContext) -> list[dict]:
    """The stalled-deals sensor's view: today's ghost list, read from its Parquet snapshot (no DuckDB lock)."""
    path = Path(context.resources.revops.home) / SNAPSHOTS / "ghost_list_latest.parquet"
    if not path.exists():
        return []
    ghosts = pd.read_parquet(path)
    return [{"opportunity_id": g.opportunity_id, "stage_name": g.stage_name, "days_inactive": float(g.days_stalled),
             "stall_threshold": float(g.stall_threshold), "stalled_since": g.stalled_since} for g in ghosts.itertuples()]


COACH_ASSETS = [lead_scores, ghost_list]
