"""The ranking path of :func:`lead_model.score_accounts` as compiled passes over the rows (numba).

Why: ranking a million accounts by the rule prior (a TAM export, a bought list) needs no
explanation text, and the numpy path still walks the data in dozens of whole-array passes (each
~1.5 ms per million values). Here two passes over the signals give every account's intent score
and one pass over the accounts gives ICP fit, probability and priority, with the same arithmetic in
the same order as ``icp_filter`` -> ``score_intent`` -> ``rule_prior`` -> ``assign_priority``: the
outputs are equal to the last bit (tests/test_fused.py holds them to it). The decay itself is one
numpy ``np.exp2`` between them: the very function ``score_intent`` uses (libm's differs in the last
bit), and the fastest here. Separate passes beat one fused loop: the account pass then has no
data-dependent branch.

Used only when it can be exact and fast: ``explain=False``, the rule prior (no trained model),
signals keyed by account position, finite weights and ``0 <= employee_range[0] <= [1]``; anything
else takes the numpy path. numba is imported here, and this module only when that path runs, so
loading the Dagster definitions never pays for it; kernels are compiled once and cached on disk.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

import numba
import numpy as np
import pandas as pd

from revops_assets.scoring.intent_score import DEFAULT_WEIGHTS, _as_of_ts, _naive_ns, _positions, _type_codes
from revops_assets.scoring.lead_model import DEFAULT_THRESHOLDS, PRIORITY, _column, _membership, icp_filter

_NAT = np.iinfo(np.int64).min


@numba.njit(cache=True, nogil=True)
def _decay_exponents(pos, typ, conf, pub, n, n_types, cutoff_ns, as_of_ns, half_life, out):  # pragma: no cover - compiled
    """Per signal, the exponent of its decay (``-age_days / half_life``) into ``out``, -inf where the
    signal does not count (bad position or type, no confidence, no date, published after the day);
    returns whether the positions are non-decreasing (account-major, the adapters' output)."""
    ordered = True
    for j in range(pos.shape[0]):
        p = pos[j]
        if j and p < pos[j - 1]:
            ordered = False
        t = typ[j]
        c = conf[j]
        pb = pub[j]
        if p >= 0 and p < n and t >= 0 and t < n_types and c == c and pb != _NAT and pb < cutoff_ns:
            age = as_of_ns - pb
            if age < 0:
                age = 0
            out[j] = -(age / 86_400e9) / half_life
        else:
            out[j] = -np.inf
    return ordered


@numba.njit(cache=True, nogil=True)
def _intent_scores(pos, typ, conf, decay, w, cap, score):  # pragma: no cover - compiled
    """Noisy-or per (account, type) as the product of (1 - s) in row order, points added in type
    order, capped and rounded to the cent: ``score_intent``'s arithmetic, rows grouped by account."""
    n_types = w.shape[0]
    missing = np.ones(n_types)
    p = pos[0] if pos.shape[0] else -1
    for j in range(pos.shape[0] + 1):
        q = pos[j] if j < pos.shape[0] else -2
        if q != p:
            total = 0.0
            for t in range(n_types):
                total += (1.0 - missing[t]) * w[t]  # an empty type adds +0.0: the sum is unchanged
                missing[t] = 1.0
            if p >= 0 and p < score.shape[0]:
                score[p] = np.int64(np.rint(min(total, cap) * 100)) / 100
            p = q
        if j < pos.shape[0] and decay[j] > 0.0:  # an underflowed decay (factor 1.0) changes nothing either
            missing[typ[j]] *= 1.0 - min(max(conf[j], 0.0), 1.0) * decay[j]


@numba.njit(cache=True, nogil=True)
def _accounts(score, ind_in, ind_code, use_ind, reg_in, reg_code, use_reg, emp, use_min, emp_min, use_max, emp_max,
              lo, hi, fit_given, th_high, th_medium, fit, prob, level):  # pragma: no cover - compiled
    """ICP fit (unless given), the rule prior and the priority level (0 Low, 1 Medium, 2 High)."""
    any_ind, any_reg, any_min, any_max = not use_ind, not use_reg, not use_min, not use_max  # criterion absent
    for k in range(score.shape[0]):
        a = ind_in[ind_code[k]]  # code -1 (unknown) reads the table's last entry, False
        b = reg_in[reg_code[k]]
        e = emp[k]
        if fit_given:
            f = fit[k]
        else:  # bitwise, not and/or: no branch per row
            f = (a | any_ind) & (b | any_reg) & ((e >= emp_min) | any_min) & ((e <= emp_max) | any_max)
            fit[k] = f
        e0 = 0.0 if e != e else max(e, 0.0)  # lead_features: log1p(max(emp, 0)), unknown -> 0
        size = (e0 >= lo) & (e0 <= hi)
        share = (np.float64(a) + np.float64(b) + np.float64(size)) / 3
        lead = 50 * share + 0.5 * min(max(score[k], 0.0), 100.0)
        pr = 0.02 + 0.48 * lead / 100
        prob[k] = pr
        level[k] = np.int8(pr >= th_medium) + np.int8((pr >= th_high) & f)


def applies(icp: Mapping[str, Any], weights: Mapping[str, float] | None) -> bool:
    """Whether the compiled path is exact for this ICP and these weights (None: the defaults)."""
    rng = icp.get("employee_range")
    return (rng is not None and 0 <= rng[0] <= rng[1]
            and bool(np.isfinite(list((DEFAULT_WEIGHTS if weights is None else weights).values())).all()))


def rank_accounts(accounts: pd.DataFrame, signals: pd.DataFrame, icp: Mapping[str, Any], as_of: date | datetime | str,
                  weights: Mapping[str, float] | None, half_life_days: float, cap: float,
                  thresholds: Mapping[str, float] | None) -> pd.DataFrame:
    """[domain, icp_fit, intent_score, probability, priority] under the rule prior, as
    ``score_accounts(explain=False)``; ``signals`` keyed by ``account`` position."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    thresholds = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    if thresholds["high"] < thresholds["medium"]:
        raise ValueError("thresholds: high must be >= medium")
    n = len(accounts)
    type_names = list(weights)
    w = np.asarray([weights[k] for k in type_names], dtype="float64")
    account = signals["account"]
    if account.dtype == np.int64:
        pos = account.to_numpy()  # range-checked in the kernel
    else:
        pos = _positions(account, n)
    typ = _type_codes(signals["type"], type_names)
    conf = pd.to_numeric(signals["confidence"], errors="coerce").to_numpy(dtype="float64")
    pub = _naive_ns(signals["published"])
    day = _as_of_ts(as_of).normalize()
    decay = np.empty(len(pos))
    ordered = _decay_exponents(pos, typ, conf, pub, n, len(w), (day + pd.Timedelta(days=1)).value, day.value,
                               float(half_life_days), decay)
    np.exp2(decay, out=decay)
    if not ordered:  # group each account's signals, keeping their order (the products' order)
        order = np.argsort(pos, kind="stable")
        pos, typ, conf, decay = pos[order], typ[order], conf[order], decay[order]
    score = np.zeros(n)
    _intent_scores(pos, typ, conf, decay, w, float(cap), score)

    icp = dict(icp)
    lo, hi = (float(v) for v in icp["employee_range"])
    emp_min = icp.get("employee_min", lo)
    emp_max = icp.get("employee_max", hi)
    ind_in, ind_code, _ = _membership(_column(accounts, "industry", pd.NA), icp.get("industries") or [])
    reg_in, reg_code, _ = _membership(_column(accounts, "region", pd.NA), icp.get("regions") or [])
    emp = pd.to_numeric(_column(accounts, "employee_count", np.nan), errors="coerce").to_numpy(dtype="float64")
    # title criteria judge people (icp_filter's text rules): computed there, the rest here
    by_title = bool(icp.get("titles") or icp.get("seniority")) and "title" in accounts
    fit = icp_filter(accounts, icp, with_reasons=False)[0].to_numpy() if by_title else np.empty(n, dtype=bool)
    prob = np.empty(n)
    level = np.empty(n, dtype=np.int8)
    _accounts(score, ind_in, ind_code, bool(icp.get("industries")), reg_in, reg_code, bool(icp.get("regions")), emp,
              emp_min is not None, float(emp_min or 0), emp_max is not None, float(emp_max or 0), lo, hi, by_title,
              float(thresholds["high"]), float(thresholds["medium"]), fit, prob, level)
    idx = accounts.index
    return pd.DataFrame({
        "domain": pd.Series(accounts["domain"].to_numpy(dtype=object, copy=True), index=idx, dtype=object, copy=False),
        "icp_fit": fit, "intent_score": score, "probability": prob,
        "priority": pd.Categorical.from_codes(level, dtype=PRIORITY, validate=False),
    }, index=idx, copy=False)
