"""Lead scoring: ICP fit, input validation, features, a rule prior, a calibrated model, priority.

Flow: ``validate_accounts`` -> ``icp_filter`` -> ``lead_features`` -> ``fit_lead_model`` (keeps
``rule_prior`` unless a trained model beats it on a time-ordered validation slice) -> ``predict`` ->
``assign_priority``.
Everything is vectorized; scikit-learn is imported inside the functions that train, so importing
this module stays light.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from revops_assets.scoring.intent_score import DEFAULT_HALF_LIFE_DAYS, score_intent

INTENT_TYPES = ("funding", "hiring", "leadership_change", "product_launch")
# Readable feature names: they appear verbatim in top_factors shown to AEs.
FEATURES = [
    "industry in ICP",
    "log employees",
    "company size in ICP",
    "region in ICP",
    "seniority",
    "intent score",
    "funding recency",
    "hiring recency",
    "leadership change recency",
    "product launch recency",
    "deal stage",
]
RECENCY_FEATURES = FEATURES[6:10]
# "deal stage": how far the account's furthest deal open on the day has got through its pipeline,
# 0 (no open deal, or its first stage) to 1 (the last stage). The rule prior ignores it; a model
# trained on stage-by-stage deal outcomes learns what it is worth.
DEAL_STAGE_COLUMN = "deal_stage_depth"  # where lead_features reads it from (0 when absent)
RECENCY_SCALE_DAYS = 90.0  # recency = exp(-days / 90); 0 when the account has no such signal
DEFAULT_STAGES = frozenset(
    {"new", "new lead", "lead", "mql", "sql", "contacted", "qualified", "discovery", "demo", "demo scheduled", "proposal",
     "proposal sent", "negotiation", "contract sent", "closed won", "closed lost", "won", "lost", "customer", "churned"}
)
DEFAULT_THRESHOLDS = {"high": 0.30, "medium": 0.15}
# What a model fitted "on the prior" learns beside the rule prior's log-odds (the lead_scores asset's
# model): how far to trust the prior, and what the prior cannot see -- how far the account's deal has
# got. Learning the ICP and intent weights afresh from a few hundred closed deals (features dated when
# each deal was open, a population of deal-havers only) ranked the open leads' true propensity worse
# than the prior's weights on every sample workspace measured (benchmarks/bench_lead_scores.py).
ON_PRIOR_FEATURES = ("deal stage",)
PRIOR_INPUT = "rule prior"  # the name of the prior's log-odds among a model's inputs (top_factors)


# --- validation -------------------------------------------------------------------------------
def validate_accounts(
    df: pd.DataFrame,
    date_columns: Sequence[str] | None = None,
    known_stages: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (good, quarantined + ``reason``). Reasons, joined with "; ":
    missing/invalid domain, malformed date (in ``date_columns``; default: columns ending ``_at`` or
    ``_date``), negative employee count, unknown stage (``stage`` column vs ``known_stages``,
    case-insensitive). Blank dates are allowed; unparseable ones are not. Rows are never modified."""
    n = len(df)
    reasons = pd.Series("", index=df.index, dtype=object)

    def add(mask: pd.Series | np.ndarray, text: str) -> None:
        nonlocal reasons
        mask = pd.Series(np.asarray(mask, dtype=bool), index=df.index)
        reasons = reasons.where(~mask, reasons + np.where(reasons == "", "", "; ") + text)

    if "domain" in df:
        dom = df["domain"].astype("string").str.strip().str.lower()
        ok = dom.str.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", na=False)
        add(dom.isna() | (dom == ""), "no domain")
        add(~(dom.isna() | (dom == "")) & ~ok, "invalid domain")
    else:
        add(np.ones(n, dtype=bool), "no domain")

    cols = list(date_columns) if date_columns is not None else [c for c in df.columns if str(c).endswith(("_at", "_date"))]
    for col in cols:
        if col not in df:
            continue
        raw = df[col]
        blank = raw.isna() | (raw.astype("string").str.strip() == "")
        parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
        add(~blank & parsed.isna(), f"malformed date in {col}")

    if "employee_count" in df:
        emp = pd.to_numeric(df["employee_count"], errors="coerce")
        add(emp < 0, "negative employee count")
        add(df["employee_count"].notna() & emp.isna(), "non-numeric employee count")

    if "stage" in df:
        stages = {s.lower() for s in (known_stages if known_stages is not None else DEFAULT_STAGES)}
        st = df["stage"].astype("string").str.strip().str.lower()
        add(st.notna() & ~st.isin(stages), "unknown stage")

    bad = reasons != ""
    quarantined = df[bad].copy()
    quarantined["reason"] = reasons[bad]
    return df[~bad].copy(), quarantined


# --- ICP --------------------------------------------------------------------------------------
def _column(frame: pd.DataFrame, name: str, missing: Any) -> pd.Series:
    """``frame[name]``, or a Series of ``missing`` when there is no such column (built only then)."""
    return frame[name] if name in frame else pd.Series(missing, index=frame.index, dtype=object if missing is pd.NA else None)


