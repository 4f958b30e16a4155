"""Ghost hunting: open deals that went quiet or stopped moving, as of a point in time, with why.

A deal is a ghost at ``as_of`` when it is open and any of
- champion left: a note on its contact (by ``as_of``) says the contact left -- the deal needs a
  new contact now, even if that note itself was written today, or
- quiet: no activity (CRM last activity, stage change, note on its contact, creation) for at least
  its stage's threshold (``stall_days_by_stage`` else ``stall_days_default``), or
- stuck: in its current stage for more than twice that stage's median stay (medians from completed
  stays in ``stage_history`` before ``as_of``; only for stages with >= ``MIN_STAYS_FOR_MEDIAN``).

Point-in-time: stage entries, notes and activity timestamps after ``as_of`` are ignored, and the
stage a deal was in at ``as_of`` comes from ``stage_history`` when it has entries by then.
Patterns (all that apply in ``stall_patterns``; the first in this order is ``stall_pattern``):
"champion left", "went dark after proposal", "no reply after demo",
"stuck in stage beyond twice its median", "no next step", "went quiet".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Collection, Mapping

import numpy as np
import pandas as pd

MIN_STAYS_FOR_MEDIAN = 5
PATTERN_ORDER = [
    "champion left",
    "went dark after proposal",
    "no reply after demo",
    "stuck in stage beyond twice its median",
    "no next step",
    "went quiet",
]
CHAMPION_LEFT = (
    r"\b(?:has|have|had|just)\s+left\b(?!\s+(?:a|an|her|his|them|him|the)?\s*(?:voicemail|message|vm|note|comment|review))"
    r"|\bleft\s+the\s+(?:company|business|firm|organi[sz]ation)\b|\bno\s+longer\s+(?:at|with|works?\b|employed)"
    r"|\b(?:e-?mail|mail)\s+(?:bounced|bounces|is\s+bouncing)\b|\bnew\s+(?:role|job|position)\s+(?:at|elsewhere|with)\b"
    r"|\blinkedin\s+shows\s+(?:a\s+)?new\s+(?:role|job|company)\b|\bneed\s+a\s+new\s+(?:champion|contact|sponsor)\b"
    r"|\b(?:resigned|departed|moved\s+on)\b|\b(?:his|her|their)\s+last\s+day\b"
)
NO_NEXT_STEP = r"\bno\s+next\s+steps?\b|\bno\s+(?:follow-?up|meeting)\s+(?:scheduled|booked)\b"
PROPOSAL_STAGE = r"proposal|negotiat|contract|quote|pricing|commit"
DEMO_STAGE = r"demo|discovery|evaluation|trial|poc|proof of concept"


def _utc_naive(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)


def _cutoff(as_of: date | datetime | str) -> pd.Timestamp:
    """A bare date means the end of that day; a timestamp is taken as is (UTC-naive)."""
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        return pd.Timestamp(as_of) + pd.Timedelta(days=1)
    ts = pd.Timestamp(as_of)
    if isinstance(as_of, str) and len(as_of.strip()) <= 10:
        return ts + pd.Timedelta(days=1)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def find_ghosts(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame,
    notes: pd.DataFrame,
    as_of: date | datetime | str,
    stall_days_default: float = 7,
    stall_days_by_stage: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Ghosts among ``opportunities`` [opportunity_id, contact_id, stage_name, status, last_activity_at,
    last_stage_change_at, created_at, assigned_to, ...] as of ``as_of``.

    Returns the opportunity's own columns (``stage_name`` = the stage at ``as_of``) plus
    ``last_activity``, ``days_stalled`` (days since last activity, 1 decimal), ``stall_threshold``,
    ``days_in_stage``, ``stage_median_days`` (NaN when too few stays), ``stall_pattern``,
    ``stall_patterns`` ("; "-joined) and ``stall_evidence`` (the note that explains it, if any),
    most stalled first. ``stage_history``: [opportunity_id, stage_name, entered_at];
    ``notes``: [contact_id, body, date_added].
    """
    cutoff = _cutoff(as_of)
    by_stage = {str(k).strip().lower(): float(v) for k, v in (stall_days_by_stage or {}).items()}
    opps = opportunities.copy()
    created = _utc_naive(opps["created_at"]) if "created_at" in opps else pd.Series(pd.NaT, index=opps.index)
    status = opps["status"].astype("string").str.strip().str.lower()
    opps = opps[(status == "open").fillna(False) & ~(created >= cutoff).fillna(False)]
    created = created.loc[opps.index]

    # stage at as_of, and when it was entered, from the history (fallback: the CRM's own fields)
    hist = stage_history[["opportunity_id", "stage_name", "entered_at"]].copy()
    hist["entered_at"] = _utc_naive(hist["entered_at"])
    hist = hist[hist["entered_at"] < cutoff].dropna(subset=["entered_at"]).sort_values(["opportunity_id", "entered_at"], kind="stable")
    current = hist.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    in_hist = opps["opportunity_id"].isin(current.index)
    stage = opps["stage_name"].where(~in_hist, opps["opportunity_id"].map(current["stage_name"]))
    stage_change = _utc_naive(opps["last_stage_change_at"]) if "last_stage_change_at" in opps else pd.Series(pd.NaT, index=opps.index)
    stage_change = stage_change.where(stage_change < cutoff)
    entered = opps["opportunity_id"].map(current["entered_at"]).where(in_hist, stage_change)

    # stage medians from completed stays (next entry also before as_of)
    nxt = hist.groupby("opportunity_id", sort=False)["entered_at"].shift(-1)
    stays = (nxt - hist["entered_at"]).dt.total_seconds() / 86400
    done = stays.notna()
    grp = hist.loc[done, "stage_name"].astype("string").str.strip().str.lower()
    counts = grp.value_counts()
    medians = stays[done].groupby(grp).median()
    medians = medians[counts.reindex(medians.index).fillna(0) >= MIN_STAYS_FOR_MEDIAN]

    # last activity as of as_of: latest of CRM activity, stage entry, contact note, creation
    note_at = _utc_naive(notes["date_added"]) if len(notes) else pd.Series(dtype="datetime64[ns]")
    live_notes = notes.assign(_at=note_at)[note_at < cutoff] if len(notes) else notes.assign(_at=note_at)
    last_note = live_notes.groupby("contact_id")["_at"].max() if len(live_notes) else pd.Series(dtype="datetime64[ns]")
    activity = _utc_naive(opps["last_activity_at"]) if "last_activity_at" in opps else pd.Series(pd.NaT, index=opps.index)
    activity = activity.where(activity < cutoff)
    contact_note = opps["contact_id"].map(last_note) if "contact_id" in opps else pd.Series(pd.NaT, index=opps.index)
    last = pd.concat([activity, entered, contact_note.astype("datetime64[ns]"), created], axis=1).max(axis=1)

    stage_key = stage.astype("string").str.strip().str.lower()
    threshold = stage_key.map(by_stage).fillna(stall_days_default).astype("float64")
    days_stalled = ((cutoff - last).dt.total_seconds() / 86400).round(1)
    days_in_stage = ((cutoff - entered).dt.total_seconds() / 86400).round(1)
    median = stage_key.map(medians).astype("float64")
    quiet = days_stalled >= threshold
    stuck = days_in_stage > 2 * median

    # patterns
    body = live_notes["body"].astype("string").fillna("") if len(live_notes) else pd.Series(dtype="string")
    left_notes = live_notes[body.str.contains(CHAMPION_LEFT, case=False, regex=True)] if len(live_notes) else live_notes
    left_note = left_notes.sort_values("_at").groupby("contact_id")["body"].last() if len(left_notes) else pd.Series(dtype=object)
    nns_notes = live_notes[body.str.contains(NO_NEXT_STEP, case=False, regex=True)] if len(live_notes) else live_notes
    nns_note = nns_notes.sort_values("_at").groupby("contact_id")["body"].last() if len(nns_notes) else pd.Series(dtype=object)
    champion = opps["contact_id"].map(left_note)
    no_next = opps["contact_id"].map(nns_note)
    ghost = (quiet.fillna(False) | stuck.fillna(False) | champion.notna()).astype(bool)
    flags = {
        "champion left": champion.notna(),
        "went dark after proposal": quiet & stage_key.str.contains(PROPOSAL_STAGE, regex=True).fillna(False),
        "no reply after demo": quiet & stage_key.str.contains(DEMO_STAGE, regex=True).fillna(False),
        "stuck in stage beyond twice its median": stuck.fillna(False),
        "no next step": quiet & no_next.notna(),
        "went quiet": quiet.fillna(False),
    }
    flag_frame = pd.DataFrame({k: v.fillna(False).astype(bool) for k, v in flags.items()})[PATTERN_ORDER]
    names = np.array(PATTERN_ORDER, dtype=object)
    # "went quiet" only when nothing more specific applies
    specific = flag_frame[PATTERN_ORDER[:-1]].any(axis=1)
    flag_frame["went quiet"] &= ~specific
    primary = pd.Series(np.where(flag_frame.any(axis=1), names[flag_frame.to_numpy().argmax(axis=1)], None), index=opps.index)
    joined = pd.Series("", index=opps.index, dtype=object)
    for name in PATTERN_ORDER:
        hit = flag_frame[name]
        joined = joined.where(~hit, joined + np.where(joined == "", "", "; ") + name)

    out = opps.assign(
        stage_name=stage,
        last_activity=last,
        days_stalled=days_stalled,
        stall_threshold=threshold,
        days_in_stage=days_in_stage,
        stage_median_days=median.round(1),
        stall_pattern=primary,
        stall_patterns=joined,
        stall_evidence=champion.where(champion.notna(), no_next),
    )[ghost]
    return out.sort_values(["days_stalled", "opportunity_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def ghost_list_problems(ghosts: pd.DataFrame, pipeline_stages: Collection[str], as_of: date | datetime | str) -> pd.Series:
    """Why each ghost row is impossible (index of ``ghosts``; only rows with a problem), from facts
    :func:`find_ghosts` does not filter on: a negative or missing ``days_stalled``, a negative
    ``days_in_stage`` (missing is allowed: no stage entry known), a ``last_activity`` after ``as_of`` (the day's cutoff), and a ``stage_name``
    that is not a stage of the pipeline (case-insensitive). Empty when the list is sound."""
    cutoff = _cutoff(as_of)
    known = {str(s).strip().lower() for s in pipeline_stages}
    stage = ghosts["stage_name"].astype("string").str.strip().str.lower()
    rules = [
        (~(pd.to_numeric(ghosts["days_stalled"], errors="coerce") >= 0), "days_stalled negative or missing"),
        (pd.to_numeric(ghosts["days_in_stage"], errors="coerce") < 0, "days_in_stage negative"),
        (_utc_naive(ghosts["last_activity"]) >= cutoff, "last activity after the day"),
        (~stage.isin(known).fillna(False), "stage not in the pipeline"),
    ]
    why = pd.Series("", index=ghosts.index, dtype=object)
    for bad, text in rules:
        hit = np.asarray(bad, dtype=bool)
        why = why.where(~hit, why + np.where(why == "", "", "; ") + text)
    return why[why != ""]
