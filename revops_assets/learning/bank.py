"""The reasoning bank: what COACH has learned from sent messages and their results.

A *play* is (template, variant, signal, persona, segment). Each play gets a Beta-Binomial posterior
on its success rate; a play is called a winning play or a failure mode only on strong evidence
(enough sends AND a credible interval that clears the pooled baseline or its sibling variants), so
five lucky replies never become doctrine. Everything is sorted and rounded so the same outcomes give
byte-identical JSON (the only date in it is ``as_of``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PLAY_KEYS: tuple[str, ...] = ("template", "variant", "signal", "persona", "segment")
OUTCOME_FLAGS: tuple[str, ...] = ("replied", "positive_reply", "meeting_booked", "won", "bounced", "unsubscribed")
MISSING = "none"  # a play key that was not set (e.g. a message sent without an intent signal)
LOSS_STATUSES = frozenset({"lost", "abandoned"})
WIN_STATUSES = frozenset({"won"})
DECIMALS = 6

PLAY_COLUMNS: tuple[str, ...] = (
    *PLAY_KEYS, "n", "successes", "replies", "meetings", "wins", "bounces", "unsubscribes",
    "alpha", "beta", "mean", "ci_low", "ci_high", "lift", "verdict", "evidence",
)
STALL_COLUMNS: tuple[str, ...] = (
    "stall_pattern", "n", "lost", "won", "loss_rate", "ci_low", "ci_high", "base_loss_rate", "lift", "precedes_loss",
)


def beta_posterior(successes: int, n: int, prior: tuple[float, float] = (1.0, 1.0), credible: float = 0.9) -> dict[str, float]:
    """Posterior Beta(alpha, beta) of a rate after ``successes`` in ``n`` trials, with an equal-tailed interval."""
    from scipy import stats  # lazy: keeps `import revops_assets.definitions` light

    a = float(prior[0]) + successes
    b = float(prior[1]) + (n - successes)
    tail = (1.0 - credible) / 2.0
    low, high = stats.beta.ppf([tail, 1.0 - tail], a, b)
    return {"alpha": a, "beta": b, "mean": a / (a + b), "ci_low": float(low), "ci_high": float(high)}


def normalize_as_of(as_of: Any) -> tuple[str, pd.Timestamp]:
    """ISO label and exclusive UTC cutoff: a date includes its whole day, a datetime is taken as-is."""
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of) if len(as_of) == 10 else pd.Timestamp(as_of)
    if isinstance(as_of, dt.datetime) or isinstance(as_of, pd.Timestamp):
        ts = pd.Timestamp(as_of)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.isoformat(), ts + pd.Timedelta(microseconds=1)
    if isinstance(as_of, dt.date):
        return as_of.isoformat(), pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)
    raise TypeError(f"as_of must be a date, datetime or ISO string, got {type(as_of).__name__}")


def _flag(series: pd.Series) -> pd.Series:
    """Booleans that may arrive as None/NaN/0/1 (e.g. ``won`` is None while a deal is open) -> 0/1 ints."""
    return series.astype("boolean").fillna(False).astype(int)


def _clean_outcomes(outcomes: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    df = outcomes.copy()
    for key in PLAY_KEYS:
        if key not in df.columns:
            df[key] = MISSING
        df[key] = df[key].astype("string").fillna(MISSING).replace("", MISSING).astype(str)
    for flag in OUTCOME_FLAGS:
        df[flag] = _flag(df[flag]) if flag in df.columns else 0
    if "sent_at" in df.columns and len(df):
        sent = pd.to_datetime(df["sent_at"], utc=True)
        df = df[sent < cutoff]
    return df


def _r(x: float) -> float:
    return round(float(x), DECIMALS)


@dataclass(frozen=True, eq=False)  # DataFrame fields: compare banks by to_json()
class Bank:
    """What was learned as of a date. ``plays``/``stall_reasons`` are flat DataFrames for DuckDB."""

    as_of: str
    params: dict[str, Any]
    baseline: dict[str, float]
    plays: pd.DataFrame
    stall_reasons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(STALL_COLUMNS)))
    stall_baseline: dict[str, float] = field(default_factory=dict)

    @property
    def winning_plays(self) -> pd.DataFrame:
        return self.plays[self.plays["verdict"] == "winning"].reset_index(drop=True)

    @property
    def failure_modes(self) -> pd.DataFrame:
        return self.plays[self.plays["verdict"] == "failure"].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "params": self.params,
            "baseline": self.baseline,
            "plays": _records(self.plays),
            "winning_plays": _records(self.winning_plays[list(PLAY_KEYS)]),
            "failure_modes": _records(self.failure_modes[list(PLAY_KEYS)]),
            "stall_baseline": self.stall_baseline,
            "stall_reasons": _records(self.stall_reasons),
        }

    def to_json(self) -> str:
        """The ``reasoning_bank.json`` text: sorted keys, stable row order, rounded floats."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def learnings(self) -> list[dict[str, Any]]:
        """Human-readable statements, each with the numbers that justify it."""
        out: list[dict[str, Any]] = []
        base = self.baseline["mean"]
        metric = self.params["success"].replace("_", " ")
        for kind, frame in (("winning_play", self.winning_plays), ("failure_mode", self.failure_modes)):
            for row in frame.itertuples(index=False):
                direction = "above" if kind == "winning_play" else "below"
                statement = (
                    f"{row.template}/{row.variant} for signal={row.signal}, persona={row.persona}, "
                    f"segment={row.segment}: {metric} rate {row.mean:.1%} ({row.successes}/{row.n}; "
                    f"{self.params['credible']:.0%} credible {row.ci_low:.1%}-{row.ci_high:.1%}), "
                    f"{direction} the {base:.1%} baseline ({row.evidence})."
                )
                out.append({"kind": kind, "play": {k: getattr(row, k) for k in PLAY_KEYS}, "statement": statement,
                            "evidence": {"n": int(row.n), "successes": int(row.successes), "mean": _r(row.mean),
                                         "ci_low": _r(row.ci_low), "ci_high": _r(row.ci_high), "baseline_mean": _r(base),
                                         "lift": _r(row.lift), "criterion": row.evidence}})
        for row in self.stall_reasons[self.stall_reasons["precedes_loss"]].itertuples(index=False):
            statement = (
                f"Deals showing '{row.stall_pattern}' were lost {row.loss_rate:.0%} of the time ({row.lost}/{row.n}), "
                f"{row.lift:.1f}x the {row.base_loss_rate:.0%} loss rate of all closed deals."
            )
            out.append({"kind": "stall_reason", "stall_pattern": row.stall_pattern, "statement": statement,
                        "evidence": {"n": int(row.n), "lost": int(row.lost), "loss_rate": _r(row.loss_rate),
                                     "ci_low": _r(row.ci_low), "base_loss_rate": _r(row.base_loss_rate), "lift": _r(row.lift)}})
        return out

    def learnings_json(self) -> str:
        """The ``learnings.json`` text."""
        doc = {"as_of": self.as_of, "baseline": self.baseline, "params": self.params, "learnings": self.learnings()}
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    def to_markdown(self) -> str:
        b = self.baseline
        lines = [
            f"# Reasoning bank as of {self.as_of}",
            "",
            f"- Sends: {int(b['n'])}, {self.params['success']}: {int(b['successes'])} (baseline {b['mean']:.2%})",
            f"- Plays: {len(self.plays)}; with >= {self.params['min_samples']} sends: "
            f"{int((self.plays['n'] >= self.params['min_samples']).sum())}",
            f"- Winning plays: {len(self.winning_plays)}; failure modes: {len(self.failure_modes)}",
            "",
        ]
        learnings = self.learnings()
        if learnings:
            lines += ["## Learnings", ""] + [f"- {item['statement']}" for item in learnings] + [""]
        else:
            lines += ["No play has strong enough evidence yet to be called a winner or a failure.", ""]
        return "\n".join(lines)

    def write(self, home: Path) -> dict[str, Path]:
        """Write ``reasoning_bank.json``, ``learnings.json`` and ``reasoning_bank.md`` under ``home``."""
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        paths = {"bank": home / "reasoning_bank.json", "learnings": home / "learnings.json",
                 "markdown": home / "reasoning_bank.md"}
        paths["bank"].write_text(self.to_json())
        paths["learnings"].write_text(self.learnings_json())
        paths["markdown"].write_text(self.to_markdown() + "\n")
        return paths


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({k: (_r(v) if isinstance(v, (float, np.floating)) else
                         int(v) if isinstance(v, (np.integer,)) else
                         bool(v) if isinstance(v, np.bool_) else v) for k, v in record.items()})
    return rows


