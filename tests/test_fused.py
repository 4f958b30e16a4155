"""The compiled ranking path (scoring/fused.py) gives, to the last bit, what the numpy path gives
(``score_accounts`` with explanations, which never takes it) on awkward accounts and signals."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from revops_assets.scoring import fused
from revops_assets.scoring import lead_model as LM
from revops_assets.scoring.intent_score import DEFAULT_WEIGHTS, signals_from_account_columns

AS_OF = date(2024, 6, 1)
ICP = {"industries": ["SaaS", "FinTech"], "employee_range": [50, 2000], "regions": ["North America", "EMEA"]}
THRESHOLDS = {"high": 0.3, "medium": 0.2}


@pytest.fixture
def accounts(target_list):
    """conftest's target list, plus padded names and head counts on the ICP range's edges, on an
    index that does not start at 0."""
    def build(n: int, seed: int) -> pd.DataFrame:
        acc = target_list(n, seed)
        acc["industry"] = acc["industry"].cat.rename_categories({"fintech": " fintech"})
        acc["region"] = acc["region"].replace({"emea": "emea "})
        acc.loc[acc.index[::23], "employee_count"] = 50
        acc.loc[acc.index[::29], "employee_count"] = 2000
        return acc.set_axis(pd.RangeIndex(1000, 1000 + n))
    return build


def _awkward_signals(acc: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The adapter's signals plus what must not count or must count together: positions out of
    range, no confidence, no date, published after the day, unknown type, confidence beyond [0, 1],
    and 3-6 signals of one type on some accounts (products of many factors, in row order)."""
    rng = np.random.default_rng(seed)
    sig = signals_from_account_columns(acc, AS_OF)
    n, m = len(acc), 400
    extra = pd.DataFrame({
        "domain": "x", "account": rng.integers(-3, n + 3, m),
        "type": rng.choice(["funding", "hiring", "website_activity", "merger", None], m),
        "confidence": np.where(rng.random(m) < 0.1, np.nan, rng.uniform(-0.2, 1.3, m)),
        "published": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.uniform(-10, 400, m), unit="D"),
        "evidence_url": None, "evidence": None,
    })
    extra.loc[extra.index[::31], "published"] = pd.NaT
    pile = pd.DataFrame({"domain": "x", "account": np.repeat(rng.integers(0, n, 40), rng.integers(3, 7, 40)), "type": "hiring",
                         "evidence_url": None, "evidence": None})
    pile["confidence"] = rng.uniform(0, 1, len(pile))
    pile["published"] = pd.Timestamp(AS_OF) - pd.to_timedelta(rng.uniform(0, 90, len(pile)), unit="D")
    out = pd.concat([sig.astype({"type": object}), extra, pile], ignore_index=True)
    return out.sort_values("account", kind="stable", ignore_index=True)


def _numpy_path(acc, sig, icp, weights=None, cap=100.0, half_life=30.0) -> pd.DataFrame:
    return LM.score_accounts(acc, sig, icp, AS_OF, weights=weights, half_life_days=half_life, cap=cap,
                             thresholds=THRESHOLDS, explain=True).drop(columns=["icp_reasons", "contributions"])


@pytest.mark.parametrize("shuffled", [False, True])
def test_compiled_ranking_is_the_numpy_path_to_the_bit(shuffled: bool, accounts) -> None:
    acc = accounts(3000, seed=11)
    sig = _awkward_signals(acc, seed=12)
    if shuffled:  # not grouped by account: the compiled path groups them, keeping their order
        sig = sig.sample(frac=1, random_state=3, ignore_index=True)
    weights = {"hiring": 25.0, "funding": 30.0, "website_activity": 10.0, "leadership_change": 20.0, "product_launch": 15.0}
    for w, cap in ((None, 100.0), (weights, 40.0)):
        want = _numpy_path(acc, sig, ICP, w, cap)
        got = fused.rank_accounts(acc, sig, ICP, AS_OF, w, 30.0, cap, THRESHOLDS)
        assert got.equals(want)
        assert (got["intent_score"] > 0).sum() > 1000 and set(got["priority"]) == {"High", "Medium", "Low"}
    assert LM.score_accounts(acc, sig, ICP, AS_OF, thresholds=THRESHOLDS, explain=False).equals(_numpy_path(acc, sig, ICP))


@pytest.mark.parametrize("icp", [
    {"employee_range": [0, 500]},  # no industry or region criterion: nobody fails them, nobody gets their prior share
    {**ICP, "employee_min": None},  # no lower bound on fit (the prior keeps its range)
    {**ICP, "titles": ["vp", "head"]},  # title criteria: fit from icp_filter's text rules
    {**ICP, "seniority": ["vp", "executive"]},
])
def test_compiled_ranking_follows_every_icp_shape(icp: dict, accounts) -> None:
    acc = accounts(1500, seed=21)
    acc["industry"] = acc["industry"].astype(object)  # object column: factorized, not categorical codes
    sig = _awkward_signals(acc, seed=22)
    assert fused.rank_accounts(acc, sig, icp, AS_OF, None, 30.0, 100.0, THRESHOLDS).equals(_numpy_path(acc, sig, icp))
    no_region = acc.drop(columns="region")
    assert fused.rank_accounts(no_region, sig, icp, AS_OF, None, 30.0, 100.0, THRESHOLDS).equals(_numpy_path(no_region, sig, icp))


def test_compiled_ranking_with_no_signal_at_all(accounts) -> None:
    acc = accounts(50, seed=31)
    sig = _awkward_signals(acc, seed=32).iloc[:0]
    got = fused.rank_accounts(acc, sig, ICP, AS_OF, None, 30.0, 100.0, THRESHOLDS)
    assert got.equals(_numpy_path(acc, sig, ICP)) and (got["intent_score"] == 0).all()


def test_compiled_ranking_applies_only_where_it_is_exact(accounts) -> None:
    assert fused.applies(ICP, None) and fused.applies(ICP, DEFAULT_WEIGHTS)
    assert not fused.applies({"industries": ["SaaS"]}, None)  # the prior needs a size range
    assert not fused.applies({"employee_range": [-5, 100]}, None)  # log1p of a negative bound: numpy's business
    assert not fused.applies(ICP, {**DEFAULT_WEIGHTS, "funding": float("inf")})
    with pytest.raises(ValueError, match="half_life_days"):
        fused.rank_accounts(accounts(5, 1), _awkward_signals(accounts(5, 1), 2), ICP, AS_OF, None, 0.0, 100.0, THRESHOLDS)
