"""The product's lead probabilities against the sample workspace's hidden truth: the real assets,
materialized on a real generated workspace with the real emulators, not a model fitted on a frame.

For each size and seed: ``write_sample`` (history ending on ``--as-of``) into a throw-away home, the
sample's RB2B visits into the inbox (as the receiver stores them), ``load_settings({"REVOPS_HOME":
tmp, "REVOPS_ENV": "demo"})`` and ``dg.materialize`` of everything upstream of ``lead_scores`` (plus
it) with ``build_resources``, for that day's partition. The emulators start lazily inside the
resources, as in ``revops demo``. Workspaces run as parallel processes (``--parallel``).

The day is pinned (default 2026-12-06): the sample is generated relative to its ``as_of``, so with
"today" the figures drifted from day to day (the same code won on 2026-11-25 and lost on
2026-12-06). Each worker's clock is frozen at that day, 12:00 UTC, because the assets' ``utc_now``
and SCOUT's news look-back (``date.today()``) read the wall clock: judged on a later date, a pinned
partition would otherwise find its own Exa profiles fetched "after the day" and a shifted news
window. The product is not patched, only this benchmark's processes.

Then ``lead_scores`` is read back from the DuckDB warehouse, with its materialization metadata
(model kind and choice, the validation AUC/ECE of model and prior), and joined by domain to
``truth/accounts.jsonl``. Evaluated only on leads whose account has no closed deal (won / lost /
abandoned) by the partition day: the outcome the score is for is unknown to the product there, and
the truth's ``converted`` is what would happen. On those leads:

- AUC, ECE and Brier of the asset's ``probability`` vs ``converted``, and the same for
  ``rule_prior`` computed on the same rows' features (ICP fields and intent score are stored on
  each row; when the asset chose the prior the two must agree, which is checked; the asset stores
  4 decimals, the prior here is unrounded, so ECE can differ at bin edges -- the prior puts whole
  ICP shares exactly on 0.10, so on 500 accounts the difference reached 0.014);
- Spearman rank correlation of each with the true ``propensity``, and the oracle AUC (propensity
  itself) as the ceiling;
- the same AUCs per account (each account's best lead), since ``converted`` is an account fact;
- priority shares and conversion rate per priority (the directive: High converts >= 2x Low);
- alternatives recomputed from the very inputs the asset read (``coach.lead_scoring_inputs`` on its
  upstream partition; checked to reproduce the asset's probabilities): the eleven-feature model
  with the same guard (the asset before 2026-12-07).

Per size, over seeds: wins / ties / losses against the prior (a tie = the asset kept the prior),
mean AUC and Spearman deltas, ECE mean and max -- for the asset (judged) and the eleven-feature model.

Most of the wall time is SCOUT's research: two Exa searches per account at the client's 10 searches/s
(Exa's own limit, kept as shipped), so about 0.2 s per account; the CPU is mostly idle meanwhile.

Targets (over seeds): more wins than losses and no loss; mean AUC delta > 0; ECE max < 0.05; per
workspace High conversion >= 2x Low.

Findings (2,000 accounts, as of 2026-12-06; AUC asset vs prior, ECE, Spearman vs propensity):

- Before (eleven-feature model, results/lead_scores.before.json), seeds 42-44: prior kept 0.679 /
  prior kept 0.728 / model 0.745 vs 0.707 (ECE 0.040 / 0.062 / 0.047; model Spearman 0.65 vs 0.67).
  Forced on every seed it would rank better on AUC (0.696 / 0.755 / 0.746) yet worse on propensity
  (Spearman 0.62 / 0.62 / 0.65 vs 0.66 / 0.69 / 0.67); without deal stage it loses on AUC too
  (0.659 / 0.722 / 0.719, ECE 0.11-0.16): its ICP/intent weights, learned from ~500 closed deals with
  features dated while each deal was open, are worse than the prior's. Deal stage is real evidence
  of the outcome (open leads convert 16-17% at stage 0, 63-72% at the last stage) but of the
  realized path, not of the propensity -- so any model using it trails the prior on Spearman. The
  backtest's short horizons reward it most (15 days: model 0.91-0.97 vs prior 0.68-0.77; 60 days:
  the model loses, 0.57-0.73 vs 0.65-0.72). Why the learned intent weight is small: in the training
  rows (closed deals, features as of each deal's open days) intent ranks outcomes at AUC 0.54 / 0.58
  / 0.56 and only 30-33% of rows have any signal, while on the day's open leads intent ranks the
  truth at 0.66 / 0.65 / 0.67 with 61-63% having one -- the sample ties conversion to signals'
  recency at its as-of day (some published after a historical deal opened, or closed), and SCOUT
  knows only 120 days of news. The history cannot teach intent's worth; the prior's weight stands.
- After (the model fitted on the prior: its log-odds and deal stage, same guard), seeds 42-44:
  model 0.707 vs 0.679 / model 0.752 vs 0.728 / model 0.736 vs 0.707: 3 wins, mean delta +0.027
  (before: 1 win, 2 ties, +0.013); ECE 0.044 / 0.047 / 0.0497 (max < 0.05, barely; results/lead_scores.json
  re-run 2026-12-07 after intent rules rounds 4-5: same AUCs, ECE 0.048 / 0.047 / 0.049); Spearman 0.64 /
  0.65 / 0.64 vs 0.66 / 0.69 / 0.67 (deal stage). On seed 44 the eleven-feature model was the better
  of the two (0.745 vs 0.736). The before-run and the recomputed eleven-feature figures agree to the
  last digit: the pinned day makes runs reproducible.
- 5,000 accounts, seed 42 (results/lead_scores.5000.json; the size that lost on 2026-12-06): the
  eleven-feature model is chosen again and loses again, 0.687 vs 0.707, Spearman 0.53 vs 0.67 (its
  intent-score weight is negative, -0.51, beside positive per-type recency weights: collinear inputs
  fitted to a history where intent barely ranks); the model on the prior wins, 0.736 vs 0.707, ECE
  0.011, Spearman 0.668 vs 0.672. (Seed 42 is a development seed: not part of the confirmation.)
- Confirmation on fresh seeds 45-49 (pre-registered in commit f67ba64: no loss, >= 3 wins, mean
  delta > 0), results/lead_scores.confirm.json: prior kept 0.753 / model 0.742 vs 0.715 / 0.733 vs
  0.717 / 0.741 vs 0.714 / 0.733 vs 0.699: 4 wins, 1 tie, 0 losses, mean delta +0.021 -- met. ECE
  0.072 (the prior's own, seed 45) / 0.036 / 0.032 / 0.034 / 0.024: the ECE < 0.05 target is missed
  on the seed where the prior was kept. The eleven-feature model on the same workspaces: 1 win, 4
  ties, mean delta +0.002.
- Calibration on the scored population (2026-12-07; can the probabilities meet ECE < 0.05 on every
  workspace without giving up the AUC wins? results/lead_scores.dev42-49.json: the current code on
  the eight seen seeds, kept; results/lead_scores.calibration.json: ``--ablate-calibration`` on those
  kept workspaces). Today's code gives ECE 0.048 / 0.047 / 0.049 / 0.072 (prior kept) / 0.036 / 0.032
  / 0.034 / 0.027 on seeds 42-49 (the committed runs had 0.044 / 0.047 / 0.050 and 0.024 on 49: intent
  rules rounds 4-5 moved intent scores a little; every AUC equal to 3 decimals). Asset priorities,
  High / Medium / Low share and High:Low conversion: 42 0.12/0.23/0.65 3.0x, 43 0.04/0.29/0.68 4.2x,
  44 0.06/0.33/0.61 4.7x, 45 0.02/0.29/0.69 5.6x, 46 0.03/0.26/0.71 4.8x, 47 0.09/0.23/0.68 3.1x,
  48 0.04/0.29/0.67 4.2x, 49 0.05/0.28/0.67 4.5x (the prior alone puts only 1-2% in High). Findings:
  * The backtests cannot calibrate: their labels are wins within 15-60 days, censored; the then-open
    leads won 0.9-2.0% (15 days) to 3.9-5.1% (60 days) against a 19-22% eventual rate, and stage-0
    leads almost never (0-3.4%: most have no deal at all, and this workspace opens none later). A
    sigmoid fitted there (prior or model, pooled) gives ECE 0.14-0.19 with 0-2% High; on the 60-day
    one alone 0.05-0.16.
  * A monotone map of the kept prior fitted on closed deals: on every stage row 0.08-0.16 (their win
    rate, 30-38%, is the later stages'); on opening-day rows only 0.034-0.070 (seed 45: 0.070). The
    prior mapped (isotonic) onto the model's probabilities over the day's leads: seed 45 0.072 -> 0.056,
    still a miss, and its ties cost AUC (0.752 vs 0.753; on seed 46 0.712 vs 0.715).
  * The model's calibrator: isotonic (as shipped, >= 1,000 rows) ECE 0.027-0.049 where chosen (max
    0.049); sigmoid 0.026-0.072; none 0.029-0.065; a dummy per stage instead of a linear stage 0.029-
    0.049 -- no variant better on the worst seed. Refitted on seed 45, where the guard keeps the prior
    (backtest bound not met), the model would have had 0.043 (AUC 0.754 vs 0.753).
  * Why the model over-predicts at later stages (last stage 0.77-0.83 vs 0.63-0.74 observed, seeds 42-45): the
    closed-deal rows at a stage are deals that went on to close, faster than the deals still open at
    that stage on the day (in the sample a deal's pace falls with its propensity), so their win rate
    (e.g. seed 42 last stage 0.75 vs open 0.63) is survivor-biased. Time in the current stage is known
    on the day and could carry it, but the history has rows only at stage entry: not tried.
  * The target sits at the measurement's noise: on the same leads the true propensity itself has ECE
    0.017-0.040 (mean 0.029; leaving out closed deals selects on the outcome), and moving the ten bins
    by half a bin moves the asset's ECE to 0.034-0.084 (seed 44: 0.049 -> 0.084) and the prior's 0.041-
    0.075; with 5 bins the asset has 0.013-0.072, 20 bins 0.039-0.072. The calibrator's CV folds follow row
    order: a first run of this ablation that fitted on unsorted rows had the model at AUC >= 0.717 vs
    0.707 on seed 42 and ECE max 0.056 vs 0.049.
  * Over the eight seeds (ECE < 0.05 on how many; AUC vs prior worst): asset 7 of 8, +0.000 (the tie);
    prior via model where the prior is kept 7 of 8, -0.001; and fitted whatever the guard says: the
    model as shipped 8 (max 0.049; seed 45 0.754 vs 0.753), sigmoid 4, uncalibrated 6, per-stage 8.
    So what misses on seed 45 is the guard's choice, not a calibration: there the model beat the prior
    on the validation slice (0.708 vs 0.645) and the backtest (0.670 vs 0.635) but not beyond chance
    (bounds -0.042, -0.009). Relaxing the guard until seed 45 passes would be a threshold tuned on the
    one seed that bites, against a guard that exists because lucky models once won; not done.
  No product change: nothing principled met ECE < 0.05 on every seen workspace while keeping every
  AUC, so no fresh-seed confirmation was run.

    python benchmarks/bench_lead_scores.py [--quick] [--sizes 2000] [--seeds 42-44] [--as-of 2026-12-06|today]
                                           [--parallel 3] [--keep | --keep-dir DIR] [--out NAME.json]
    python benchmarks/bench_lead_scores.py --ablate-calibration --keep-dir DIR [--out lead_scores.calibration.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CLOSED = {"won", "lost", "abandoned"}
REFERENCE_DAY = "2026-12-06"  # the pinned day the sample's history ends (the figures of 2026-12-06 were measured on it)
PRIORITIES = ("High", "Medium", "Low")


def load_visits(home: Path) -> int:
    """The sample's RB2B bodies into the inbox, as the receiver would store them (malformed ones quarantined)."""
    from revops_assets.receiver.models import InvalidVisit, parse_visit
    from revops_assets.resources.inbox import VisitInbox

    good: list = []
    with VisitInbox(home / "inbox.sqlite") as box:
        for line in (home / "sample" / "rb2b" / "visits.jsonl").read_text(encoding="utf-8").splitlines():
            raw = line.encode()
            try:
                good.append((parse_visit(raw), raw))
            except InvalidVisit as exc:
                box.quarantine(raw, exc.reason)
        box.append_many(good)
    return len(good)


