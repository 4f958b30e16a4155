"""Thompson sampling over a template's variants, and evidence-only winner/retirement calls.

Choices are reproducible: the RNG for a lead comes from a SHA-256 of (seed, contact_id, sequence_id)
(never Python's salted ``hash``), so re-materializing an asset picks the same variant for the same
lead and bank. A variant the bank has never seen starts at the prior, so it gets explored.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
import pandas as pd

DEFAULT_PRIOR: tuple[float, float] = (1.0, 1.0)


def lead_rng(seed: int | str, contact_id: str, sequence_id: str = "") -> np.random.Generator:
    """A Generator that depends only on (seed, contact, sequence): same inputs, same draws, any process."""
    digest = hashlib.sha256(f"{seed}\x1f{contact_id}\x1f{sequence_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def arm_counts(bank_plays: pd.DataFrame, template: str, variants: Sequence[str], signal: str | None = None,
               persona: str | None = None, segment: str | None = None) -> dict[str, tuple[int, int]]:
    """(n, successes) per variant for this template in this context; ``None`` pools over that key."""
    if not len(bank_plays):
        return {v: (0, 0) for v in variants}
    mask = bank_plays["template"].to_numpy() == template
    for key, value in (("signal", signal), ("persona", persona), ("segment", segment)):
        if value is not None:
            mask &= bank_plays[key].to_numpy() == value
    names = bank_plays["variant"].to_numpy()[mask]
    n = bank_plays["n"].to_numpy()[mask]
    k = bank_plays["successes"].to_numpy()[mask]
    return {v: (int(n[names == v].sum()), int(k[names == v].sum())) for v in variants}


def _posterior_params(counts: dict[str, tuple[int, int]], prior: tuple[float, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    names = sorted(counts)  # order-independent: the caller's list order never changes the choice
    alpha = np.array([prior[0] + counts[v][1] for v in names], dtype=float)
    beta = np.array([prior[1] + counts[v][0] - counts[v][1] for v in names], dtype=float)
    return names, alpha, beta


def thompson_pick(alpha: np.ndarray, beta: np.ndarray, rng: np.random.Generator, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One Beta draw per arm (per send when ``size`` is given); the index of the highest draw wins."""
    draws = rng.beta(alpha, beta) if size is None else rng.beta(alpha, beta, size=(size, len(alpha)))
    return np.argmax(draws, axis=-1), draws


def choose_variant(bank_plays: pd.DataFrame, template: str, signal: str | None, persona: str | None,
                   segment: str | None, variants: list[str], rng: np.random.Generator,
                   prior: tuple[float, float] = DEFAULT_PRIOR) -> tuple[str, dict[str, Any]]:
    """Pick a variant by Thompson sampling; the audit records each posterior and draw (for the briefing/trace)."""
    if not variants:
        raise ValueError("choose_variant needs at least one variant")
    counts = arm_counts(bank_plays, template, sorted(set(variants)), signal, persona, segment)
    names, alpha, beta = _posterior_params(counts, prior)
    index, draws = thompson_pick(alpha, beta, rng)
    chosen = names[int(index)]
    audit = {
        "template": template, "context": {"signal": signal, "persona": persona, "segment": segment},
        "posteriors": {v: {"alpha": float(a), "beta": float(b), "n": counts[v][0], "successes": counts[v][1],
                           "mean": float(a / (a + b))} for v, a, b in zip(names, alpha, beta)},
        "draws": {v: float(d) for v, d in zip(names, draws)},
        "chosen": chosen,
    }
    return chosen, audit


def prob_best(counts: dict[str, tuple[int, int]], draws: int = 20_000, seed: int = 0,
              prior: tuple[float, float] = DEFAULT_PRIOR) -> dict[str, float]:
    """Monte Carlo P(arm has the highest true rate), seeded so the same bank gives the same call."""
    names, alpha, beta = _posterior_params(counts, prior)
    rng = np.random.default_rng(seed)
    best = np.argmax(rng.beta(alpha, beta, size=(draws, len(names))), axis=1)
    share = np.bincount(best, minlength=len(names)) / draws
    return {v: float(p) for v, p in zip(names, share)}


def declare(bank_plays: pd.DataFrame, template: str, signal: str | None = None, persona: str | None = None,
            segment: str | None = None, variants: Sequence[str] | None = None, min_samples: int = 30,
            p_winner: float = 0.95, p_retire: float = 0.01, draws: int = 20_000, seed: int = 0,
            prior: tuple[float, float] = DEFAULT_PRIOR) -> dict[str, Any]:
    """Name a winner / retire arms only on evidence.

    Winner: P(best) >= ``p_winner`` AND every arm has >= ``min_samples`` sends (so a lucky streak on a
    thin arm cannot end the test). Retired: P(best) < ``p_retire`` with >= ``min_samples`` sends.
    ``variants`` defaults to those the bank has seen for the template.
    """
    if variants is None:
        seen = bank_plays[bank_plays["template"] == template] if len(bank_plays) else bank_plays
        variants = sorted(set(seen["variant"])) if len(seen) else []
    variants = sorted(set(variants))
    counts = arm_counts(bank_plays, template, variants, signal, persona, segment)
    result: dict[str, Any] = {"template": template, "winner": None, "retired": [], "p_best": {},
                              "n": {v: counts[v][0] for v in variants},
                              "successes": {v: counts[v][1] for v in variants}}
    if len(variants) < 2:
        result["reason"] = "fewer than two variants: nothing to compare"
        return result
    p = prob_best(counts, draws, seed, prior)
    result["p_best"] = {v: round(p[v], 4) for v in variants}
    thin = [v for v in variants if counts[v][0] < min_samples]
    result["retired"] = [v for v in variants if p[v] < p_retire and counts[v][0] >= min_samples]
    leader = max(variants, key=lambda v: (p[v], v))
    if p[leader] >= p_winner and not thin:
        result["winner"] = leader
        result["reason"] = f"{leader} is best with P={p[leader]:.3f} >= {p_winner} and every arm has >= {min_samples} sends"
    elif thin:
        result["reason"] = (f"not enough evidence: {', '.join(f'{v} ({counts[v][0]} sends)' for v in thin)} "
                            f"below {min_samples} sends; leader {leader} at P(best)={p[leader]:.3f}")
    else:
        result["reason"] = f"no clear winner: leader {leader} at P(best)={p[leader]:.3f} < {p_winner}"
    return result
