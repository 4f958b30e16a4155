"""score_intent keyed by account position (``domains=``) gives the figures of the domain-text path,
and both give the scores of the dense formula they replaced, bit for bit, on generated data with
the awkward cases mixed in: accounts with no signal, duplicate signals, signals after the day, NaN
confidence, unknown and missing types, NaT dates, bad positions, shuffled (not account-major) rows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from revops_assets.scoring.intent_score import (
    DEFAULT_WEIGHTS,
    score_intent,
    signals_from_account_columns,
)

AS_OF = date(2026, 3, 10)
TYPES = list(DEFAULT_WEIGHTS)


def dense_scores(signals: pd.DataFrame, domains: np.ndarray, as_of, weights=None, half_life_days=30.0,
                 cap=100.0) -> np.ndarray:
    """The score formula as it was computed before the cell sums (every (account, type) cell
    summed, then expm1 over all of them and a row sum), keyed by account position: the oracle."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    names = list(weights)
    ts = pd.Timestamp(as_of).normalize()
    pos = signals["account"].to_numpy(dtype="float64", na_value=np.nan)
    t = np.array([names.index(x) if isinstance(x, str) and x in names else -1 for x in signals["type"].astype(object)])
    conf = pd.to_numeric(signals["confidence"], errors="coerce").to_numpy(dtype="float64")
    pub = pd.to_datetime(signals["published"], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view("int64")
    nat = np.iinfo(np.int64).min
    keep = ((pos >= 0) & (pos < len(domains)) & (t >= 0) & ~np.isnan(conf) & (pub != nat)
            & (pub < (ts + pd.Timedelta(days=1)).value))
    d, t = pos[keep].astype(np.int64), t[keep]
    s = np.clip(conf[keep], 0, 1) * np.exp2(-(np.maximum(ts.value - pub[keep], 0) / 86_400e9) / half_life_days)
    with np.errstate(divide="ignore"):
        cells = np.bincount(d * len(names) + t, weights=np.log1p(-s), minlength=len(domains) * len(names))
    total = (-np.expm1(cells).reshape(len(domains), len(names)) * np.array([weights[k] for k in names])).sum(axis=1)
    return np.rint(np.minimum(total, cap) * 100).astype(np.int64) / 100


def awkward_signals(n_accounts: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Long signals over ``n_accounts`` accounts (a third with none), account-major, with
    duplicates, future dates, NaN confidence, unknown/missing types, NaT and saturating signals."""
    rng = np.random.default_rng(seed)
    domains = np.array([f"acct{i}.example" for i in range(n_accounts)], dtype=object)
    with_signals = np.flatnonzero(rng.random(n_accounts) < 0.67)
    per = rng.integers(1, 7, len(with_signals))
    acc = np.repeat(with_signals, per)
    n = len(acc)
    kind = rng.choice(TYPES + ["podcast"], n, p=[0.2, 0.2, 0.15, 0.15, 0.25, 0.05]).astype(object)
    kind[rng.random(n) < 0.02] = None
    conf = rng.choice([0.0, 0.3, 0.7, 1.0, 1.4, -0.2], n) * rng.random(n) ** 0.2
    conf[rng.random(n) < 0.05] = np.nan
    conf[rng.random(n) < 0.05] = 1.0
    days = rng.uniform(-20, 400, n)  # negative: published after the day
    days[rng.random(n) < 0.05] = 0.0
    published = pd.Timestamp(AS_OF) - pd.to_timedelta(days, unit="D")
    published = published.where(rng.random(n) >= 0.02)  # NaT
    sig = pd.DataFrame({"domain": domains[acc], "type": kind, "confidence": conf, "published": published,
                        "evidence_url": [f"https://news.example/{i}" for i in range(n)], "evidence": "headline",
                        "account": acc})
    dup = sig.iloc[rng.choice(n, n // 10, replace=False)]
    sig = pd.concat([sig, dup]).sort_values("account", kind="stable").reset_index(drop=True)  # duplicates adjacent
    return sig, domains


def by_domain_text(signals: pd.DataFrame, domains: np.ndarray, **kw) -> pd.DataFrame:
    out = score_intent(signals, AS_OF, **kw).set_index("domain").reindex(domains)
    return out.assign(intent_score=out["intent_score"].fillna(0.0), contributions=out["contributions"].fillna("[]"))


@pytest.mark.parametrize("order", ["account-major", "by account and type", "shuffled"])
@pytest.mark.parametrize("cap", [100.0, 45.0])
def test_account_positions_match_domain_text_and_the_dense_formula(order: str, cap: float) -> None:
    sig, domains = awkward_signals(3000, seed=11)
    if order == "by account and type":  # each (account, type) cell one run: summed run by run
        rank = sig["type"].map({k: i for i, k in enumerate(TYPES)}).fillna(len(TYPES))
        sig = sig.iloc[np.lexsort([rank.to_numpy(), sig["account"].to_numpy()])].reset_index(drop=True)
    elif order == "shuffled":
        sig = sig.sample(frac=1.0, random_state=3).reset_index(drop=True)
    by_pos = score_intent(sig, AS_OF, cap=cap, domains=pd.Series(domains))
    by_text = by_domain_text(sig, domains, cap=cap)
    assert by_pos["domain"].tolist() == domains.tolist()
    assert np.array_equal(by_pos["intent_score"].to_numpy(), by_text["intent_score"].to_numpy())
    assert by_pos["contributions"].tolist() == by_text["contributions"].tolist()
    assert np.array_equal(by_pos["intent_score"].to_numpy(), dense_scores(sig, domains, AS_OF, cap=cap))
    fast = score_intent(sig, AS_OF, cap=cap, domains=domains, with_contributions=False)
    assert np.array_equal(fast["intent_score"].to_numpy(), by_pos["intent_score"].to_numpy())
    assert fast["contributions"].isna().all()
    # the awkward cases really are in there, and accounts without a signal score 0 with no items
    assert sig["type"].isna().any() and (sig["type"] == "podcast").any() and sig["confidence"].isna().any()
    assert sig["published"].isna().any() and (sig["published"] > pd.Timestamp(AS_OF) + pd.Timedelta(days=1)).any()
    none = ~np.isin(np.arange(len(domains)), sig["account"])
    assert none.sum() > 500
    assert (by_pos["intent_score"].to_numpy()[none] == 0).all() and (by_pos["contributions"].to_numpy()[none] == "[]").all()
    assert (by_pos["intent_score"] == cap).any() if cap < 100 else (by_pos["intent_score"] > 0).any()


def test_categorical_and_text_types_and_custom_weights_agree() -> None:
    sig, domains = awkward_signals(800, seed=5)
    weights = {"hiring": 40.0, "funding": 10.0, "website_activity": 5.0}  # order differs, two types unknown here
    text = score_intent(sig, AS_OF, weights=weights, half_life_days=12.0, domains=domains)
    cat = score_intent(sig.assign(type=sig["type"].astype("category")), AS_OF, weights=weights, half_life_days=12.0,
                       domains=domains)
    assert text.equals(cat)
    assert np.array_equal(text["intent_score"].to_numpy(),
                          dense_scores(sig, domains, AS_OF, weights=weights, half_life_days=12.0))


def test_bad_positions_are_ignored_and_duplicate_domains_each_get_a_row() -> None:
    sig = pd.DataFrame({"domain": None, "type": "funding", "confidence": 1.0,
                        "published": pd.Timestamp(AS_OF), "evidence_url": None, "evidence": None,
                        "account": pd.array([0, 1, None, -1, 3, 7], dtype="Int64")})
    out = score_intent(sig, AS_OF, domains=["a.com", "b.com", "a.com"])
    assert out["domain"].tolist() == ["a.com", "b.com", "a.com"]
    assert out["intent_score"].tolist() == [30.0, 30.0, 0.0]
    assert out["contributions"].tolist()[2] == "[]"
    as_float = score_intent(sig.assign(account=[0.0, 1.0, np.nan, -1.0, 3.0, 0.5]), AS_OF, domains=["a.com", "b.com", "a.com"])
    assert as_float["intent_score"].tolist() == [30.0, 30.0, 0.0]  # 0.5 is no position


def test_result_does_not_share_the_callers_domains() -> None:
    domains = pd.Series(["a.com", "b.com"], dtype=object)
    sig = pd.DataFrame({"type": ["hiring"], "confidence": [0.5], "published": [pd.Timestamp(AS_OF)], "account": [1]})
    out = score_intent(sig, AS_OF, domains=domains)
    out.loc[0, "domain"] = "changed.com"
    assert domains.tolist() == ["a.com", "b.com"]
    assert out["intent_score"].tolist() == [0.0, 12.5] and out["contributions"].tolist()[0] == "[]"


def test_wide_frame_adapter_keys_positions_and_matches_domain_text() -> None:
    from revops_assets.sample.generator import accounts_frame

    acc = accounts_frame(5000, 42)
    sig = signals_from_account_columns(acc, AS_OF)
    assert (acc["domain"].to_numpy()[sig["account"].to_numpy()] == sig["domain"].to_numpy()).all()
    by_pos = score_intent(sig, AS_OF, domains=acc["domain"])
    by_text = by_domain_text(sig, acc["domain"].to_numpy())
    assert np.array_equal(by_pos["intent_score"].to_numpy(), by_text["intent_score"].to_numpy())
    assert by_pos["contributions"].tolist() == by_text["contributions"].tolist()
    assert np.array_equal(by_pos["intent_score"].to_numpy(), dense_scores(sig, acc["domain"].to_numpy(), AS_OF))