def load_plays(path: Path) -> pd.DataFrame:
    """The plays table back from a ``reasoning_bank.json`` (what the bandit needs at send time)."""
    doc = json.loads(Path(path).read_text())
    return pd.DataFrame(doc.get("plays", []), columns=list(PLAY_COLUMNS))


def _verdicts(plays: pd.DataFrame, baseline_mean: float, min_samples: int) -> pd.DataFrame:
    context = ["template", "signal", "persona", "segment"]
    verdicts, evidence = [], []
    for _, group in plays.groupby(context, sort=True):
        for idx, row in group.iterrows():
            siblings = group.drop(index=idx)
            enough = row["n"] >= min_samples
            above = enough and row["ci_low"] > baseline_mean
            below = enough and row["ci_high"] < baseline_mean
            beats = enough and len(siblings) > 0 and row["ci_low"] > siblings["ci_high"].max()
            loses = enough and len(siblings) > 0 and row["ci_high"] < siblings["ci_low"].min()
            reasons = [name for name, hit in (("above_baseline", above), ("beats_variants", beats),
                                              ("below_baseline", below), ("loses_to_variants", loses)) if hit]
            if below or (loses and not above):
                verdict = "failure"
            elif above or beats:
                verdict = "winning"
            else:
                verdict = "neutral" if enough else "insufficient"
            verdicts.append((idx, verdict))
            evidence.append((idx, "+".join(reasons) or ("within_baseline" if enough else f"n<{min_samples}")))
    plays = plays.copy()
    plays["verdict"] = pd.Series(dict(verdicts), dtype=object)
    plays["evidence"] = pd.Series(dict(evidence), dtype=object)
    return plays


