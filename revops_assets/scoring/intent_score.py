"""Point-in-time intent score per account: decayed, weighted, capped, and fully explained.

score(domain) = min(cap, sum over types T of  weight[T] * (1 - prod_i (1 - s_i)))
with s_i = confidence_i * 0.5 ** (age_days_i / half_life_days) for each signal i of type T published
on or before ``as_of`` (later signals do not exist yet at ``as_of``).

Why "noisy-or" per type (diminishing returns) and not a plain sum: three articles about the same
funding round must not score three rounds, yet a second independent hiring signal should add
*something*. A single signal scores exactly ``weight * s``; a type can never exceed its weight.

Contributions: the signals of a type, strongest first, get their marginal points
``weight * s_k * prod_{j<k} (1 - s_j)``; these add up to the type's points exactly. When the total
exceeds ``cap`` every contribution is scaled by cap/total. Points are reported in hundredths and
rounded with the largest-remainder method, so the listed points sum *exactly* to the reported
(2-decimal) score. Everything is numpy over the whole frame: no per-row Python.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Mapping

import numpy as np
import pandas as pd

DEFAULT_WEIGHTS: dict[str, float] = {
    "funding": 30.0,
    "hiring": 25.0,
    "leadership_change": 20.0,
    "product_launch": 15.0,
    "website_activity": 10.0,
}
DEFAULT_HALF_LIFE_DAYS = 30.0

SIGNAL_COLUMNS = ["domain", "type", "confidence", "published", "evidence_url", "evidence"]
SCORE_COLUMNS = ["domain", "intent_score", "contributions"]

# Page heat for website visits: buying pages ("hot") weigh most, careers pages (job seekers) nothing.
PAGE_HEAT: list[tuple[str, float]] = [
    (r"/(?:careers?|jobs?)(?:/|$|\?|#)", 0.0),
    (r"/(?:pricing|plans|demo|book-a-demo|request-(?:a-)?demo|contact-sales|talk-to-sales|quote|trial|free-trial|signup|sign-up|get-started|buy)(?:/|$|\?|#|-)", 0.6),
    (r"/(?:product|products|features|solutions|integrations|customers|case-stud\w*|compare|vs|security|platform|roi)(?:/|$|\?|#|-)", 0.3),
]
OTHER_PAGE_HEAT = 0.1


def _as_of_ts(as_of: date | datetime | str) -> pd.Timestamp:
    return pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)


def _naive_ns(published: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_dtype(published.dtype):  # already naive datetime64: no conversion
        return published.to_numpy(dtype="datetime64[ns]").view("int64")
    s = pd.to_datetime(published, errors="coerce", utc=True).dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]").astype("int64")


def page_heat(urls: pd.Series) -> pd.Series:
    """Confidence of one visit by how close its page is to buying (first matching rule wins)."""
    u = urls.fillna("").astype(str).str.lower()
    heat = pd.Series(OTHER_PAGE_HEAT, index=u.index, dtype="float64")
    decided = pd.Series(False, index=u.index)
    for pattern, value in PAGE_HEAT:
        hit = u.str.contains(pattern, regex=True) & ~decided
        heat[hit] = value
        decided |= hit
    return heat


def visits_to_signals(visits: pd.DataFrame) -> pd.DataFrame:
    """RB2B-style visits [domain, url, seen_at] -> ``website_activity`` signals, confidence = page heat.

    Each visit is its own signal; the noisy-or in :func:`score_intent` gives repeat visits
    diminishing returns. Zero-heat (careers) visits are dropped.
    """
    out = pd.DataFrame(
        {
            "domain": visits["domain"].to_numpy(),
            "type": "website_activity",
            "confidence": page_heat(visits["url"]).to_numpy(),
            "published": pd.to_datetime(visits["seen_at"], errors="coerce", utc=True).dt.tz_localize(None).to_numpy(),
            "evidence_url": visits["url"].to_numpy(),
            "evidence": "visited " + visits["url"].fillna("").astype(str).to_numpy(),
        }
    )
    return out[out["confidence"] > 0].reset_index(drop=True)


def signals_from_account_columns(accounts: pd.DataFrame, as_of: date | datetime | str) -> pd.DataFrame:
    """Adapter for wide account frames (the sample generator's): ``<type>_days_ago`` columns
    (NaN = no such signal) and ``visits_30d`` / ``pricing_visits_30d`` counts -> long signals.

    Visit counts become one ``website_activity`` signal each for pricing and other pages, with
    confidence ``1 - (1 - heat) ** n`` (the noisy-or of n visits) dated 15 days before ``as_of``.
    Rows come account by account (in the frame's order), so one account's signals are adjacent,
    which :func:`score_intent` turns into fewer string hashes; the extra ``account`` column (the
    row's position in ``accounts``) lets it skip hashing domains altogether (its ``domains``).
    """
    ts = _as_of_ts(as_of)
    n = len(accounts)
    type_names = list(DEFAULT_WEIGHTS)
    zero = pd.Series(0, index=accounts.index)
    conf_cols, day_cols, codes = [], [], []
    for kind, col in (("funding", "funding_days_ago"), ("hiring", "hiring_days_ago"),
                      ("leadership_change", "leadership_days_ago"), ("product_launch", "launch_days_ago")):
        if col not in accounts:
            continue
        days = pd.to_numeric(accounts[col], errors="coerce").to_numpy(dtype="float64")
        conf_cols.append(np.where(np.isnan(days), np.nan, 1.0))
        day_cols.append(days)
        codes.append(type_names.index(kind))
    pricing = pd.to_numeric(accounts.get("pricing_visits_30d", zero), errors="coerce").fillna(0)
    other_n = (pd.to_numeric(accounts.get("visits_30d", zero), errors="coerce").fillna(0) - pricing).clip(lower=0).to_numpy()
    for heat, visits in ((PAGE_HEAT[1][1], pricing.to_numpy()), (OTHER_PAGE_HEAT, other_n)):
        conf_cols.append(_noisy_or_of_visits(heat, visits))
        day_cols.append(np.full(n, 15.0))
        codes.append(type_names.index("website_activity"))
    # (account, signal slot) matrices read row-major: account-major order, slot order within an account
    conf_all = np.column_stack(conf_cols).ravel()
    pos = np.flatnonzero(conf_all > 0)  # NaN (no event) and zero-visit slots drop out
    row, slot = np.divmod(pos, len(conf_cols))
    published = ts.value - _days_to_ns(np.column_stack(day_cols).ravel()[pos])
    return pd.DataFrame({
        "domain": accounts["domain"].to_numpy()[row],
        "type": pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8)[slot], categories=type_names),
        "confidence": conf_all[pos],
        "published": published.view("datetime64[ns]"),
        "evidence_url": np.full(len(pos), None, dtype=object),
        "evidence": np.full(len(pos), None, dtype=object),
        "account": row,  # position in ``accounts``: score_intent(..., domains=accounts["domain"]) needs no string join
    })


def _noisy_or_of_visits(heat: float, visits: np.ndarray) -> np.ndarray:
    """``1 - (1 - heat) ** visits``; small whole counts (the usual case) by table lookup, the same
    floats as the power without a ``pow`` call per account."""
    top = int(visits.max()) if len(visits) else 0
    if visits.dtype.kind in "iu" and visits.min(initial=0) >= 0 and top <= 100_000:
        return (1 - (1 - heat) ** np.arange(top + 1, dtype=visits.dtype))[visits]
    return np.asarray(1 - (1 - heat) ** visits, dtype="float64")


def _days_to_ns(days: np.ndarray) -> np.ndarray:
    """Float days -> int64 ns exactly as ``pd.to_timedelta(days, unit="D")`` rounds them."""
    base = days.astype(np.int64)
    return base * 86_400_000_000_000 + (np.round(days - base, 13) * 86_400_000_000_000).astype(np.int64)


def _positions(account: pd.Series, n: int) -> np.ndarray:
    """Account positions as int64, anything not in ``0..n-1`` (NA, negative, too large) -> -1."""
    if pd.api.types.is_integer_dtype(account.dtype) and not isinstance(account.dtype, pd.api.extensions.ExtensionDtype):
        pos = account.to_numpy().astype(np.int64, copy=False)
    else:
        num = pd.to_numeric(account, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        pos = np.where(np.isfinite(num) & (num == np.floor(num)), num, -1).astype(np.int64)
    return np.where((pos >= 0) & (pos < n), pos, -1)


def _cell_products(g: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(product of ``values`` per occupied cell, the row of each cell's first value), cells ascending,
    for cell ids ``g``; each product multiplies its rows in row order, as a per-row loop would.
    Account-major input (``g`` non-decreasing, the adapters' output) is taken as it stands, otherwise
    the rows are first put in cell order by a stable sort. A cell with one value (nearly all of them)
    is that value, a cell with two is one vectorized multiply: only larger cells are reduced."""
    order = None
    if len(g) and not (g[1:] >= g[:-1]).all():
        order = np.argsort(g, kind="stable")
        g, values = g[order], values[order]
    head = np.empty(len(g), dtype=bool)
    head[:1] = True
    np.not_equal(g[1:], g[:-1], out=head[1:])
    starts = np.flatnonzero(head)
    size = np.diff(starts, append=len(g))
    second = np.where(size > 1, values[np.minimum(starts + 1, len(g) - 1)], 1.0)  # x * 1.0 is x exactly
    products = values[starts] * second
    big = size > 2
    if big.any():
        rows = np.flatnonzero(np.repeat(big, size))
        products[big] = np.multiply.reduceat(values[rows], np.flatnonzero(head[rows]))
    return products, (starts if order is None else order[starts])


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Index of the first row of each run of equal ``keys`` (keys sorted), broadcast to every row."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    new[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(new, np.arange(len(keys)), 0))


def _factorize_runs(values: pd.Series) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    """``pd.factorize`` (first-appearance order, NA -> -1) that hashes only the first value of each
    run of equal neighbours: signals listed account by account repeat their domain, and hashing
    a million strings is the costliest step of bulk scoring."""
    if values.dtype != object or len(values) < 2:
        return pd.factorize(values, use_na_sentinel=True)
    v = values.to_numpy()
    try:
        head = np.empty(len(v), dtype=bool)
        head[0] = True
        head[1:] = v[1:] != v[:-1]  # NaN != NaN: each NA is its own run, as in factorize
    except (TypeError, ValueError):  # pd.NA and friends do not compare to a bool
        return pd.factorize(values, use_na_sentinel=True)
    if head.all():
        return pd.factorize(v, use_na_sentinel=True)
    codes, uniques = pd.factorize(v[head], use_na_sentinel=True)
    return codes[np.cumsum(head) - 1], uniques


def _sort_within_groups(rows: np.ndarray, group: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """``rows`` (their ``group`` values non-decreasing) reordered within each group by ``keys``
    (primary first, ascending, ties keep the given order): what ``np.lexsort`` would give, but
    two-row groups -- nearly all of them -- are ordered by one vectorized comparison and only
    larger groups are sorted."""
    g = group[rows]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    size = np.diff(np.r_[starts, len(rows)])
    out = rows.copy()
    a_pos = starts[size == 2]
    a, b = rows[a_pos], rows[a_pos + 1]
    swap, tied = np.zeros(len(a), dtype=bool), np.ones(len(a), dtype=bool)
    for k in keys:
        swap |= tied & (k[b] < k[a])
        tied &= k[b] == k[a]
    out[a_pos[swap]], out[a_pos[swap] + 1] = b[swap], a[swap]
    big = np.flatnonzero(np.repeat(size > 2, size))
    if big.size:
        sub = rows[big]
        out[big] = sub[np.lexsort([k[sub] for k in reversed(keys)] + [group[sub]])]
    return out


def _type_codes(types: pd.Series, type_names: list[str]) -> np.ndarray:
    """Each signal's type as its position in ``type_names`` (the weights' order); unknown and NA -> -1."""
    if isinstance(types.dtype, pd.CategoricalDtype):  # the adapters' output: no hashing
        t_codes, t_uniques = types.cat.codes.to_numpy(), types.cat.categories
    else:
        t_codes, t_uniques = pd.factorize(types, use_na_sentinel=True)
    remap = np.array([type_names.index(u) if u in type_names else -1 for u in t_uniques] + [-1], dtype=np.int64)
    if np.array_equal(remap[:-1], np.arange(len(t_uniques))):
        return t_codes  # already in the weights' order (the adapters' categories): no gather; NA stays -1
    return remap[t_codes]


def score_intent(
    signals: pd.DataFrame,
    as_of: date | datetime | str,
    weights: Mapping[str, float] | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    cap: float = 100.0,
    with_contributions: bool = True,
    domains: pd.Series | np.ndarray | list | None = None,
) -> pd.DataFrame:
    """Intent score per domain as of ``as_of`` -> DataFrame[domain, intent_score, contributions].

    ``signals``: [domain, type, confidence, published (datetime64), evidence_url, evidence].
    Every domain present in ``signals`` gets a row (0.0 and ``"[]"`` when nothing counts yet).
    ``contributions`` is a JSON list of {type, points, evidence_url, published (ISO date)}, strongest
    first; ``with_contributions=False`` skips building it (column of ``None``) for bulk scoring.
    Unknown types, missing confidence and signals published after ``as_of`` are ignored.

    ``domains`` (e.g. ``accounts["domain"]``) keys signals by account position instead of domain
    text: ``signals["account"]`` is each signal's position in ``domains`` (as
    :func:`signals_from_account_columns` emits it; NA or out of range is ignored, ``signals["domain"]``
    is not read), and the result has one row per entry of ``domains``, in its order, accounts with no
    signal at 0.0 / ``"[]"``. Same figures as the domain path, without hashing a string per signal
    (the costliest step of bulk scoring).
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    ts = _as_of_ts(as_of)
    cutoff_ns = (ts.normalize() + pd.Timedelta(days=1)).value  # everything published on as_of counts
    as_of_ns = ts.normalize().value

    if domains is None:
        dom_codes, dom_uniques = _factorize_runs(signals["domain"])
    else:
        dom_uniques = np.array(domains, dtype=object)  # a copy: the result must not share the caller's
        dom_codes = _positions(signals["account"], len(dom_uniques))
    n_dom = len(dom_uniques)
    type_names = list(weights)
    n_types = len(type_names)
    type_codes = _type_codes(signals["type"], type_names)
    conf = pd.to_numeric(signals["confidence"], errors="coerce").to_numpy(dtype="float64")
    pub_ns = _naive_ns(signals["published"])
    nat = np.iinfo(np.int64).min
    keep = (dom_codes >= 0) & (type_codes >= 0) & ~np.isnan(conf) & (pub_ns != nat) & (pub_ns < cutoff_ns)
    idx = np.flatnonzero(keep)
    every = len(idx) == len(keep)  # the usual bulk case: no gathers

    d = dom_codes.astype(np.int64, copy=False) if every else dom_codes[idx].astype(np.int64)
    t = type_codes if every else type_codes[idx]
    age_days = np.maximum(as_of_ns - (pub_ns if every else pub_ns[idx]), 0) / 86_400e9
    s = np.clip(conf if every else conf[idx], 0.0, 1.0) * np.exp2(-age_days / half_life_days)
    w_type = np.asarray([weights[k] for k in type_names], dtype="float64")

    # a type's points: weight * (1 - prod(1 - s)) per (domain, type) cell, the product taken in row
    # order (the per-row loop's own arithmetic: no log/exp round trip). Only cells holding a signal
    # are turned into points, added up per domain in type order.
    g = d * n_types + t
    kept, first = _cell_products(g, 1.0 - s)
    # (float even when no signal counts: bincount of nothing is int64 whatever its weights)
    total = np.bincount(d[first], weights=(1.0 - kept) * w_type[t[first]], minlength=n_dom).astype(np.float64, copy=False)
    capped = np.minimum(total, cap)
    score_cents = np.rint(capped * 100).astype(np.int64)

    if not with_contributions:
        return pd.DataFrame({"domain": dom_uniques, "intent_score": score_cents / 100,
                             "contributions": np.full(n_dom, None, dtype=object)}, copy=False)
    out = pd.DataFrame({"domain": dom_uniques, "intent_score": score_cents / 100}, copy=False)

    # marginal noisy-or points, strongest first within (domain, type): w * s_k * prod_{j<k} (1 - s_j);
    # a signal alone in its group (the usual case) gets w * s, so only shared groups are sorted
    points = w_type[t] * s
    shared = np.flatnonzero(np.bincount(g, minlength=n_dom * n_types)[g] > 1)
    if shared.size:
        sub = shared[np.lexsort((-s[shared], g[shared]))]
        lk = np.log1p(-np.minimum(s[sub], 1 - 1e-12))
        csum = np.cumsum(lk)
        grp = _group_starts(g[sub])
        points[sub] *= np.exp(csum - lk - (csum[grp] - lk[grp]))  # sum over stronger rows of the group

    # largest-remainder rounding so contributions sum exactly to the rounded score; ties go to the
    # earlier type, then the stronger signal
    factor = np.divide(capped, total, out=np.ones_like(total), where=total > 0)
    cents = points * factor[d] * 100
    floor = np.floor(cents).astype(np.int64)
    deficit = score_cents - np.bincount(d, weights=floor, minlength=n_dom).astype(np.int64)
    n_items = np.bincount(d, minlength=n_dom)
    final = floor + (deficit[d] >= n_items[d])  # every item of the domain gets a cent (or none needs one)
    partial = np.flatnonzero((deficit[d] > 0) & (deficit[d] < n_items[d]))
    if partial.size:
        partial = partial[np.argsort(d[partial], kind="stable")]  # already sorted for account-major input
        rem_order = _sort_within_groups(partial, d, [-(cents - floor), t, -s])
        pos = np.arange(len(rem_order)) - _group_starts(d[rem_order])
        final[rem_order] = floor[rem_order] + (pos < deficit[d[rem_order]])

    show = np.flatnonzero(final > 0)
    out["contributions"] = _contribution_json(
        n_dom, d[show], final[show], t[show], s[show], type_names, pub_ns[idx[show]],
        signals["evidence_url"].to_numpy(dtype=object)[idx[show]] if "evidence_url" in signals else None,
    )
    return out


def _first_of_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """Row index of the first occurrence of each code 0..n-1."""
    first = np.empty(n, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


def _contribution_json(n_dom: int, d: np.ndarray, cents: np.ndarray, t: np.ndarray, s: np.ndarray,
                       type_names: list[str], pub_ns: np.ndarray, urls: np.ndarray | None) -> np.ndarray:
    """JSON list per domain, largest points first (ties: type order, then stronger signal), with no
    per-row formatting: an item is a "head" (type, points; "[" baked in for a domain's first item)
    and a "tail" (url, date; "]" baked in for its last); each distinct head, tail and (head, tail)
    pair is formatted once and gathered by code, and a domain's items are joined with one
    ``np.add.reduceat`` (one-item domains, the usual case, need no concatenation at all)."""
    result = np.full(n_dom, "[]", dtype=object)
    if len(d) == 0:
        return result
    order = _sort_within_groups(np.argsort(d, kind="stable"), d, [-cents, t, -s])
    d, cents, t, pub_ns = d[order], cents[order], t[order], pub_ns[order]
    new = np.r_[True, d[1:] != d[:-1]]
    starts = np.flatnonzero(new)
    first = new.astype(np.int64)
    last = np.r_[new[1:], True].astype(np.int64)

    h_codes, h_uniq = pd.factorize((t.astype(np.int64) * (int(cents.max()) + 1) + cents) * 2 + first)
    rep = _first_of_codes(h_codes, len(h_uniq))
    heads = [("[" if f else ", ") + '{"type": ' + json.dumps(type_names[k]) + f', "points": {c // 100}.{c % 100:02d}'
             for k, c, f in zip(t[rep].tolist(), cents[rep].tolist(), first[rep].tolist())]

    if urls is None:
        url_codes, url_uniques = np.full(len(d), -1, dtype=np.int64), []
    else:
        url_codes, url_uniques = pd.factorize(pd.Series(urls[order], dtype=object), use_na_sentinel=True)
    days = pub_ns // 86_400_000_000_000
    day_codes, day_uniq = pd.factorize(days)
    t_codes, t_uniq = pd.factorize(((url_codes.astype(np.int64) + 1) * len(day_uniq) + day_codes) * 2 + last)
    rep = _first_of_codes(t_codes, len(t_uniq))
    url_json = ["null"] + [json.dumps(str(u)) for u in url_uniques]
    day_txt = pd.to_datetime(day_uniq * 86_400_000_000_000).strftime("%Y-%m-%d").tolist()
    tails = [', "evidence_url": ' + url_json[u + 1] + ', "published": "' + day_txt[k] + ('"}]' if z else '"}')
             for u, k, z in zip(url_codes[rep].tolist(), day_codes[rep].tolist(), last[rep].tolist())]

    p_codes, p_uniq = pd.factorize(h_codes.astype(np.int64) * len(tails) + t_codes)
    rep = _first_of_codes(p_codes, len(p_uniq))
    items = np.array([heads[h] + tails[k] for h, k in zip(h_codes[rep].tolist(), t_codes[rep].tolist())], dtype=object)
    size = np.diff(np.r_[starts, len(d)])
    joined = np.empty(len(starts), dtype=object)
    one = size == 1
    joined[one] = items[p_codes[starts[one]]]
    two = np.flatnonzero(size == 2)  # distinct item pairs are far fewer than two-item domains
    pair_codes, pair_uniq = pd.factorize(p_codes[starts[two]] * len(items) + p_codes[starts[two] + 1])
    joined[two] = (items[pair_uniq // len(items)] + items[pair_uniq % len(items)])[pair_codes]
    more = np.flatnonzero(size > 2)
    if more.size:
        rows = np.flatnonzero(np.repeat(size > 2, size))
        joined[more] = np.add.reduceat(items[p_codes[rows]], np.r_[0, np.cumsum(size[more])[:-1]])
    result[d[starts]] = joined
    return result