def materialize(home: Path, partition: str, intent_method: str | None = None) -> tuple[object, float]:
    """Everything upstream of ``lead_scores``, and it, with the project's real resources (demo mode;
    the product's default intent method unless ``intent_method`` names another)."""
    import dagster as dg

    from revops_assets.assets import all_assets
    from revops_assets.resources.registry import build_resources
    from revops_assets.settings import load_settings

    env = {"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"} | ({"REVOPS_INTENT_METHOD": intent_method} if intent_method else {})
    settings = load_settings(env)
    selection = dg.AssetSelection.assets("lead_scores").upstream()
    t = time.perf_counter()
    result = dg.materialize(all_assets(settings), selection=selection, resources=build_resources(settings),
                            partition_key=partition, raise_on_error=False)
    return result, time.perf_counter() - t


def read_scores(home: Path, partition: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute("select * from revops.lead_scores where snapshot_date = ?", [partition]).df()


def lead_metadata(result) -> dict:
    mats = result.asset_materializations_for_node("lead_scores")
    meta = mats[-1].metadata if mats else {}
    return {k: getattr(v, "value", v) for k, v in meta.items()}


def prior_on_rows(scores: pd.DataFrame, settings_home: Path, day) -> tuple[pd.Series, dict]:
    """``rule_prior`` on the features the asset used for these rows (ICP fields and intent score)."""
    from revops_assets.assets.coach import icp_rules
    from revops_assets.directives import load_directives
    from revops_assets.scoring.lead_model import lead_features, rule_prior
    from revops_assets.settings import load_settings

    settings = load_settings({"REVOPS_HOME": str(settings_home), "REVOPS_ENV": "demo"})
    lp = load_directives(settings.directives_dir).lead_processing
    icp = icp_rules(lp.icp)
    intent = scores[["domain", "intent_score"]].drop_duplicates("domain")
    feats = lead_features(scores, icp, day, intent_scores=intent)
    return rule_prior(feats, lp.icp.employee_range), lp.scoring.thresholds.model_dump()


def scoring_inputs(home: Path, partition: str, day: date):
    """(leads, their features, training history, backtests, lead_processing directive, cutoff): what the
    asset read on ``partition``, rebuilt from a workspace's warehouse (``coach.lead_scoring_inputs``)."""
    import duckdb

    from revops_assets.assets.coach import icp_rules, lead_scoring_inputs
    from revops_assets.assets.crm import known_stage_history
    from revops_assets.directives import load_directives
    from revops_assets.resources.registry import build_resources
    from revops_assets.scoring.lead_model import lead_features
    from revops_assets.settings import load_settings

    settings = load_settings({"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"})
    lp = load_directives(settings.directives_dir).lead_processing
    tables = {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        for name in ("ghl_contacts", "ghl_opportunities", "ghl_pipelines", "enriched_accounts", "intent_scores", "intent_signals"):
            tables[name] = conn.execute(f"select * from revops.{name} where snapshot_date = ?", [partition]).df().drop(columns="snapshot_date")
        changes = known_stage_history(build_resources(settings)["revops"], conn)
    cutoff = datetime.combine(day, dtime(12, 0), tzinfo=timezone.utc)  # the frozen clock's as_of(context)
    rows, _, _, history, backtests = lead_scoring_inputs(tables["ghl_contacts"], tables["ghl_opportunities"], tables["ghl_pipelines"],
                                                  tables["enriched_accounts"], tables["intent_signals"], changes, lp, cutoff)
    feats = lead_features(rows, icp_rules(lp.icp), cutoff, tables["intent_scores"], tables["intent_signals"])
    return rows, feats, history, backtests, lp, cutoff


def alternatives(home: Path, partition: str, day: date, leads: pd.DataFrame) -> dict[str, pd.Series]:
    """Other models the asset could have chosen, on the same inputs the asset read (its upstream
    assets' partition in the warehouse, the stage history it knew; ``coach.lead_scoring_inputs``),
    as probability per ``contact_id`` of ``leads``: ``eleven`` is fit_lead_model over all eleven
    features with the same guard (the asset's model before 2026-12-07), ``on_prior`` the asset's own
    choice recomputed (a check that these inputs are the asset's)."""
    from revops_assets.scoring.lead_model import FEATURES, ON_PRIOR_FEATURES, fit_lead_model, probability

    rows, feats, history, backtests, lp, cutoff = scoring_inputs(home, partition, day)
    fit = dict(min_outcomes=lp.scoring.min_outcomes_to_train, backtest=backtests)
    out = {}
    for name, model in (("eleven", fit_lead_model(history, cutoff, lp.icp.employee_range, features=FEATURES, **fit)),
                        ("on_prior", fit_lead_model(history, cutoff, lp.icp.employee_range, features=ON_PRIOR_FEATURES,
                                                    on_prior=True, **fit))):
        p = pd.Series(probability(model, feats).to_numpy(), index=rows["contact_id"].to_numpy())
        out[name] = leads["contact_id"].map(p).rename(f"{name} ({model.kind})")
    return out


def metrics(y: np.ndarray, p: np.ndarray, propensity: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from revops_assets.scoring.lead_model import expected_calibration_error

    both = len(np.unique(y)) == 2
    return {"auc": float(roc_auc_score(y, p)) if both else float("nan"),
            "ece": expected_calibration_error(y, p), "brier": float(np.mean((p - y) ** 2)),
            "rho": float(spearmanr(p, propensity).statistic)}


def freeze_clock(day: date) -> None:
    """Run as if on ``day`` (at 12:00 UTC): the assets' ``utc_now`` and SCOUT's news look-back
    (``date.today()``) read the wall clock, so a pinned sample judged on a later date would otherwise
    see its own Exa profiles as fetched after the partition day and a shifted news window. Only this
    benchmark process is patched; the product is unchanged."""
    import importlib

    frozen = datetime.combine(day, dtime(12, 0), tzinfo=timezone.utc)

    class _Date(date):
        @classmethod
        def today(cls):  # noqa: D102
            return day

    for name in ("_common", "coach", "scout", "piper", "queen", "learning"):
        module = importlib.import_module(f"revops_assets.assets.{name}")
        if hasattr(module, "utc_now"):
            module.utc_now = lambda: frozen
        if name == "scout":
            module.date = _Date


def evaluate(n: int, seed: int, keep: bool, intent_method: str | None = None, day: date | None = None,
             keep_dir: Path | None = None) -> tuple[list[dict], dict]:
    """(figure rows, summary) of one workspace: ``n`` accounts, ``seed``, history ending on ``day``
    (the partition scored; today, UTC, when None) -- summary = the per-seed figures the aggregate reads."""
    from revops_assets.sample.generator import write_sample

    if day is not None:
        freeze_clock(day)
    day = day or datetime.now(timezone.utc).date()
    partition = day.isoformat()
    if keep_dir is not None:
        tmp = keep_dir / f"lead-scores-{n}-seed{seed}-{partition}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-lead-scores-{n}-{seed}-"))
    home = tmp / "hive"
    tag = f"[{n:,} accounts, seed {seed}]"
    rows: list[dict] = []
    summary: dict = {"accounts": n, "seed": seed, "as_of": partition}
    try:
        t = time.perf_counter()
        write_sample(home / "sample", accounts=n, seed=seed, as_of=day)
        sample_s = time.perf_counter() - t
        visits = load_visits(home)
        result, mat_s = materialize(home, partition, intent_method)
        print(f"{tag} sample {sample_s:.1f} s, {visits:,} visits into the inbox, materialize {mat_s:.1f} s, "
              f"success={result.success}", flush=True)
        rows.append({"figure": f"{tag} upstream of lead_scores materialized (success)", "target": True,
                     "measured": bool(result.success), "unit": "", "ok": bool(result.success)})
        rows.append({"figure": f"{tag} write_sample / materialize time", "target": None,
                     "measured": f"{sample_s:.1f} / {mat_s:.1f}", "unit": "s", "ok": True})
        if not result.success:
            return rows, summary
        checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        failed = sorted(f"{c.asset_key.to_user_string()}.{c.check_name}" for c in checks if not c.passed)
        rows.append({"figure": f"{tag} asset checks passed ({len(checks)} run)", "target": len(checks),
                     "measured": len(checks) - len(failed), "unit": "checks" + (f" (failed: {', '.join(failed)})" if failed else ""),
                     "ok": not failed})

        meta = lead_metadata(result)
        scores = read_scores(home, partition)
        truth = pd.read_json(home / "sample" / "truth" / "accounts.jsonl", lines=True)
        truth = truth.set_index("domain")
        prior, thresholds = prior_on_rows(scores, home, pd.Timestamp(partition))
        scores = scores.assign(prior=prior.to_numpy(), converted=scores["domain"].map(truth["converted"]),
                               propensity=scores["domain"].map(truth["propensity"]),
                               opp_status=scores["domain"].map(truth["opportunity_status"]))
        kind = str(meta.get("model_kind"))
        if kind == "rule_prior":  # the asset used the prior: our recomputation must be the same numbers
            same = bool(np.allclose(scores["probability"], scores["prior"].round(4), atol=1e-4))
            rows.append({"figure": f"{tag} recomputed prior equals the asset's probability", "target": True,
                         "measured": same, "unit": "", "ok": same})
        unmatched = int(scores["converted"].isna().sum())
        open_ = scores[~scores["opp_status"].isin(CLOSED) & scores["converted"].notna()]
        y = open_["converted"].astype(int).to_numpy()
        prop = open_["propensity"].to_numpy(dtype="float64")
        asset = metrics(y, open_["probability"].to_numpy(dtype="float64"), prop)
        rule = metrics(y, open_["prior"].to_numpy(dtype="float64"), prop)
        acc = open_.groupby("domain").agg(p=("probability", "max"), q=("prior", "max"), y=("converted", "first"),
                                          prop=("propensity", "first"))
        acc_y = acc["y"].astype(int).to_numpy()
        acc_asset = metrics(acc_y, acc["p"].to_numpy(dtype="float64"), acc["prop"].to_numpy(dtype="float64"))
        acc_rule = metrics(acc_y, acc["q"].to_numpy(dtype="float64"), acc["prop"].to_numpy(dtype="float64"))
        oracle = metrics(y, prop, prop)["auc"]
        alt = {}
        for name, series in alternatives(home, partition, day, open_).items():
            p_alt = series.to_numpy(dtype="float64")
            alt[name] = metrics(y, p_alt, prop) | {"kind": series.name.split("(")[-1].rstrip(")")}
            rows.append({"figure": f"{tag}   alternative {series.name}: AUC / ECE / Spearman", "target": None, "unit": "", "ok": True,
                         "measured": f"{alt[name]['auc']:.3f} / {alt[name]['ece']:.4f} / {alt[name]['rho']:.3f}"})
            if name == "on_prior":  # the asset's model, recomputed from its inputs: must be the asset's numbers
                same = bool(np.allclose(open_["probability"].to_numpy(dtype="float64"), np.round(p_alt, 4), atol=1e-4))
                rows.append({"figure": f"{tag}   recomputed model inputs give the asset's probabilities", "target": True,
                             "measured": same, "unit": "", "ok": same})

        choice = str(meta.get("model_choice", ""))
        # per workspace the figures are reported, not judged: the targets are on the aggregate over seeds
        rows.append({"figure": f"{tag} asset's model ({meta.get('training_outcomes')} training outcomes)",
                     "target": None, "measured": kind, "unit": "", "ok": True})
        rows.append({"figure": f"{tag}   why (model_choice)", "target": None, "measured": choice, "unit": "", "ok": True})
        if "model_auc" in meta:
            rows.append({"figure": f"{tag}   asset's own validation AUC model / prior (metadata)", "target": None,
                         "measured": f"{meta['model_auc']:.3f} / {meta.get('prior_auc', float('nan')):.3f}", "unit": "AUC", "ok": True})
            rows.append({"figure": f"{tag}   asset's own validation ECE model / prior (metadata)", "target": None,
                         "measured": f"{meta.get('model_ece', float('nan')):.3f} / {meta.get('prior_ece', float('nan')):.3f}",
                         "unit": "", "ok": True})
        rows.append({"figure": f"{tag} leads with no closed deal by the day (accounts; base rate)", "target": None,
                     "measured": f"{len(open_):,} ({len(acc):,}; {y.mean():.3f})", "unit": "leads",
                     "ok": True})
        rows.append({"figure": f"{tag}   lead rows not matched to the truth", "target": 0, "measured": unmatched, "unit": "rows",
                     "ok": unmatched == 0})
        rows.append({"figure": f"{tag} asset probability AUC vs converted",
                     "target": None, "measured": round(asset["auc"], 3), "unit": "AUC", "ok": True})
        rows.append({"figure": f"{tag}   rule prior AUC on the same leads", "target": None, "measured": round(rule["auc"], 3),
                     "unit": "AUC", "ok": True})
        rows.append({"figure": f"{tag}   oracle AUC (true propensity)", "target": None, "measured": round(oracle, 3),
                     "unit": "AUC", "ok": True})
        rows.append({"figure": f"{tag} asset probability ECE", "target": None, "measured": round(asset["ece"], 4), "unit": "",
                     "ok": True})
        rows.append({"figure": f"{tag}   rule prior ECE on the same leads", "target": None, "measured": round(rule["ece"], 4),
                     "unit": "", "ok": True})
        rows.append({"figure": f"{tag}   Brier asset / prior", "target": None,
                     "measured": f"{asset['brier']:.4f} / {rule['brier']:.4f}", "unit": "", "ok": True})
        rows.append({"figure": f"{tag}   Spearman vs true propensity asset / prior", "target": None,
                     "measured": f"{asset['rho']:.3f} / {rule['rho']:.3f}", "unit": "rho", "ok": True})
        rows.append({"figure": f"{tag} per account (best lead) AUC asset / prior", "target": None,
                     "measured": f"{acc_asset['auc']:.3f} / {acc_rule['auc']:.3f}", "unit": "AUC", "ok": True})
        rows.append({"figure": f"{tag}   per account (best lead) ECE asset / prior", "target": None,
                     "measured": f"{acc_asset['ece']:.4f} / {acc_rule['ece']:.4f}", "unit": "", "ok": True})

        rate = {}
        for pri in PRIORITIES:
            sel = open_["priority"] == pri
            rate[pri] = float(open_.loc[sel, "converted"].astype(float).mean()) if sel.any() else float("nan")
            rows.append({"figure": f"{tag} {pri}: share of leads / conversion rate", "target": None,
                         "measured": f"{sel.mean():.3f} / {rate[pri]:.3f}", "unit": f"(n={int(sel.sum()):,})", "ok": True})
        ratio = rate["High"] / rate["Low"] if rate["Low"] > 0 else float("nan")
        summary.update(kind=kind, choice=choice, auc=asset["auc"], prior_auc=rule["auc"], ece=asset["ece"],
                       prior_ece=rule["ece"], rho=asset["rho"], prior_rho=rule["rho"], oracle_auc=oracle,
                       acc_auc=acc_asset["auc"], acc_prior_auc=acc_rule["auc"], high_low=ratio, leads=len(open_),
                       training_outcomes=meta.get("training_outcomes"),
                       **{f"{name}_{k}": v for name, m in alt.items() for k, v in m.items()})
        rows.append({"figure": f"{tag} High converts vs Low (directive: >= 2x; High >= {thresholds['high']} ICP only, Medium >= {thresholds['medium']})", "target": 2.0,
                     "measured": round(ratio, 2), "unit": "x", "ok": bool(ratio >= 2.0)})
        return rows, summary
    finally:
        if keep or keep_dir is not None:
            print(f"{tag} kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def calibration_ablation(home: Path, partition: str, day: date) -> list[dict]:
    """Offline, from a kept workspace: probabilities the asset could emit, judged like the asset
    (leads with no closed deal; AUC, ECE at 4 decimals, ECE on other bins, High/Medium/Low). Each
    uses only what the product knows on the day; the truth only judges. ``asset`` is the asset's own
    choice; ``model`` the model on the prior whatever the guard says (isotonic >= 1,000 rows, else
    sigmoid: _fit_calibrated), ``model sigmoid`` / ``model uncalibrated`` / ``model per-stage``
    (isotonic, a dummy per stage instead of a linear stage) its variants; ``prior Platt closed`` a
    monotone (sigmoid) map of the prior fitted on the closed-deal rows (every stage row / ``opening``
    rows only); ``... backtest`` maps fitted on the backtests' then-open leads and their wins since
    (pooled over the days, or the 60-day one); ``prior via model`` the prior mapped monotonically
    (isotonic) onto the model's probabilities over the day's leads, and ``asset, prior via model``
    that map used wherever the asset keeps the prior. ``oracle`` is the true propensity."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from revops_assets.assets.coach import icp_rules
    from revops_assets.scoring.lead_model import (ON_PRIOR_FEATURES, _design, _fit_calibrated, expected_calibration_error,
                                                  fit_lead_model, icp_filter, priority_level, probability, rule_prior)

    rows, feats, history, backtests, lp, cutoff = scoring_inputs(home, partition, day)
    truth = pd.read_json(home / "sample" / "truth" / "accounts.jsonl", lines=True).set_index("domain")
    emp, F = tuple(lp.icp.employee_range), list(ON_PRIOR_FEATURES)
    fit_icp, _ = icp_filter(rows, icp_rules(lp.icp), with_reasons=False)
    conv = rows["domain"].map(truth["converted"])
    open_ = (~rows["domain"].map(truth["opportunity_status"]).isin(CLOSED) & conv.notna()).to_numpy()
    y = conv[open_].astype(int).to_numpy()

    def known_by(as_of) -> pd.DataFrame:
        when = pd.to_datetime(history["outcome_at"], errors="coerce", utc=True)
        end = pd.Timestamp(as_of).tz_localize("UTC").normalize() + pd.Timedelta(days=1) if pd.Timestamp(as_of).tzinfo is None \
            else pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
        known = history[(when < end) & history["converted"].notna()]
        return known.iloc[np.argsort(when[known.index].to_numpy(), kind="stable")]  # fit_lead_model's order (its CV folds)

    def logit(p):
        p = np.clip(np.asarray(p, dtype="float64"), 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    def platt(s, t):
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(logit(s)[:, None], t)
        return lambda q: lr.predict_proba(logit(q)[:, None])[:, 1]

    def per_stage(frame):
        st = frame["deal stage"].to_numpy(dtype="float64")
        return np.column_stack([_design(frame, [], True, emp)] + [np.isclose(st, v).astype(float) for v in (0.25, 0.5, 0.75, 1.0)])

    def calibrated(X, t, method):
        base = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        if method == "none":
            return base.fit(X, t)
        return CalibratedClassifierCV(base, method=method, cv=int(max(2, min(5, np.bincount(t).min())))).fit(X, t)

    def then_scores(model: bool, horizon: int | None = None):
        s, t = [], []
        for bt in backtests:
            if horizon and (day - bt.as_of).days != horizon:
                continue
            if model:
                k = known_by(bt.as_of)
                cal = _fit_calibrated(_design(k, F, True, emp), k["converted"].astype(int).to_numpy())
                s.append(cal.predict_proba(_design(bt.features, F, True, emp))[:, 1])
            else:
                s.append(rule_prior(bt.features, emp).to_numpy())
            t.append(np.asarray(bt.converted, dtype=int))
        return np.concatenate(s), np.concatenate(t)

    k = known_by(cutoff)
    yk = k["converted"].astype(int).to_numpy()
    asset = fit_lead_model(history, cutoff, emp, min_outcomes=lp.scoring.min_outcomes_to_train, backtest=backtests,
                           features=ON_PRIOR_FEATURES, on_prior=True)
    prior = rule_prior(feats, emp).to_numpy()
    model = _fit_calibrated(_design(k, F, True, emp), yk).predict_proba(_design(feats, F, True, emp))[:, 1]
    opening = k[k["deal stage"] == 0]
    cand = {"asset": probability(asset, feats).to_numpy(), "rule prior": prior, "model": model,
            "model sigmoid": calibrated(_design(k, F, True, emp), yk, "sigmoid").predict_proba(_design(feats, F, True, emp))[:, 1],
            "model uncalibrated": calibrated(_design(k, F, True, emp), yk, "none").predict_proba(_design(feats, F, True, emp))[:, 1],
            "model per-stage": calibrated(per_stage(k), yk, "isotonic").predict_proba(per_stage(feats))[:, 1],
            "prior Platt closed": platt(rule_prior(k, emp).to_numpy(), yk)(prior),
            "prior Platt closed opening": platt(rule_prior(opening, emp).to_numpy(), opening["converted"].astype(int).to_numpy())(prior),
            "prior Platt backtest": platt(*then_scores(False))(prior),
            "model Platt backtest": platt(*then_scores(True))(model),
            "model Platt backtest 60d": platt(*then_scores(True, 60))(model),
            "prior via model": IsotonicRegression(out_of_bounds="clip").fit(prior, model).predict(prior)}
    cand["asset, prior via model"] = cand["asset"] if asset.kind != "rule_prior" else cand["prior via model"]
    cand["oracle (true propensity)"] = rows["domain"].map(truth["propensity"]).to_numpy(dtype="float64")
    th = lp.scoring.thresholds.model_dump()
    out = []
    for name, p in cand.items():
        q = np.round(np.asarray(p, dtype="float64"), 4)[open_]
        level = priority_level(q, fit_icp.to_numpy()[open_], th)
        rate = [y[level == v].mean() if (level == v).any() else float("nan") for v in (2, 1, 0)]
        out.append({"candidate": name, "asset_kind": asset.kind, "auc": float(roc_auc_score(y, q)),
                    "ece": expected_calibration_error(y, q), "ece_half_shift": expected_calibration_error(y, np.clip(q + 0.05, 0, 0.9999)),
                    "ece5": expected_calibration_error(y, q, 5), "ece20": expected_calibration_error(y, q, 20),
                    "mean_p": float(q.mean()), "base_rate": float(y.mean()),
                    "high": float(np.mean(level == 2)), "medium": float(np.mean(level == 1)), "low": float(np.mean(level == 0)),
                    "high_over_low": rate[0] / rate[2] if rate[2] > 0 else float("nan")})
    return out


def ablate(keep_dir: Path, out_name: str | None) -> None:
    """``--ablate-calibration``: :func:`calibration_ablation` on every workspace kept under ``keep_dir``."""
    import re

    table = []
    for ws in sorted(keep_dir.glob("lead-scores-*-seed*-*")):
        n, seed, partition = re.match(r"lead-scores-(\d+)-seed(\d+)-(.+)$", ws.name).groups()
        freeze_clock(date.fromisoformat(partition))
        for r in calibration_ablation(ws / "hive", partition, date.fromisoformat(partition)):
            table.append({"accounts": int(n), "seed": int(seed)} | r)
    df = pd.DataFrame(table)
    with pd.option_context("display.width", 250, "display.max_rows", 1000):
        print(df.round(3).to_string(index=False))
        agg = df.groupby("candidate", sort=False)[["auc", "ece", "ece_half_shift", "high", "high_over_low"]].agg(["mean", "min", "max"])
        print(agg.round(3).to_string())
    prior_auc = df[df["candidate"] == "rule prior"].set_index(["accounts", "seed"])["auc"]
    df["auc_vs_prior"] = df["auc"].to_numpy() - prior_auc.reindex(pd.MultiIndex.from_frame(df[["accounts", "seed"]])).to_numpy()
    summary = [{"figure": f"[{n:,} accounts, {g['seed'].nunique()} seeds] {name}: ECE mean / max, seeds < 0.05, "
                          "AUC vs prior min / mean, High share mean, High:Low min", "target": None, "unit": "", "ok": True,
                "measured": f"{g['ece'].mean():.4f} / {g['ece'].max():.4f}, {int((g['ece'] < 0.05).sum())} of {len(g)}, "
                            f"{g['auc_vs_prior'].min():+.3f} / {g['auc_vs_prior'].mean():+.3f}, {g['high'].mean():.3f}, "
                            f"{g['high_over_low'].min():.2f}"}
               for (n, name), g in df.groupby(["accounts", "candidate"], sort=False)]
    rows = summary + [{"figure": f"[{r['accounts']:,} accounts, seed {r['seed']}] {r['candidate']}: AUC / ECE / ECE bins shifted / "
                       "High-Medium-Low / High:Low", "target": None, "unit": "", "ok": True,
             "measured": f"{r['auc']:.3f} / {r['ece']:.4f} / {r['ece_half_shift']:.4f} / "
                         f"{r['high']:.3f}-{r['medium']:.3f}-{r['low']:.3f} / {r['high_over_low']:.2f}"} for r in table]
    out = Path(__file__).resolve().parent / "results" / (out_name or "lead_scores.calibration.json")
    out.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    print(f"wrote {out}")


def _worker(job: tuple) -> tuple[list[dict], dict]:
    n, seed, keep, intent_method, day, keep_dir = job
    rows, summary = evaluate(n, seed, keep, intent_method, day, keep_dir)
    if keep_dir is not None:
        (keep_dir / f"summary-{n}-seed{seed}-{summary['as_of']}.json").write_text(json.dumps(summary, default=str) + "\n")
    return rows, summary


def outcome(s: dict, who: str = "") -> str:
    """"win" / "tie" / "loss" against the rule prior on one workspace's truth, of the asset (``who``
    "") or of an alternative ("eleven_"). A tie is the prior itself being used (the same ranking; the
    asset's stored 4 decimals must not pass for a win)."""
    if s.get(f"{who}kind") == "rule_prior":
        return "tie"
    return "win" if s[f"{who}auc"] > s["prior_auc"] else "loss"


def aggregate(summaries: list[dict]) -> list[dict]:
    """Per size: one line per seed and the judgement over seeds (the targets live here, on the
    asset); the same figures for the eleven-feature model the asset used before, for comparison."""
    rows: list[dict] = []
    for n in sorted({s["accounts"] for s in summaries}):
        done = [s for s in summaries if s["accounts"] == n and "auc" in s]
        tag = f"[{n:,} accounts, {len(done)} seeds]"
        for who, label, judged in (("", "asset", True), ("eleven_", "eleven-feature model (before)", False)):
            if not done or f"{who}auc" not in done[0]:
                continue
            for s in sorted(done, key=lambda s: s["seed"]):
                rows.append({"figure": f"{tag} {label}, seed {s['seed']}: chose / AUC vs prior / ECE / Spearman vs prior",
                             "target": None, "unit": outcome(s, who), "ok": True,
                             "measured": f"{'model' if s[f'{who}kind'] != 'rule_prior' else 'prior'} / {s[f'{who}auc']:.3f} vs "
                                         f"{s['prior_auc']:.3f} / {s[f'{who}ece']:.3f} / {s[f'{who}rho']:.2f} vs {s['prior_rho']:.2f}"})
            res = [outcome(s, who) for s in done]
            wins, ties, losses = res.count("win"), res.count("tie"), res.count("loss")
            # a tie is the prior's own ranking: its delta is 0, not the rounding of the stored probabilities
            delta = float(np.mean([0.0 if r == "tie" else s[f"{who}auc"] - s["prior_auc"] for s, r in zip(done, res)]))
            rho_delta = float(np.mean([0.0 if r == "tie" else s[f"{who}rho"] - s["prior_rho"] for s, r in zip(done, res)]))
            eces = [s[f"{who}ece"] for s in done]
            t = (lambda target: target if judged else None)
            rows.append({"figure": f"{tag} {label} vs prior on the truth: wins / ties / losses" + (" (target: more wins than losses, no loss)" if judged else ""),
                         "target": t("W>L, L=0"), "measured": f"{wins} / {ties} / {losses}", "unit": "seeds",
                         "ok": (wins > losses and losses == 0) or not judged})
            rows.append({"figure": f"{tag} {label}: mean AUC delta vs prior" + (" (target > 0)" if judged else ""), "target": t(0),
                         "measured": round(delta, 4), "unit": "AUC", "ok": delta > 0 or not judged})
            rows.append({"figure": f"{tag} {label}: mean Spearman delta vs prior (true propensity)", "target": None,
                         "measured": round(rho_delta, 3), "unit": "rho", "ok": True})
            rows.append({"figure": f"{tag} {label}: ECE mean / max" + (" (target: max < 0.05)" if judged else ""), "target": t(0.05),
                         "measured": f"{np.mean(eces):.4f} / {max(eces):.4f}", "unit": "", "ok": max(eces) < 0.05 or not judged})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 500-account workspace, seed 42 (full: 2,000 accounts, seeds 42-44)")
    parser.add_argument("--sizes", help="comma-separated account counts (overrides --quick's and the default sizes)")
    parser.add_argument("--seed", type=int, help="one seed (same as --seeds N)")
    parser.add_argument("--seeds", help="comma-separated seeds, or a range like 45-49 (default 42-44; --quick: 42)")
    parser.add_argument("--as-of", default=REFERENCE_DAY,
                        help=f"the day the sample's history ends and the partition scored (default {REFERENCE_DAY}, "
                             "pinned so results do not drift with the calendar; 'today' for today, UTC)")
    parser.add_argument("--parallel", type=int, default=3, help="workspaces materialized at once (each is mostly "
                        "waiting on Exa's rate limit; default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away homes (printed)")
    parser.add_argument("--keep-dir", type=Path, help="build the homes under this directory and keep them")
    parser.add_argument("--out", help="results file name under results/ (default lead_scores.json)")
    parser.add_argument("--ablate-calibration", action="store_true",
                        help="offline: judge calibration alternatives on the workspaces kept under --keep-dir (no materializing)")
    parser.add_argument("--intent-method", choices=["rules", "ngram", "hybrid"],
                        help="run SCOUT with this intent method instead of the product's default; the figures "
                             "then go to results/lead_scores.<method>.json (its own topic in RESULTS.md)")
    args = parser.parse_args()
    if args.ablate_calibration:
        if args.keep_dir is None:
            parser.error("--ablate-calibration reads the workspaces kept under --keep-dir")
        return ablate(args.keep_dir, args.out)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([500] if args.quick else [2_000])
    if args.seeds:
        seeds = []
        for part in args.seeds.split(","):
            lo, _, hi = part.partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    else:
        seeds = [args.seed] if args.seed is not None else ([42] if args.quick else [42, 43, 44])
    day = datetime.now(timezone.utc).date() if args.as_of == "today" else date.fromisoformat(args.as_of)
    started = time.perf_counter()
    jobs = [(n, seed, args.keep, args.intent_method, day, args.keep_dir) for n in sizes for seed in seeds]
    if len(jobs) == 1 or args.parallel <= 1:
        results = [_worker(job) for job in jobs]
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(args.parallel, len(jobs)), mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_worker, jobs))
    rows: list[dict] = [r for job_rows, _ in results for r in job_rows]
    rows += aggregate([summary for _, summary in results])
    load1, load5, _ = os.getloadavg()
    rows.append({"figure": f"total run time (as of {day}, seeds {','.join(map(str, seeds))}, {min(args.parallel, len(jobs))} at once)",
                 "target": None, "measured": round(time.perf_counter() - started, 1), "unit": "s", "ok": True})
    rows.append({"figure": f"load average at the end (1 / 5 min, {os.cpu_count()} CPUs)", "target": None,
                 "measured": f"{load1:.2f} / {load5:.2f}", "unit": "", "ok": True})
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'target':>8}  {'measured':>18}  unit")
    for r in rows:
        print(f"{r['figure']:<{width}}  {str(r['target'] if r['target'] is not None else ''):>8}  {str(r['measured']):>18}  "
              f"{r['unit']}  {'' if r['ok'] else 'MISSED'}")
    name = args.out or (f"lead_scores.{args.intent_method}.json" if args.intent_method else "lead_scores.json")
    out = Path(__file__).resolve().parent / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