def stall_lift(ghosts: pd.DataFrame | None, prior: tuple[float, float] = (1.0, 1.0), credible: float = 0.9,
               min_samples: int = 30) -> tuple[pd.DataFrame, dict[str, float]]:
    """Lift of each stall pattern on the loss rate of closed deals.

    ``ghosts``: one row per (opportunity_id, stall_pattern) seen, with ``status`` at the end
    (won / lost / abandoned / open). Open deals have no outcome yet and are left out. A pattern
    *precedes loss* when it has ``min_samples`` closed deals and its credible interval on the
    loss rate lies entirely above the base loss rate.
    """
    empty = pd.DataFrame(columns=list(STALL_COLUMNS))
    if ghosts is None or len(ghosts) == 0:
        return empty, {}
    df = ghosts[["opportunity_id", "stall_pattern", "status"]].copy()
    df["opportunity_id"] = df["opportunity_id"].astype(str)
    df["stall_pattern"] = df["stall_pattern"].astype("string").fillna(MISSING).astype(str)
    df["status"] = df["status"].astype("string").str.lower().fillna("open").astype(str)
    closed = df[df["status"].isin(LOSS_STATUSES | WIN_STATUSES)]
    if closed.empty:
        return empty, {}
    per_opp = closed.groupby("opportunity_id")["status"].first()
    base_n = len(per_opp)
    base_lost = int(per_opp.isin(LOSS_STATUSES).sum())
    base_rate = base_lost / base_n
    rows = []
    for pattern, group in closed.drop_duplicates(["opportunity_id", "stall_pattern"]).groupby("stall_pattern", sort=True):
        n = len(group)
        lost = int(group["status"].isin(LOSS_STATUSES).sum())
        post = beta_posterior(lost, n, prior, credible)
        rate = lost / n
        rows.append({"stall_pattern": pattern, "n": n, "lost": lost, "won": n - lost, "loss_rate": rate,
                     "ci_low": post["ci_low"], "ci_high": post["ci_high"], "base_loss_rate": base_rate,
                     "lift": rate / base_rate if base_rate > 0 else float("nan"),
                     "precedes_loss": bool(n >= min_samples and post["ci_low"] > base_rate)})
    out = pd.DataFrame(rows, columns=list(STALL_COLUMNS))
    out = out.sort_values(["lift", "n", "stall_pattern"], ascending=[False, False, True], kind="mergesort")
    return out.reset_index(drop=True), {"n": base_n, "lost": base_lost, "loss_rate": _r(base_rate)}


