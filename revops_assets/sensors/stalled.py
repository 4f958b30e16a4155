"""Stalled-deal sensor: one run per stall, never two.

A stall is identified by (opportunity, the day it stalled): ``stall-<opportunity_id>-<stalled_since>``.
A deal that revives and stalls again later has a new ``stalled_since`` and so a new key: it is
planned again, as it should be.

Two guards keep a stall from being planned twice:

1. The cursor holds the keys already planned (a sorted JSON list). It stays small because a key
   is dropped as soon as the deal shows up again under a different stall or no longer stalled, and
   (when the caller gives ``today``) once its stall is older than ``retention_days`` - a deal
   missing from one fetch (closed, or a warehouse rebuild in progress) keeps its key until then, so
   a transiently empty ghost list does not re-plan everything.
2. Dagster itself launches a given run key at most once per sensor, so even a lost or pruned cursor
   cannot produce a second run for the same stall.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import dagster as dg

__all__ = ["plan_stall_runs", "build_stalled_deals_sensor", "stall_key"]

FetchDeals = Callable[[dg.SensorEvaluationContext], list[dict[str, Any]]]


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def stall_key(opportunity_id: Any, stalled_since: date) -> str:
    return f"stall-{opportunity_id}-{stalled_since.isoformat()}"


def _key_date(key: str) -> date | None:
    try:
        return date.fromisoformat(key[-10:])
    except ValueError:
        return None


def plan_stall_runs(
    deals: list[dict[str, Any]],
    already_planned: set[str],
    *,
    today: date | None = None,
    retention_days: int = 180,
) -> tuple[list[dict[str, Any]], set[str], str | None]:
    """Plan a run for each stall not planned before.

    ``deals``: dicts with ``opportunity_id, stage_name, days_inactive, stall_threshold, stalled_since``.
    A deal counts as stalled when ``days_inactive >= stall_threshold`` and it has a ``stalled_since``.
    Returns ``(run_requests, planned_keys_to_remember, skip_reason)``; each run request is
    ``{"run_key", "opportunity_id", "stage_name", "stalled_since", "days_inactive"}``.
    """
    runs: list[dict[str, Any]] = []
    current: dict[str, str] = {}  # opportunity_id -> its current stall key ("" when not stalled)
    planned_now: set[str] = set()
    for deal in sorted(deals, key=lambda d: str(d["opportunity_id"])):
        opp = str(deal["opportunity_id"])
        since = _as_date(deal.get("stalled_since"))
        stalled = since is not None and deal.get("days_inactive") is not None and \
            deal.get("stall_threshold") is not None and deal["days_inactive"] >= deal["stall_threshold"]
        if not stalled:
            current[opp] = ""
            continue
        key = stall_key(opp, since)  # type: ignore[arg-type]
        current[opp] = key
        if key in already_planned or key in planned_now:
            continue
        planned_now.add(key)
        runs.append({"run_key": key, "opportunity_id": opp, "stage_name": deal.get("stage_name"),
                     "stalled_since": since.isoformat(), "days_inactive": deal["days_inactive"]})  # type: ignore[union-attr]

    remember = {k for k in current.values() if k}
    fetched = {f"stall-{opp}-" for opp in current}
    for key in already_planned:
        if key[:-10] in fetched:
            continue  # the deal is in this fetch: its current key (if any) is already remembered
        since = _key_date(key)
        if today is not None and since is not None and since < today - timedelta(days=retention_days):
            continue
        remember.add(key)

    skip = None if runs else f"no newly stalled deals ({len(remember)} stall(s) already planned)"
    return runs, remember, skip


def _parse_cursor(cursor: str | None) -> set[str]:
    if not cursor:
        return set()
    try:
        keys = json.loads(cursor)
    except json.JSONDecodeError:
        raise ValueError("stalled-deals sensor cursor must be a JSON list of run keys") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError("stalled-deals sensor cursor must be a JSON list of run keys")
    return set(keys)


def _cursor(keys: Iterable[str]) -> str:
    return json.dumps(sorted(keys), separators=(",", ":"))


def build_stalled_deals_sensor(
    job: Any,
    fetch_deals: FetchDeals,
    *,
    minimum_interval_seconds: int = 300,
    required_resource_keys: set[str] | None = None,
    name: str = "stalled_deals_sensor",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor targeting ``job`` that plans one run per new stall from ``fetch_deals(context)``.

    Declare what ``fetch_deals`` reads from ``context.resources`` in ``required_resource_keys``.
    """

    @dg.sensor(name=name, target=job, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status,
               required_resource_keys=required_resource_keys,
               description="Launches one coaching run per deal that newly stalled in its stage.")
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        planned = _parse_cursor(context.cursor)
        deals = fetch_deals(context)
        today = datetime.now(timezone.utc).date()
        runs, remember, skip = plan_stall_runs(deals, planned, today=today)
        run_requests = [
            dg.RunRequest(run_key=r["run_key"], tags={
                "revops/opportunity_id": r["opportunity_id"],
                "revops/stalled_since": r["stalled_since"],
                "revops/stage": str(r["stage_name"] or ""),
            })
            for r in runs
        ]
        if skip is not None and remember == planned:
            return dg.SkipReason(skip)
        # A skip can still change the cursor (revived deals pruned): commit it with an empty result.
        return dg.SensorResult(run_requests=run_requests, cursor=_cursor(remember),
                               skip_reason=skip if not run_requests else None)

    return _sensor
