"""A partition backfill launched over GraphQL, run by the real daemon, lands in Dagster and DuckDB.

This is how an operator (or a script) rebuilds past days: ``launchPartitionBackfill`` on the
webserver's /graphql, the BackfillDaemon plans one run per partition, the run queue starts them
(steps share pool ``duckdb`` with limit 1, so they queue instead of fighting over the file lock),
and every targeted (asset, partition) ends materialized - as seen by ``partitionBackfillOrError``,
by ``assetNodes`` and by the warehouse itself.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from dagster_server import DagsterServer, running_dagster, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ASSETS = ["ghl_pipelines", "ghl_contacts"]
# One run per partition; each run and each step is its own process that imports the definitions,
# and steps queue on pool "duckdb". ~3 min on a 2-core box under load 9; generous but bounded.
BACKFILL_TIMEOUT_S = 420.0

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionKeysNotFoundError { message }
    ... on PartitionSetNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}"""

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status isAssetBackfill numPartitions
      error { message }
      runs { id status tags { key value } }
      assetBackfillData {
        assetBackfillStatuses {
          __typename
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized numPartitionsFailed
          }
        }
      }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}"""

MATERIALIZATIONS = """
query Materializations($keys: [AssetKeyInput!]!, $partitions: [String!]!) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    isPartitioned
    assetMaterializations(partitions: $partitions) {
      partition runId
      metadataEntries { label ... on IntMetadataEntry { intValue } }
    }
    assetPartitionStatuses {
      __typename
      ... on TimePartitionStatuses { ranges { startKey endKey status } }
    }
  }
}"""

FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@pytest.fixture
def dagster(demo_home: Path, tmp_path: Path):
    with running_dagster(demo_home, tmp_path) as server:
        yield server


def _recent_days(n: int) -> list[str]:
    """The ``n`` days before today (UTC): the sample's history ends today, so they hold data."""
    today = datetime.now(timezone.utc).date()
    return [(today - timedelta(days=i)).isoformat() for i in range(n, 0, -1)]


def _describe(backfill: dict) -> str:
    counts = [
        f"{'/'.join(s['assetKey']['path'])}: {s['numPartitionsMaterialized']} ok, {s['numPartitionsFailed']} failed, "
        f"{s['numPartitionsInProgress']} in progress of {s['numPartitionsTargeted']}"
        for s in (backfill.get("assetBackfillData") or {}).get("assetBackfillStatuses", [])
    ]
    runs = [f"{r['id'][:8]}={r['status']}" for r in backfill.get("runs") or []]
    return f"status={backfill.get('status')} runs={runs} {counts} error={backfill.get('error')}"


def _poll_backfill(server: DagsterServer, backfill_id: str) -> dict:
    last: dict = {}

    def finished() -> dict | None:
        nonlocal last
        result = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert result["__typename"] == "PartitionBackfill", f"backfill {backfill_id} lookup failed: {result}"
        last = result
        return result if result["status"] in FINISHED else None

    return wait_for(f"backfill {backfill_id} to finish", finished, BACKFILL_TIMEOUT_S, interval=3.0,
                    diagnostics=lambda: f"last seen: {_describe(last)}\n{server.log_tail()}")


def test_graphql_partition_backfill_materializes_every_partition(dagster: DagsterServer, demo_home: Path):
    days = _recent_days(3)
    started = time.monotonic()
    launched = dagster.graphql(LAUNCH, {"params": {
        "assetSelection": [{"path": [name]} for name in ASSETS],
        "partitionNames": days,
        "title": "test: 3-day CRM snapshot backfill",
    }})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", f"launchPartitionBackfill refused: {launched}"
    backfill_id = launched["backfillId"]

    backfill = _poll_backfill(dagster, backfill_id)
    elapsed = time.monotonic() - started
    print(f"backfill {backfill_id}: {len(days)} partitions x {len(ASSETS)} assets in {elapsed:.0f}s")

    # The backfill as the daemon reports it: every targeted partition materialized, none failed.
    assert backfill["status"] == "COMPLETED_SUCCESS", f"backfill did not succeed: {_describe(backfill)}\n{dagster.log_tail()}"
    assert backfill["isAssetBackfill"] and backfill["numPartitions"] == len(days), _describe(backfill)
    statuses = {"/".join(s["assetKey"]["path"]): s for s in backfill["assetBackfillData"]["assetBackfillStatuses"]}
    assert set(statuses) == set(ASSETS), _describe(backfill)
    for name, status in statuses.items():
        assert (status["numPartitionsTargeted"], status["numPartitionsMaterialized"], status["numPartitionsFailed"]) \
            == (len(days), len(days), 0), f"{name}: {_describe(backfill)}"
    run_partitions = sorted(next(t["value"] for t in run["tags"] if t["key"] == "dagster/partition")
                            for run in backfill["runs"])
    assert run_partitions == days, f"one run per partition expected, got {run_partitions}"
    assert all(run["status"] == "SUCCESS" for run in backfill["runs"]), _describe(backfill)
    run_ids = {run["id"] for run in backfill["runs"]}

    # The asset catalog agrees: a materialization per (asset, day), from this backfill's runs.
    nodes = dagster.graphql(MATERIALIZATIONS, {"keys": [{"path": [name]} for name in ASSETS],
                                               "partitions": days})["assetNodes"]
    assert sorted("/".join(n["assetKey"]["path"]) for n in nodes) == sorted(ASSETS)
    row_counts: dict[str, dict[str, int]] = {}
    for node in nodes:
        name = "/".join(node["assetKey"]["path"])
        assert node["isPartitioned"], name
        events = node["assetMaterializations"]
        assert sorted(e["partition"] for e in events) == days, f"{name}: materialized partitions {events}"
        assert {e["runId"] for e in events} <= run_ids, f"{name}: materialized by runs outside the backfill"
        row_counts[name] = {e["partition"]: next(m["intValue"] for m in e["metadataEntries"]
                                                 if m["label"] == "dagster/row_count") for e in events}
        ranges = node["assetPartitionStatuses"]["ranges"]
        assert [(r["startKey"], r["endKey"], r["status"]) for r in ranges] == [(days[0], days[-1], "MATERIALIZED")], \
            f"{name}: partition statuses {ranges}"

    # And the warehouse holds each day's snapshot, with the row counts the materializations reported.
    with duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True) as db:
        for name in ASSETS:
            stored = dict(db.execute(
                f"SELECT strftime(snapshot_date, '%Y-%m-%d'), count(*) FROM revops.{name} GROUP BY 1 ORDER BY 1"
            ).fetchall())
            assert stored == row_counts[name], f"{name}: warehouse {stored} vs materialization metadata {row_counts[name]}"
            assert all(n > 0 for n in stored.values()), f"{name}: empty snapshot in {stored}"
    # Point in time: a later day never has fewer contacts than an earlier one.
    contacts = [row_counts["ghl_contacts"][d] for d in days]
    assert contacts == sorted(contacts), f"contacts per day not non-decreasing: {dict(zip(days, contacts))}"