def _norm(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower()


SENIORITY_LEVELS = [  # (title pattern, level, score)
    (r"\b(?:chief|ceo|cfo|cto|coo|cro|cmo|cio|ciso|founder|co-founder|owner|president)\b", "executive", 1.0),
    (r"\b(?:vp|vice president|svp|evp|head of)\b", "vp", 0.8),
    (r"\bdirector\b", "director", 0.6),
    (r"\b(?:manager|lead)\b", "manager", 0.4),
]


def _distinct_titles(titles: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(code per row, normalized distinct titles with "" for NA appended last): string work and
    regexes then run once per distinct title (a few thousand), not once per row."""
    codes, uniques = pd.factorize(titles, use_na_sentinel=True)
    norm = _norm(pd.Series(np.append(np.asarray(uniques, dtype=object), None), dtype=object)).fillna("")
    return np.where(codes < 0, len(uniques), codes), norm


def seniority(titles: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(level name, score 0..1) from job titles; unknown/blank titles are "individual" at 0.2."""
    codes, t = _distinct_titles(titles)
    level = np.full(len(t), "individual", dtype=object)
    score = np.full(len(t), 0.2)
    done = np.zeros(len(t), dtype=bool)
    for pattern, name, value in SENIORITY_LEVELS:
        hit = t.str.contains(pattern, regex=True).to_numpy(bool) & ~done
        level[hit], score[hit] = name, value
        done |= hit
    return (pd.Series(level[codes], index=titles.index, dtype=object),
            pd.Series(score[codes], index=titles.index, dtype="float64"))


def icp_filter(accounts: pd.DataFrame, icp: Mapping[str, Any], with_reasons: bool = True) -> tuple[pd.Series, pd.Series | None]:
    """(fit: bool Series, reasons: str Series) of accounts against an ICP definition.

    ``icp`` keys (all optional): ``industries``, ``regions`` (case-insensitive lists),
    ``employee_min``, ``employee_max`` (inclusive; or ``employee_range: [min, max]`` as in the
    lead_processing directive), ``titles`` (substrings, matched against a ``title`` column) and
    ``seniority`` (levels from :func:`seniority`, against ``title``).
    Unknown industry/size/region fail their criterion. Title criteria judge people, so they apply
    only where a title is known (account-level rows and company-only visits are not failed on them).
    ``reasons`` lists every failed criterion, "; "-joined, or "ICP fit" when none failed; it is
    None with ``with_reasons=False`` (bulk scoring that explains nothing formats no text).
    """
    icp = dict(icp)
    if icp.get("employee_range") is not None:
        icp.setdefault("employee_min", icp["employee_range"][0])
        icp.setdefault("employee_max", icp["employee_range"][1])
    idx = accounts.index
    n = len(accounts)
    # criteria as (failed mask, value codes into texts); reasons are formatted once per distinct
    # combination of failures, not once per row
    criteria: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
    if icp.get("industries"):
        ok, codes, norm = _in_set(_column(accounts, "industry", pd.NA), icp["industries"])
        criteria.append((~ok, codes, [f"industry {v} not in ICP" for v in norm]))
    emp = pd.to_numeric(_column(accounts, "employee_count", np.nan), errors="coerce")
    if with_reasons:
        emp_codes, emp_uniques = pd.factorize(emp, use_na_sentinel=True)
        emp_txt = [f"{v:.0f}" for v in emp_uniques] + ["unknown"]
        emp_codes = np.where(emp_codes < 0, len(emp_uniques), emp_codes)
    else:
        emp_codes, emp_txt = np.zeros(n, dtype=np.int64), []
    if icp.get("employee_min") is not None:
        lo = icp["employee_min"]
        criteria.append((~(emp >= lo).to_numpy(bool), emp_codes, [f"employees {v} < {lo}" for v in emp_txt]))
    if icp.get("employee_max") is not None:
        hi = icp["employee_max"]
        criteria.append((~(emp <= hi).to_numpy(bool), emp_codes, [f"employees {v} > {hi}" for v in emp_txt]))
    if icp.get("regions"):
        ok, codes, norm = _in_set(_column(accounts, "region", pd.NA), icp["regions"])
        criteria.append((~ok, codes, [f"region {v} not in ICP" for v in norm]))
    if (icp.get("titles") or icp.get("seniority")) and "title" in accounts:
        title_codes, title = _distinct_titles(accounts["title"])
        known_title = (title != "").to_numpy(bool)[title_codes]
        if icp.get("titles"):
            pattern = "|".join(re.escape(t.lower()) for t in icp["titles"])
            ok = title.str.contains(pattern, regex=True).to_numpy(bool)[title_codes]
            criteria.append((known_title & ~ok, np.zeros(n, dtype=np.int64), ["title not in ICP titles"]))
        if icp.get("seniority"):
            level, _ = seniority(accounts["title"])
            codes, levels = pd.factorize(level)
            ok = level.isin({s.lower() for s in icp["seniority"]}).to_numpy(bool)
            criteria.append((known_title & ~ok, codes, [f"seniority {v} not in ICP" for v in levels]))

    fit = np.ones(n, dtype=bool)
    if not with_reasons:
        for failed, _, _ in criteria:
            fit &= ~failed
        return pd.Series(fit, index=idx, name="icp_fit"), None
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for failed, codes, labels in criteria:
        fit &= ~failed
        key += np.where(failed, codes.astype(np.int64) + 1, 0) * radix
        radix *= len(labels) + 1
    inv, uniq = pd.factorize(key)  # hashing the distinct keys beats sorting a million
    # texts per distinct key, joined criterion by criterion as whole object arrays (no per-key loop)
    texts = np.full(len(uniq), "", dtype=object)
    radix = 1
    for _, _, labels in criteria:
        part = np.array([""] + labels, dtype=object)[(uniq // radix) % (len(labels) + 1)]
        radix *= len(labels) + 1
        texts = np.where(part == "", texts, np.where(texts == "", part, texts + "; " + part))
    texts[texts == ""] = "ICP fit"
    reasons = texts[inv] if n else np.array([], dtype=object)
    return pd.Series(fit, index=idx, name="icp_fit"), pd.Series(reasons, index=idx, name="icp_reasons", dtype=object)


def _membership(values: pd.Series, allowed: Collection[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(in ``allowed`` per distinct value + a final False for unknown, each row's code with -1 for
    unknown, normalized distinct values + "unknown"); the normalization runs on distinct values only
    (a categorical's own codes, or repeated strings)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    norm = [str(u).strip().lower() for u in uniques] + ["unknown"]
    allowed_l = {a.lower() for a in allowed}
    return np.array([v in allowed_l for v in norm[:-1]] + [False]), codes, norm


def _in_set(values: pd.Series, allowed: Collection[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(membership per row, value codes with unknown as the last, normalized distinct values + "unknown")."""
    ok_u, codes, norm = _membership(values, allowed)
    codes = np.where(codes < 0, len(norm) - 1, codes.astype(np.int64, copy=False))
    return ok_u[codes], codes, norm


# --- features ---------------------------------------------------------------------------------
def lead_features(
    accounts: pd.DataFrame,
    icp: Mapping[str, Any],
    as_of: date | datetime | str,
    intent_scores: pd.DataFrame | pd.Series | None = None,
    signals: pd.DataFrame | None = None,
    columns: Sequence[str] = tuple(FEATURES),
) -> pd.DataFrame:
    """Model features (``columns``, by default all of :data:`FEATURES`; index of ``accounts``) as of
    ``as_of``. Only the columns asked for are computed (the rule prior reads four of eleven).

    Intent score comes from ``intent_scores``: a frame [domain, intent_score] joined by domain, or a
    Series aligned with ``accounts`` by index (``score_intent(..., domains=accounts["domain"])``'s
    column: no join); 0 when absent. Deal stage from ``accounts``' :data:`DEAL_STAGE_COLUMN` (0 when
    absent). Per-type recency comes from ``signals`` [domain, type, published] (latest signal on or
    before ``as_of``), else from ``<type>_days_ago`` columns in ``accounts`` (sample-generator layout).
    """
    idx = accounts.index
    unknown = [c for c in columns if c not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; known: {FEATURES}")
    emp = pd.to_numeric(_column(accounts, "employee_count", np.nan), errors="coerce").to_numpy(dtype="float64")
    recency: dict[str, np.ndarray] = {}

    def intent() -> np.ndarray | float:
        if isinstance(intent_scores, pd.Series):
            return intent_scores.reindex(idx).fillna(0.0).to_numpy(dtype="float64")
        if intent_scores is None or not len(intent_scores):
            return 0.0
        # one hash pass over both domain columns (faster than Index.get_indexer on 1M strings)
        m = len(intent_scores)
        codes, uniq = pd.factorize(np.concatenate([intent_scores["domain"].to_numpy(dtype=object),
                                                   accounts["domain"].to_numpy(dtype=object)]))
        by_code = np.zeros(len(uniq) + 1, dtype="float64")
        by_code[codes[:m][::-1]] = intent_scores["intent_score"].to_numpy(dtype="float64")[::-1]  # first row wins
        return by_code[codes[m:]]  # no score (or NA domain, code -1) -> 0.0

    def recency_of(name: str) -> np.ndarray:
        if not recency:
            for kind, days in _signal_days(accounts, as_of, signals).items():
                recency[RECENCY_FEATURES[INTENT_TYPES.index(kind)]] = np.nan_to_num(np.exp(-days / RECENCY_SCALE_DAYS), nan=0.0)
        return recency[name]

    def deal_stage() -> np.ndarray | float:
        depth = accounts[DEAL_STAGE_COLUMN] if DEAL_STAGE_COLUMN in accounts else None
        return 0.0 if depth is None else pd.to_numeric(depth, errors="coerce").fillna(0.0).clip(0, 1).to_numpy()

    compute = {
        "industry in ICP": lambda: _in_set(_column(accounts, "industry", pd.NA), icp.get("industries", []))[0].astype("float64"),
        "log employees": lambda: np.nan_to_num(np.log1p(np.maximum(emp, 0)), nan=0.0),
        # the ICP's size is a range: a linear term in log employees cannot say "inside it"
        "company size in ICP": lambda: _size_in(emp, icp).astype("float64"),
        "region in ICP": lambda: _in_set(_column(accounts, "region", pd.NA), icp.get("regions", []))[0].astype("float64"),
        "seniority": lambda: seniority(accounts["title"])[1].to_numpy() if "title" in accounts else 0.5,
        "intent score": intent,
        **{name: (lambda name=name: recency_of(name)) for name in RECENCY_FEATURES},
        "deal stage": deal_stage,
    }
    return pd.DataFrame({c: compute[c]() for c in columns}, index=idx, columns=list(columns), copy=False)  # fresh arrays


def _signal_days(accounts: pd.DataFrame, as_of: date | datetime | str, signals: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Days from each account's latest signal of each type (on or before ``as_of``) to ``as_of``;
    NaN where it has none."""
    idx = accounts.index
    ts = pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    days: dict[str, np.ndarray] = {}
    if signals is not None:
        pub = pd.to_datetime(signals["published"], errors="coerce", utc=True).dt.tz_localize(None)
        live = signals.assign(_pub=pub)[pub < ts.normalize() + pd.Timedelta(days=1)]
        latest = live.groupby(["domain", "type"], sort=False, observed=False)["_pub"].max().unstack("type")
        for kind in INTENT_TYPES:
            col = latest[kind] if kind in latest else pd.Series(pd.NaT, index=latest.index, dtype="datetime64[ns]")
            age = ((ts.normalize() - col).dt.total_seconds() / 86400).clip(lower=0)
            days[kind] = accounts["domain"].map(age).to_numpy(dtype="float64")
    else:
        for kind, col in zip(INTENT_TYPES, ("funding_days_ago", "hiring_days_ago", "leadership_days_ago", "launch_days_ago")):
            days[kind] = (pd.to_numeric(accounts[col], errors="coerce").to_numpy(dtype="float64") if col in accounts
                          else np.full(len(idx), np.nan))
    return days


def _size_in(emp: np.ndarray, icp: Mapping[str, Any]) -> np.ndarray:
    """Employees within the ICP's ``employee_range`` (inclusive; unknown is outside; no range: all in)."""
    rng = icp.get("employee_range")
    if rng is None:
        return np.ones(len(emp), dtype=bool)
    with np.errstate(invalid="ignore"):
        return (emp >= rng[0]) & (emp <= rng[1])


# --- rule prior -------------------------------------------------------------------------------
PRIOR_FEATURES = ("industry in ICP", "region in ICP", "log employees", "intent score")  # what rule_prior reads


def _size_ok(features: pd.DataFrame, employee_range: Sequence[float]) -> np.ndarray:
    lo, hi = employee_range
    log_emp = features["log employees"].to_numpy(dtype="float64")
    return ((log_emp >= np.log1p(lo)) & (log_emp <= np.log1p(hi))).astype("float64")


def rule_prior(features: pd.DataFrame, employee_range: Sequence[float]) -> pd.Series:
    """Probability from the seed's scoring idea, used until a trained model beats it.

    The seed scores leads by ICP fit plus intent score (0-100) and routes High/Medium/Low; it gives
    no formula, so this is the documented reconstruction: lead score = 50 * ICP share (industry,
    region, employees within the directive's ICP ``employee_range``, inclusive) + 0.5 * intent
    score, and probability = 0.02 + 0.48 * lead score / 100 (so 2%..50%; a prior, not a promise:
    on the sample workspace an ICP-fit account converts ~30% of the time, so this scale is kept
    roughly honest and the directive's thresholds are set on it, not the other way round).
    Reads only :data:`PRIOR_FEATURES`.
    """
    col = lambda name: features[name].to_numpy(dtype="float64")  # noqa: E731
    icp_share = (col("industry in ICP") + col("region in ICP") + _size_ok(features, employee_range)) / 3
    lead_score = 50 * icp_share + 0.5 * np.clip(col("intent score"), 0, 100)
    return pd.Series(0.02 + 0.48 * lead_score / 100, index=features.index, name="probability")


# --- model ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backtest:
    """The scoring question asked of an earlier day: the leads with no closed deal on ``as_of``, with
    :data:`FEATURES` as they were then, and whether their account won a deal after it (by the scoring
    day). Closed deals are a different population from the open leads the model scores; this is the
    same population, one horizon back."""

    as_of: date
    features: pd.DataFrame
    converted: np.ndarray
    groups: np.ndarray | None = None  # each lead's account: its leads share one outcome, resampled together


@dataclass
class LeadModel:
    kind: str  # "calibrated_logistic" or "rule_prior" (what predict() uses)
    model_version: str
    as_of: str
    employee_range: tuple[float, float]  # the ICP size range the rule prior scores against
    feature_names: list[str] = field(default_factory=lambda: list(FEATURES))  # the feature columns probability() reads
    # None: a logistic regression over feature_names. A list: the model's inputs are the rule prior's
    # log-odds (over PRIOR_FEATURES) and these features; feature_names then holds both.
    on_prior: list[str] | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # the trained model's auc, brier, ece on the validation slice
    prior_metrics: dict[str, float] = field(default_factory=dict)  # the rule prior's, on the same slice
    choice: str = ""  # why ``kind`` was chosen, in words
    train_window: tuple[str, str] | None = None
    n_outcomes: int = 0
    trained_on: list = field(default_factory=list)  # index labels of the history rows taken as known by as_of
    calibrator: Any = None  # CalibratedClassifierCV over StandardScaler+LogisticRegression
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: float = 0.0


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE: bin-weighted |mean predicted - observed rate| over equal-width probability bins."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    if len(y) == 0:
        return float("nan")
    b = np.minimum((p * bins).astype(int), bins - 1)
    cnt = np.bincount(b, minlength=bins)
    gap = np.abs(np.bincount(b, weights=p, minlength=bins) - np.bincount(b, weights=y, minlength=bins))
    return float(gap.sum() / len(y)) if cnt.sum() else float("nan")


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return {"auc": auc, "brier": float(brier_score_loss(y, p)), "ece": expected_calibration_error(y, p), "n": float(len(y))}


def _rank_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """AUC of each row of ``p`` (samples x n) against the matching row of ``y`` (Mann-Whitney, ties
    averaged); NaN for a row with one class only."""
    from scipy.stats import rankdata

    ranks = rankdata(p, axis=1)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def auc_gain_lower_bound(y: np.ndarray, p_model: np.ndarray, p_prior: np.ndarray,
                         samples: int = 400, quantile: float = 0.05, seed: int = 0, groups: np.ndarray | None = None) -> float:
    """The ``quantile`` of (model AUC - prior AUC) over paired bootstrap resamples of the validation
    slice: > 0 means the model ranks better than the prior with ~95% confidence. With ``groups``
    (e.g. the deal of each row) whole groups are resampled: rows of one deal are not independent
    evidence. A fixed seed keeps the choice (and the model version) deterministic for the same data."""
    y, p_model, p_prior = (np.asarray(a, dtype="float64") for a in (y, p_model, p_prior))
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, len(y), size=(samples, len(y)))
        gain = _rank_auc(y[idx], p_model[idx]) - _rank_auc(y[idx], p_prior[idx])
    else:
        members = list(pd.Series(np.arange(len(y))).groupby(np.asarray(groups, dtype=object), sort=False).indices.values())
        gain = np.empty(samples)
        for i in range(samples):
            rows = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
            gain[i] = (_rank_auc(y[rows][None], p_model[rows][None]) - _rank_auc(y[rows][None], p_prior[rows][None]))[0]
    gain = gain[~np.isnan(gain)]
    return float(np.quantile(gain, quantile)) if len(gain) else float("nan")


def _version(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _design(frame: pd.DataFrame, features: Sequence[str], on_prior: bool, employee_range: Sequence[float]) -> np.ndarray:
    """The model's input matrix: ``features`` as they are, or after the rule prior's log-odds when
    ``on_prior`` (the prior is 2%..50%, so its log-odds are finite)."""
    own = frame[list(features)].to_numpy(dtype="float64")
    if not on_prior:
        return own
    p = rule_prior(frame, employee_range).to_numpy()
    return np.column_stack([np.log(p / (1 - p)), own])


def _model_matrix(model: LeadModel, features: pd.DataFrame) -> np.ndarray:
    """A trained model's input matrix for ``features`` (what it was fitted on, in its order)."""
    if model.on_prior is None:
        return _design(features, model.feature_names, False, model.employee_range)
    return _design(features, model.on_prior, True, model.employee_range)


def model_inputs(model: LeadModel) -> list[str]:
    """Names of the model's inputs, in its coefficients' order."""
    return list(model.feature_names) if model.on_prior is None else [PRIOR_INPUT, *model.on_prior]


def fit_lead_model(
    history: pd.DataFrame,
    as_of: date | datetime | str,
    employee_range: Sequence[float],
    min_outcomes: int = 40,
    outcome_col: str = "converted",
    time_col: str = "outcome_at",
    valid_fraction: float = 0.25,
    backtest: Backtest | Sequence[Backtest] | None = None,
    group_col: str = "opportunity_id",
    features: Sequence[str] = tuple(FEATURES),
    on_prior: bool = False,
) -> LeadModel:
    """The model to score with at ``as_of``: a calibrated logistic regression, or the rule prior.

    ``history`` has :data:`FEATURES` (as they were at decision time -- the caller's job),
    ``outcome_col`` (0/1) and ``time_col`` (when the outcome became known), and optionally
    ``group_col`` (rows of one deal at different stages: kept on one side of the split, resampled
    together); only outcomes known by ``as_of`` are used. Time-ordered validation: fit on the earlier ``1 - valid_fraction`` of them
    and score the later slice with both the fitted model and :func:`rule_prior` (AUC, Brier, ECE).

    The rule: keep the rule prior unless the trained model ranks better, beyond chance, on the
    leads it would score. Without a ``backtest`` the only evidence is the validation slice: the
    model's AUC there must beat the prior's beyond chance, i.e. the 5% paired-bootstrap bound of the
    gain must be positive (:func:`auc_gain_lower_bound`). A few dozen validation outcomes let a worse
    model win by luck -- on a 2,000-account sample a model "won" 0.654 to 0.629 on 130 outcomes and
    then ranked the real leads worse than the prior. So fewer than ``min_outcomes`` outcomes, one
    class only, a validation slice without both classes, or a model not shown to rank better -> the
    prior. When the model wins it is refit on all known outcomes (sigmoid calibration below 1,000
    rows, where isotonic overfits, isotonic above). ``choice`` says which and why.

    With a ``backtest`` (one or several earlier days) the beyond-chance test is asked there, of the
    population scored, and the slice must only not be lost (model AUC above the prior's): for each
    day, refit on the outcomes known by its ``as_of`` only, the model scores that day's open leads;
    pooled over the days, it must rank them by their later wins better than the prior (same
    bootstrap bound, a lead's account resampled as a whole across days). The closed-deal slice is a
    different population, with a few hundred deals where the backtest has thousands of lead-days;
    asking both for a 5% bound rejected, on the 5,000-account sample, a model ahead on both
    (slice 0.735 vs 0.698, bound -0.003). A day with too few outcomes known by then to refit is
    left out (and named); with none left, the prior is kept: a model never shown to rank open leads
    better does not replace it. On the sample workspace the closed-deal slice alone once picked a
    model that ranked the real open leads worse (0.635 vs 0.692); the pooled backtest rejects that
    model (0.603 vs 0.666, bound -0.121).

    ``features`` are the model's inputs (default: all of :data:`FEATURES`). With ``on_prior`` the
    model is fitted on the prior: its inputs are the rule prior's log-odds and ``features`` (the
    lead_scores asset passes :data:`ON_PRIOR_FEATURES`, deal stage), so it learns how far to trust
    the prior and what the features add, and ranks leads equal in ``features`` as the prior does.
    It is validated, backtested and chosen by the same rule; ``feature_names`` then lists the
    prior's four features and ``features`` (what :func:`probability` reads).
    """
    employee_range = (float(employee_range[0]), float(employee_range[1]))
    ts = pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    when = pd.to_datetime(history[time_col], errors="coerce", utc=True).dt.tz_localize(None)
    known = history.assign(_when=when)[(when < ts.normalize() + pd.Timedelta(days=1)) & history[outcome_col].notna()]
    known = known.sort_values("_when", kind="stable")
    y_all = known[outcome_col].astype(int).to_numpy()
    n_known = _outcomes(known, group_col)
    prior_version = _version({"kind": "rule_prior", "formula": rule_prior.__doc__, "employee_range": employee_range})

    def prior(why: str, metrics: dict | None = None, prior_metrics: dict | None = None) -> LeadModel:
        return LeadModel(kind="rule_prior", model_version=prior_version, as_of=str(ts.date()), employee_range=employee_range,
                         n_outcomes=n_known, metrics=metrics or {}, prior_metrics=prior_metrics or {}, choice=why,
                         trained_on=known.index.tolist())

    if n_known < min_outcomes or len(np.unique(y_all)) < 2:
        won = _outcomes(known[y_all == 1], group_col)
        return prior(f"rule prior: {n_known} known outcomes ({won} won), "
                     f"fewer than {min_outcomes} or one class only")

    features = list(features)
    X_all = _design(known, features, on_prior, employee_range)
    groups = known[group_col].to_numpy() if group_col in known else None
    cut = int(round(len(known) * (1 - valid_fraction)))
    whens = known["_when"].to_numpy()
    while 0 < cut < len(known) and whens[cut] == whens[cut - 1]:
        cut += 1  # rows known at the same instant (one deal's stages) stay on one side of the split
    y_tr, y_va = y_all[:cut], y_all[cut:]
    if len(np.unique(y_tr)) < 2 or len(np.unique(y_va)) < 2:
        return prior(f"rule prior: the time-ordered split ({cut} train / {len(y_va)} validation) "
                     "leaves a slice with one class, so the model cannot be shown to beat the prior")
    cal = _fit_calibrated(X_all[:cut], y_tr)
    p_model = cal.predict_proba(X_all[cut:])[:, 1]
    p_prior = rule_prior(known.iloc[cut:], employee_range).to_numpy()
    metrics = _metrics(y_va, p_model) | {"n_train": float(cut)}
    prior_metrics = _metrics(y_va, p_prior)
    gain = metrics["auc_gain_p05"] = auc_gain_lower_bound(y_va, p_model, p_prior,
                                                          groups=None if groups is None else groups[cut:])
    versus = (f"model AUC {metrics['auc']:.3f} vs rule prior AUC {prior_metrics['auc']:.3f} "
              f"on the {_outcomes(known.iloc[cut:], group_col)} latest outcomes"
              + (f" ({len(y_va)} deal-stage rows)" if groups is not None else "") + f", 5% bootstrap bound of the gain {gain:+.3f}")
    if not metrics["auc"] > prior_metrics["auc"]:
        return prior(f"rule prior: {versus} (the model must beat the prior)", metrics, prior_metrics)
    if backtest is None and not gain > 0:
        return prior(f"rule prior: {versus} (the model must beat the prior beyond chance)", metrics, prior_metrics)
    if backtest is not None:
        verdict, days = _run_backtest(known, backtest, employee_range, min_outcomes, outcome_col, group_col,
                                      metrics, prior_metrics, features, on_prior)
        if verdict is not None:
            return prior(f"rule prior: {versus}, but {verdict}", metrics, prior_metrics)
        versus += (f"; {days}: AUC {metrics['backtest_auc']:.3f} vs {prior_metrics['backtest_auc']:.3f} "
                   f"on {int(metrics['backtest_n'])} then-open leads, bound {metrics['backtest_gain_p05']:+.3f}")

    cal = _fit_calibrated(X_all, y_all)
    base = _fit_base(X_all, y_all)
    scaler, lr = base.named_steps["standardscaler"], base.named_steps["logisticregression"]
    window = (str(known["_when"].iloc[0].date()), str(known["_when"].iloc[-1].date()))
    coef = lr.coef_[0]
    version = _version({"coef": np.round(coef, 6).tolist(), "intercept": round(float(lr.intercept_[0]), 6),
                        "features": features, "window": window, "n": len(known)}
                       | ({"on_prior": True, "formula": rule_prior.__doc__, "employee_range": employee_range} if on_prior else {}))
    return LeadModel(
        kind="calibrated_logistic", model_version=version, as_of=str(ts.date()), employee_range=employee_range,
        metrics=metrics, prior_metrics=prior_metrics, choice=f"trained model: {versus}",
        feature_names=[*PRIOR_FEATURES, *[f for f in features if f not in PRIOR_FEATURES]] if on_prior else features,
        on_prior=features if on_prior else None, train_window=window, n_outcomes=n_known, trained_on=known.index.tolist(), calibrator=cal,
        mean=scaler.mean_, scale=scaler.scale_, coef=coef, intercept=float(lr.intercept_[0]),
    )


def _outcomes(rows: pd.DataFrame, group_col: str) -> int:
    """Outcomes behind ``rows``: distinct deals when rows carry one (a deal has a row per stage)."""
    return int(rows[group_col].nunique()) if group_col in rows else len(rows)


def _run_backtest(known: pd.DataFrame, backtests: Backtest | Sequence[Backtest], employee_range: tuple[float, float],
                  min_outcomes: int, outcome_col: str, group_col: str, metrics: dict,
                  prior_metrics: dict, features: Sequence[str] = tuple(FEATURES),
                  on_prior: bool = False) -> tuple[str | None, str]:
    """Fill the backtest figures into ``metrics`` / ``prior_metrics`` (pooled, and AUCs per day);
    (why the model fails it or None, the days it was run on in words)."""
    backtests = [backtests] if isinstance(backtests, Backtest) else list(backtests)
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    ran, skipped = [], []
    for bt in backtests:
        then = known[known["_when"] < pd.Timestamp(bt.as_of) + pd.Timedelta(days=1)]
        y_then = then[outcome_col].astype(int).to_numpy()
        y_bt = np.asarray(bt.converted, dtype=int)
        if _outcomes(then, group_col) < min_outcomes or len(np.unique(y_then)) < 2 or len(np.unique(y_bt)) < 2:
            skipped.append(f"{bt.as_of} ({_outcomes(then, group_col)} outcomes known then, "
                           f"{int(y_bt.sum())} of {len(y_bt)} then-open leads won since)")
            continue
        cal = _fit_calibrated(_design(then, features, on_prior, employee_range), y_then)
        p_model = cal.predict_proba(_design(bt.features, features, on_prior, employee_range))[:, 1]
        p_prior = rule_prior(bt.features, employee_range).to_numpy()
        groups = np.asarray(bt.groups if bt.groups is not None else [f"{bt.as_of}/{i}" for i in range(len(y_bt))], dtype=object)
        metrics[f"backtest_{bt.as_of}_auc"] = _metrics(y_bt, p_model)["auc"]
        prior_metrics[f"backtest_{bt.as_of}_auc"] = _metrics(y_bt, p_prior)["auc"]
        pooled.append((y_bt, p_model, p_prior, groups))
        ran.append(str(bt.as_of))
    if not pooled:
        return (f"the backtest cannot be run on any of its days ({'; '.join(skipped)}), "
                "so the model is not shown to rank open leads better"), ""
    y, p_model, p_prior, groups = (np.concatenate(parts) for parts in zip(*pooled))
    metrics.update({f"backtest_{k}": v for k, v in _metrics(y, p_model).items()})
    prior_metrics.update({f"backtest_{k}": v for k, v in _metrics(y, p_prior).items() if k != "n"})
    gain = metrics["backtest_gain_p05"] = auc_gain_lower_bound(y, p_model, p_prior, groups=groups)
    days = f"backtest at {', '.join(ran)}" + (f" (not run at {'; '.join(skipped)})" if skipped else "")
    if not gain > 0:
        return (f"on the {days} the model ranks the {len(y)} then-open leads by their later wins "
                f"at AUC {metrics['backtest_auc']:.3f} vs the prior's {prior_metrics['backtest_auc']:.3f} "
                f"(bound {gain:+.3f}): it must beat the prior there too"), days
    return None, days


def _fit_base(X: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(X, y)


def _fit_calibrated(X: np.ndarray, y: np.ndarray):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = int(max(2, min(5, np.bincount(y).min())))
    method = "isotonic" if len(y) >= 1000 else "sigmoid"
    base = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    return CalibratedClassifierCV(base, method=method, cv=folds).fit(X, y)


def probability(model: LeadModel, features: pd.DataFrame) -> pd.Series:
    """Conversion probability per lead from the day's model: the rule prior or the calibrated model."""
    if model.kind == "rule_prior":
        return rule_prior(features, model.employee_range)
    X = _model_matrix(model, features)
    return pd.Series(model.calibrator.predict_proba(X)[:, 1], index=features.index, name="probability")


def predict(model: LeadModel, features: pd.DataFrame, top_n: int = 3) -> tuple[pd.Series, pd.Series]:
    """(probability, top_factors) per lead. ``top_factors`` is a list of ``{"factor", "effect"}``
    (largest |effect| first): coefficient x standardized value in log-odds for the model, points
    of the rule for the prior."""
    prob = probability(model, features)
    if model.kind == "rule_prior":
        size_ok = _size_ok(features, model.employee_range)
        contrib = np.column_stack([
            50 / 3 * features["industry in ICP"], 50 / 3 * features["region in ICP"], 50 / 3 * size_ok,
            0.5 * features["intent score"].clip(0, 100),
        ]).astype("float64")
        names = np.array(["industry in ICP", "region in ICP", "company size in ICP", "intent score"], dtype=object)
    else:
        X = _model_matrix(model, features)
        contrib = (X - model.mean) / model.scale * model.coef
        names = np.array(model_inputs(model), dtype=object)
    k = min(top_n, contrib.shape[1])
    top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
    vals = np.round(np.take_along_axis(contrib, top, axis=1), 3)
    labels = names[top]
    factors = [[{"factor": f, "effect": float(v)} for f, v in zip(fr, vr)] for fr, vr in zip(labels.tolist(), vals.tolist())]
    return prob.rename("probability"), pd.Series(factors, index=features.index, name="top_factors", dtype=object)


PRIORITY = pd.CategoricalDtype(["Low", "Medium", "High"], ordered=True)  # level 0, 1, 2: sorts Low < High


def priority_level(prob: pd.Series | np.ndarray, icp_fit: pd.Series | np.ndarray,
                   thresholds: Mapping[str, float] | None = None) -> np.ndarray:
    """:func:`assign_priority` as int8 codes of :data:`PRIORITY` (0 Low, 1 Medium, 2 High)."""
    th = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if th["high"] < th["medium"]:
        raise ValueError("thresholds: high must be >= medium")
    p = np.asarray(prob, dtype="float64")
    return ((p >= th["medium"]).astype(np.int8) + ((p >= th["high"]) & np.asarray(icp_fit, dtype=bool))).astype(np.int8)


def assign_priority(
    prob: pd.Series | np.ndarray,
    icp_fit: pd.Series | np.ndarray,
    thresholds: Mapping[str, float] | None = None,
) -> pd.Series:
    """"High" / "Medium" / "Low" by probability thresholds; an account outside the ICP is never
    High (it is capped at Medium, so a hot non-ICP account still gets looked at)."""
    pri = np.array(PRIORITY.categories, dtype=object)[priority_level(prob, icp_fit, thresholds)]  # shared str objects
    index = prob.index if isinstance(prob, pd.Series) else None
    return pd.Series(pri, index=index, name="priority", dtype=object)


def score_accounts(
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    icp: Mapping[str, Any],
    as_of: date | datetime | str,
    *,
    model: LeadModel | None = None,
    weights: Mapping[str, float] | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    cap: float = 100.0,
    thresholds: Mapping[str, float] | None = None,
    explain: bool = True,
) -> pd.DataFrame:
    """An account list scored in bulk, one row per account in its order (index of ``accounts``):
    [domain, icp_fit, intent_score, probability, priority], and with ``explain`` also icp_reasons and
    contributions (the intent points, as :func:`score_intent` lists them). ``priority`` is the ordered
    categorical :data:`PRIORITY` (one byte a row; sorting puts High last), not text.

    The lead_scores asset's steps (icp_filter, score_intent, lead_features, the model,
    assign_priority) for a list of accounts instead of the CRM's contacts -- a target-account list,
    a TAM export. ``signals`` are keyed by account position when they carry an ``account`` column
    (as :func:`signals_from_account_columns` emits: no string join), else by domain. ``model`` is
    the day's :class:`LeadModel`, the rule prior over the ICP's ``employee_range`` when None; the
    prior reads only :data:`PRIOR_FEATURES`, so only those are computed. ``explain=False`` formats
    no text: the path for ranking a million accounts.
    """
    prior = model is None or model.kind == "rule_prior"
    if model is None and icp.get("employee_range") is None:
        raise ValueError("the rule prior needs the ICP's employee_range")
    if model is None and not explain and "account" in signals:
        from revops_assets.scoring import fused  # numba: imported only for this path

        if fused.applies(icp, weights):  # the same figures, from compiled passes over the rows
            return fused.rank_accounts(accounts, signals, icp, as_of, weights, half_life_days, cap, thresholds)
    fit, reasons = icp_filter(accounts, icp, with_reasons=explain)
    keyed = "account" in signals
    scores = score_intent(signals, as_of, weights, half_life_days, cap, with_contributions=explain,
                          domains=accounts["domain"] if keyed else None)
    intent = pd.Series(scores["intent_score"].to_numpy(), index=accounts.index) if keyed else scores
    columns = PRIOR_FEATURES if prior else model.feature_names
    feats = lead_features(accounts, icp, as_of, intent_scores=intent, signals=signals, columns=columns)
    prob = probability(model, feats) if model is not None else rule_prior(feats, tuple(icp["employee_range"]))
    # score_intent keyed by position already made the result its own copy of the domains
    domains = scores["domain"].to_numpy() if keyed else accounts["domain"].to_numpy(dtype=object, copy=True)
    out = {"domain": domains, "icp_fit": fit.to_numpy()}
    if explain:
        out["icp_reasons"] = reasons.to_numpy()
    out["intent_score"] = feats["intent score"].to_numpy()
    if explain:
        by_domain = None if keyed else scores.drop_duplicates("domain").set_index("domain")["contributions"]
        out["contributions"] = (scores["contributions"].to_numpy() if keyed
                                else accounts["domain"].map(by_domain).fillna("[]").to_numpy())
    out["probability"] = prob.to_numpy()
    out["priority"] = pd.Categorical.from_codes(priority_level(prob, fit, thresholds), dtype=PRIORITY, validate=False)
    return pd.DataFrame(out, index=accounts.index, copy=False)  # every column is this call's own array