def build_bank(outcomes: pd.DataFrame, as_of: Any, prior: tuple[float, float] = (1, 1), min_samples: int = 30,
               credible: float = 0.9, success: str = "positive_reply", ghosts: pd.DataFrame | None = None) -> Bank:
    """Learn per-play posteriors from ``outcomes`` sent up to ``as_of`` (and stall lifts from ``ghosts``)."""
    if success not in OUTCOME_FLAGS:
        raise ValueError(f"success must be one of {OUTCOME_FLAGS}, got {success!r}")
    label, cutoff = normalize_as_of(as_of)
    prior = (float(prior[0]), float(prior[1]))
    df = _clean_outcomes(outcomes, cutoff)
    counts = (
        df.groupby(list(PLAY_KEYS), sort=True)
        .agg(n=(success, "size"), successes=(success, "sum"), replies=("replied", "sum"),
             meetings=("meeting_booked", "sum"), wins=("won", "sum"), bounces=("bounced", "sum"),
             unsubscribes=("unsubscribed", "sum"))
        .reset_index()
    )
    base_post = beta_posterior(int(df[success].sum()), len(df), prior, credible)
    baseline = {"n": len(df), "successes": int(df[success].sum()), **{k: _r(v) for k, v in base_post.items()}}
    if counts.empty:
        plays = pd.DataFrame({c: pd.Series(dtype=object if c in (*PLAY_KEYS, "verdict", "evidence") else float)
                              for c in PLAY_COLUMNS})
    else:
        posts = pd.DataFrame([beta_posterior(int(s), int(n), prior, credible)
                              for s, n in zip(counts["successes"], counts["n"])])
        plays = pd.concat([counts, posts], axis=1)
        plays["lift"] = plays["mean"] / base_post["mean"]
        plays = _verdicts(plays, base_post["mean"], min_samples)
        for c in ("n", "successes", "replies", "meetings", "wins", "bounces", "unsubscribes"):
            plays[c] = plays[c].astype("int64")
        for c in ("alpha", "beta", "mean", "ci_low", "ci_high", "lift"):
            plays[c] = plays[c].astype("float64").round(DECIMALS)
        plays = plays[list(PLAY_COLUMNS)].sort_values(list(PLAY_KEYS), kind="mergesort").reset_index(drop=True)
    stall_reasons, stall_baseline = stall_lift(ghosts, prior, credible, min_samples)
    params = {"prior": list(prior), "min_samples": int(min_samples), "credible": float(credible), "success": success}
    return Bank(as_of=label, params=params, baseline=baseline, plays=plays, stall_reasons=stall_reasons,
                stall_baseline=stall_baseline)
