"""Directives sensor: an edited directive re-materializes the ``directives`` asset by itself.

The ``directives`` asset's data version is the hash of every directive's text; the assets that read
the rules record the version they ran with, so once ``directives`` is materialized at a new hash
everything downstream shows stale in the UI. This sensor is what makes "once" happen without anyone
remembering: each tick it hashes the directives and compares the hash with the data version of the
latest ``directives`` materialization; when they differ it requests one run of the asset.

The decision is a pure function over (current hash or the parse error, the materialized version,
cursor) so it is tested tick by tick without Dagster; the sensor around it only reads the directory
named by the ``revops`` resource and the latest materialization from the instance.

Never materialized: nothing downstream can go stale, and the first daily cycle materializes the
directives anyway, so the sensor waits rather than adding a run to a fresh install.

Cursor: ``{"version": <hash last requested>, "runs": <runs requested so far>}`` (JSON); it keeps a
requested run that is still queued from being requested again. Run keys are
``directives-<hash>-<n>``, not the bare hash: Dagster launches a run key at most once per sensor, so
with the bare hash an edit that is reverted (A -> B -> A) would never re-materialize A and the asset
would keep claiming B while the files say A.

A malformed directive is a skip whose reason is the ``file:line: field: message`` error, and the
cursor stays: the asset keeps its last good version (the daily runs would fail on the same error
anyway), an editor's half-saved file costs no failed run, and the tick history in the UI shows
exactly what to fix. Fixing it (or reverting) is an ordinary change and requests a run.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from revops_assets.directives import DirectiveError, load_directives
from revops_assets.resources.core import RevOpsConfig

__all__ = ["plan_directives_run", "build_directives_changed_sensor", "TAG_VERSION"]

TAG_VERSION = "revops/directive_version"
DATA_VERSION_TAG = "dagster/data_version"  # where Dagster records a materialization's data version


def plan_directives_run(
    version: str | None, materialized: str | None, cursor: str | None, *, error: str | None = None,
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """Plan at most one run of the ``directives`` asset.

    ``version``: the directives' content hash now (``Directives.version``), or ``None`` with ``error``
    (the parse error) when a directive is malformed; ``materialized``: the data version of the latest
    ``directives`` materialization, ``None`` if there is none. Returns ``(run_request, new_cursor,
    skip_reason)``; the run request is ``{"run_key", "version"}``. Exactly one of ``run_request`` and
    ``skip_reason`` is set.
    """
    last, runs = _parse_cursor(cursor)
    if error is not None or version is None:
        return None, cursor, (f"directives not re-read: {error or 'no version'} "
                              f"(fix the directive; the asset keeps version {materialized or 'none'})")
    if materialized is None:
        return None, cursor, "directives never materialized: nothing reads them yet (the daily cycle materializes them)"
    if version == materialized:
        return None, cursor, f"directives unchanged (version {version})"
    if version == last:
        return None, cursor, (f"directives {version} requested, not materialized yet "
                              f"(if that run failed, materialize `directives` by hand)")
    runs += 1
    new_cursor = json.dumps({"version": version, "runs": runs}, separators=(",", ":"))
    return {"run_key": f"directives-{version}-{runs}", "version": version}, new_cursor, None


def _parse_cursor(cursor: str | None) -> tuple[str | None, int]:
    if not cursor:
        return None, 0
    try:
        data = json.loads(cursor)
        version, runs = data["version"], data["runs"]
    except (json.JSONDecodeError, TypeError, KeyError):
        raise ValueError('directives sensor cursor must be JSON {"version": <hash>, "runs": <n>}') from None
    if not isinstance(version, str) or not isinstance(runs, int) or isinstance(runs, bool) or runs < 0:
        raise ValueError('directives sensor cursor must be JSON {"version": <hash>, "runs": <n>}')
    return version, runs


def build_directives_changed_sensor(
    job: Any,
    *,
    minimum_interval_seconds: int = 30,
    name: str = "directives_changed",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor targeting ``job`` (one that materializes ``directives``), reading the ``revops`` resource."""

    @dg.sensor(name=name, target=job, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status,
               description="Re-materializes the directives when their text changes, so what reads them shows stale.")
    def _sensor(context: dg.SensorEvaluationContext, revops: RevOpsConfig) -> dg.SensorResult | dg.SkipReason:
        try:
            version, error = load_directives(revops.settings.directives_dir).version, None
        except DirectiveError as exc:
            version, error = None, str(exc)
        latest = context.instance.get_latest_materialization_event(dg.AssetKey("directives"))
        materialized = latest.asset_materialization.tags.get(DATA_VERSION_TAG) if latest and latest.asset_materialization else None
        run, cursor, skip = plan_directives_run(version, materialized, context.cursor, error=error)
        if run is None:
            return dg.SkipReason(skip)
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run["run_key"], tags={TAG_VERSION: run["version"]})],
                               cursor=cursor)

    return _sensor
