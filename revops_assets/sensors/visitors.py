"""New-visitor sensor: turn inbox seqs past the cursor into batched runs of the engagement job.

The decision is a pure function over (visits past the cursor, the cursor) so it can be tested
without Dagster; the sensor around it only reads the inbox and translates dicts into RunRequests.

Cursor: ``str(last seq handed to a run)``. Seqs only grow and a reader never sees a later seq
before an earlier one (resources/inbox.py), so "seq > cursor" is exactly the unprocessed visits.
Run keys name the seq range (``visits-<first>-<last>``): deterministic for the same inbox and
cursor, and Dagster refuses to launch a run key twice for this sensor. Only the last batch of a tick
can be partial; if a tick is retried after more visits arrived, that batch may come out wider under
a new key, so the engagement asset must process a seq range idempotently (upsert by seq).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg

from revops_assets.resources.inbox import InboxResource, InboxVisit

__all__ = ["plan_visitor_runs", "build_new_visitors_sensor", "TAG_FROM", "TAG_TO"]

TAG_FROM = "revops/visits_from"
TAG_TO = "revops/visits_to"
REALTIME_MAX_AGE = timedelta(hours=24)


def plan_visitor_runs(
    new_visits: list[InboxVisit], cursor: int, batch_size: int = 50, *,
    now: datetime | None = None, max_age: timedelta | None = None,
) -> tuple[list[dict[str, Any]], int, str | None]:
    """Batch the visits after ``cursor`` into runs of at most ``batch_size`` visits.

    With ``max_age``, visits seen longer ago than that (history replayed into the inbox, a backlog
    after downtime) are passed over: the cursor moves past them and the skip reason says how many;
    they still count as website activity in the daily intent scores, but a real-time alert on them
    would be noise.
    Returns ``(run_requests, new_cursor, skip_reason)``; each run request is
    ``{"run_key", "first_seq", "last_seq", "visit_count"}``. ``skip_reason`` is set iff there is nothing to run.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    fresh = [v for v in new_visits if v.seq > cursor]
    stale: list[int] = []
    if max_age is not None:
        since = (now or datetime.now(timezone.utc)) - max_age
        stale = [v.seq for v in fresh if v.visit.seen_at < since]
        fresh = [v for v in fresh if v.visit.seen_at >= since]
    seqs = sorted({v.seq for v in fresh})
    if not seqs:
        if stale:
            return [], max(max(stale), cursor), f"{len(stale)} visit(s) older than {max_age} passed over; no new visits since seq {cursor}"
        return [], cursor, f"no new visits since seq {cursor}"
    runs = []
    for start in range(0, len(seqs), batch_size):
        batch = seqs[start : start + batch_size]
        runs.append({"run_key": f"visits-{batch[0]}-{batch[-1]}", "first_seq": batch[0],
                     "last_seq": batch[-1], "visit_count": len(batch)})
    return runs, seqs[-1], None


def _parse_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(cursor)
    except ValueError:
        raise ValueError(f"new-visitors sensor cursor must be an integer seq, got {cursor!r}") from None


def build_new_visitors_sensor(
    job: Any,
    minimum_interval_seconds: int = 5,
    *,
    batch_size: int = 50,
    max_batches_per_tick: int = 20,
    name: str = "new_visitors_sensor",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor targeting ``job`` (a job, or an asset selection) fed from the ``inbox`` resource.

    At most ``max_batches_per_tick`` runs per tick keep a backlog from becoming one giant tick; the
    rest follows on the next ticks.
    """

    @dg.sensor(name=name, target=job, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status,
               description="Launches visitor-engagement runs for RB2B visits that reached the inbox.")
    def _sensor(context: dg.SensorEvaluationContext, inbox: InboxResource) -> dg.SensorResult | dg.SkipReason:
        cursor = _parse_cursor(context.cursor)
        with inbox.open() as box:
            visits = box.read_after(cursor, limit=batch_size * max_batches_per_tick)
        runs, new_cursor, skip = plan_visitor_runs(visits, cursor, batch_size, max_age=REALTIME_MAX_AGE)
        if skip is not None:
            # the cursor may still move past visits too old to alert on
            return dg.SensorResult(skip_reason=skip, cursor=str(new_cursor)) if new_cursor != cursor else dg.SkipReason(skip)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=r["run_key"],
                              tags={TAG_FROM: str(r["first_seq"]), TAG_TO: str(r["last_seq"])})
                for r in runs
            ],
            cursor=str(new_cursor),
        )

    return _sensor
