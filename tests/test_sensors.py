"""Sensors tick by tick: the pure planners, then the Dagster wrappers with a real ephemeral instance."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from revops_assets.receiver.models import parse_visit
from revops_assets.sensors.directives import TAG_VERSION, build_directives_changed_sensor, plan_directives_run
from revops_assets.resources.inbox import InboxResource, InboxVisit, VisitInbox
from revops_assets.sensors.stalled import build_stalled_deals_sensor, plan_stall_runs
from revops_assets.sensors.visitors import TAG_FROM, TAG_TO, build_new_visitors_sensor, plan_visitor_runs


@dg.asset
def visitor_engagements() -> None: ...


@dg.asset
def stall_plays() -> None: ...


engagement_job = dg.define_asset_job("visitor_engagements_job", selection=[visitor_engagements])
stall_job = dg.define_asset_job("stall_plays_job", selection=[stall_plays])


def fill(inbox: VisitInbox, n: int, start: int = 0, seen_at: str | None = None) -> None:
    seen_at = seen_at or datetime.now(timezone.utc).isoformat()
    raws = [json.dumps({"LinkedIn URL": f"https://linkedin.com/in/p{i}", "Captured URL": "https://a.com/pricing",
                        "Seen At": seen_at}).encode() for i in range(start, start + n)]
    inbox.append_many([(parse_visit(raw), raw) for raw in raws])  # one commit: fast


@pytest.fixture
def inbox_path(tmp_path):
    return str(tmp_path / "inbox.sqlite")


@pytest.fixture(scope="module")
def instance():
    # One ephemeral instance for the module (creating one costs seconds); evaluate_tick launches nothing.
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


# --- visitors: pure ---------------------------------------------------------------------------------

def test_plan_no_visits_gives_an_honest_skip_reason():
    assert plan_visitor_runs([], 17) == ([], 17, "no new visits since seq 17")


def test_history_older_than_a_day_is_passed_over_not_alerted(inbox_path):
    with VisitInbox(inbox_path) as box:
        fill(box, 30, seen_at="2024-01-01T00:00:00Z")  # replayed history
        fill(box, 5, start=30)  # live visits
        visits = box.read_after(0, 1000)
    runs, cursor, skip = plan_visitor_runs(visits[:30], 0, max_age=timedelta(hours=24))
    assert runs == [] and cursor == 30 and skip.startswith("30 visit(s) older than 1 day")
    runs, cursor, skip = plan_visitor_runs(visits, 30, max_age=timedelta(hours=24))
    assert [r["run_key"] for r in runs] == ["visits-31-35"] and cursor == 35 and skip is None


def test_plan_120_visits_is_three_deterministic_batches(inbox_path):
    with VisitInbox(inbox_path) as box:
        fill(box, 120)
        visits = box.read_after(0, 1000)
    runs, cursor, skip = plan_visitor_runs(visits, 0, batch_size=50)
    assert skip is None and cursor == 120
    assert runs == [
        {"run_key": "visits-1-50", "first_seq": 1, "last_seq": 50, "visit_count": 50},
        {"run_key": "visits-51-100", "first_seq": 51, "last_seq": 100, "visit_count": 50},
        {"run_key": "visits-101-120", "first_seq": 101, "last_seq": 120, "visit_count": 20},
    ]
    assert plan_visitor_runs(list(reversed(visits)), 0) == (runs, cursor, skip)  # order-independent
    # Re-evaluating with the returned cursor: nothing new.
    assert plan_visitor_runs([v for v in visits if v.seq > cursor], cursor) == ([], 120, "no new visits since seq 120")


def test_plan_ignores_visits_at_or_before_the_cursor_and_counts_gaps_honestly(inbox_path):
    with VisitInbox(inbox_path) as box:
        fill(box, 3)
        v = box.read_after(0, 10)
    sparse = [InboxVisit(seq, v[0].visit, v[0].received_at) for seq in (4, 7, 9)]
    runs, cursor, _ = plan_visitor_runs(v + sparse, 3, batch_size=50)
    assert runs == [{"run_key": "visits-4-9", "first_seq": 4, "last_seq": 9, "visit_count": 3}] and cursor == 9


# --- visitors: the Dagster sensor, tick by tick -------------------------------------------------------

def tick(sensor: dg.SensorDefinition, instance, cursor, **resources):
    return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, instance=instance, resources=resources))


def test_visitor_sensor_ticks(inbox_path, instance):
    sensor = build_new_visitors_sensor(engagement_job, minimum_interval_seconds=5)
    assert sensor.minimum_interval_seconds == 5 and sensor.job_name == "visitor_engagements_job"
    inbox = InboxResource(path=inbox_path)

    first = tick(sensor, instance, None, inbox=inbox)
    assert first.run_requests == [] and first.skip_message == "no new visits since seq 0"

    with VisitInbox(inbox_path) as box:
        fill(box, 120)
    second = tick(sensor, instance, first.cursor, inbox=inbox)
    assert second.cursor == "120"
    assert [r.run_key for r in second.run_requests] == ["visits-1-50", "visits-51-100", "visits-101-120"]
    assert [(r.tags[TAG_FROM], r.tags[TAG_TO]) for r in second.run_requests] == [("1", "50"), ("51", "100"), ("101", "120")]

    third = tick(sensor, instance, second.cursor, inbox=inbox)
    assert third.run_requests == [] and third.skip_message == "no new visits since seq 120"

    with VisitInbox(inbox_path) as box:
        fill(box, 30, start=1000)
    fourth = tick(sensor, instance, third.cursor or second.cursor, inbox=inbox)
    assert [r.run_key for r in fourth.run_requests] == ["visits-121-150"] and fourth.cursor == "150"


def test_visitor_sensor_bounds_a_backlog_per_tick(inbox_path, instance):
    sensor = build_new_visitors_sensor(engagement_job, batch_size=10, max_batches_per_tick=2)
    with VisitInbox(inbox_path) as box:
        fill(box, 55)
    inbox = InboxResource(path=inbox_path)
    keys, cursor = [], None
    for _ in range(3):
        result = tick(sensor, instance, cursor, inbox=inbox)
        keys += [r.run_key for r in result.run_requests]
        cursor = result.cursor
    assert keys == ["visits-1-10", "visits-11-20", "visits-21-30", "visits-31-40", "visits-41-50", "visits-51-55"]


def test_visitor_sensor_rejects_a_garbled_cursor(inbox_path, instance):
    sensor = build_new_visitors_sensor(engagement_job)
    with pytest.raises(Exception, match="cursor must be an integer"):
        tick(sensor, instance, "not-a-seq", inbox=InboxResource(path=inbox_path))


# --- stalls: pure -------------------------------------------------------------------------------------

def deal(opp: str, days: int, since: date | None, threshold: int = 14, stage: str = "Proposal") -> dict:
    return {"opportunity_id": opp, "stage_name": stage, "days_inactive": days, "stall_threshold": threshold,
            "stalled_since": since}


D1 = date(2026, 10, 1)


def test_a_stall_is_planned_once_and_never_again():
    deals = [deal("o1", 20, D1), deal("o2", 3, None), deal("o3", 15, date(2026, 10, 5), stage="Demo")]
    runs, planned, skip = plan_stall_runs(deals, set())
    assert [r["run_key"] for r in runs] == ["stall-o1-2026-10-01", "stall-o3-2026-10-05"]
    assert runs[1] == {"run_key": "stall-o3-2026-10-05", "opportunity_id": "o3", "stage_name": "Demo",
                       "stalled_since": "2026-10-05", "days_inactive": 15}
    assert skip is None and planned == {"stall-o1-2026-10-01", "stall-o3-2026-10-05"}

    # Same deals, a day staler: nothing new.
    staler = [dict(d, days_inactive=d["days_inactive"] + 1) for d in deals]
    runs2, planned2, skip2 = plan_stall_runs(staler, planned)
    assert runs2 == [] and planned2 == planned and skip2 == "no newly stalled deals (2 stall(s) already planned)"


def test_a_revived_deal_that_stalls_again_is_a_new_stall():
    _, planned, _ = plan_stall_runs([deal("o1", 20, D1)], set())
    _, planned, _ = plan_stall_runs([deal("o1", 0, None)], planned)  # revived: key dropped
    assert planned == set()
    later = D1 + timedelta(days=40)
    runs, planned, _ = plan_stall_runs([deal("o1", 15, later)], planned)
    assert [r["run_key"] for r in runs] == [f"stall-o1-{later.isoformat()}"]


def test_a_deal_missing_from_one_fetch_is_not_replanned_and_old_keys_expire():
    _, planned, _ = plan_stall_runs([deal("o1", 20, D1)], set())
    runs, kept, _ = plan_stall_runs([], planned, today=D1 + timedelta(days=30))  # e.g. warehouse mid-rebuild
    assert runs == [] and kept == planned
    assert plan_stall_runs([deal("o1", 20, D1)], kept)[0] == []
    assert plan_stall_runs([], planned, today=D1 + timedelta(days=181))[1] == set()


def test_threshold_and_date_forms():
    runs, _, _ = plan_stall_runs([deal("a", 13, D1), deal("b", 14, "2026-10-01T08:00:00"), deal("c", 99, None)], set())
    assert [r["run_key"] for r in runs] == ["stall-b-2026-10-01"]


# --- stalls: the Dagster sensor ------------------------------------------------------------------------

def test_stalled_sensor_ticks(instance):
    deals: list[dict] = []
    sensor = build_stalled_deals_sensor(stall_job, lambda context: list(deals))

    first = tick(sensor, instance, None)
    assert first.run_requests == [] and first.skip_message.startswith("no newly stalled deals")

    deals += [deal("o1", 20, D1), deal("o2", 30, D1 - timedelta(days=9), stage="Negotiation")]
    second = tick(sensor, instance, first.cursor)
    assert [r.run_key for r in second.run_requests] == ["stall-o1-2026-10-01", "stall-o2-2026-09-22"]
    assert second.run_requests[1].tags["revops/stage"] == "Negotiation"
    assert json.loads(second.cursor) == ["stall-o1-2026-10-01", "stall-o2-2026-09-22"]

    third = tick(sensor, instance, second.cursor)
    assert third.run_requests == [] and third.skip_message == "no newly stalled deals (2 stall(s) already planned)"

    deals[0] = deal("o1", 2, None)  # o1 revived: the cursor forgets it, nothing launched
    fourth = tick(sensor, instance, second.cursor)
    assert fourth.run_requests == [] and json.loads(fourth.cursor) == ["stall-o2-2026-09-22"]


def test_stalled_sensor_can_use_resources_for_fetching(instance):
    class Ghosts(dg.ConfigurableResource):
        stalled: int

        def deals(self) -> list[dict]:
            return [deal(f"g{i}", 30, D1) for i in range(self.stalled)]

    sensor = build_stalled_deals_sensor(stall_job, lambda context: context.resources.ghosts.deals(),
                                        required_resource_keys={"ghosts"})
    result = tick(sensor, instance, None, ghosts=Ghosts(stalled=2))
    assert [r.run_key for r in result.run_requests] == ["stall-g0-2026-10-01", "stall-g1-2026-10-01"]


def test_sensors_load_in_definitions(inbox_path):
    defs = dg.Definitions(
        assets=[visitor_engagements, stall_plays],
        jobs=[engagement_job, stall_job],
        sensors=[build_new_visitors_sensor(engagement_job), build_stalled_deals_sensor(stall_job, lambda c: [])],
        resources={"inbox": InboxResource(path=inbox_path)},
    )
    dg.Definitions.validate_loadable(defs)
    running = build_new_visitors_sensor(engagement_job, default_status=dg.DefaultSensorStatus.RUNNING)
    assert running.default_status == dg.DefaultSensorStatus.RUNNING
    assert build_stalled_deals_sensor(stall_job, lambda c: []).default_status == dg.DefaultSensorStatus.STOPPED
    assert {defs.resolve_sensor_def(n).name for n in ("new_visitors_sensor", "stalled_deals_sensor")} == {"new_visitors_sensor", "stalled_deals_sensor"}


# --- directives: pure ---------------------------------------------------------------------------------

A, B = "a" * 12, "b" * 12


def test_directive_edits_are_planned_tick_by_tick():
    waiting, cursor, skip = plan_directives_run(A, None, None)
    assert waiting is None and cursor is None and skip.startswith("directives never materialized")

    same, cursor, skip = plan_directives_run(A, A, None)
    assert same is None and cursor is None and skip == f"directives unchanged (version {A})"

    edit, cursor, _ = plan_directives_run(B, A, cursor)
    assert edit == {"run_key": f"directives-{B}-1", "version": B}

    queued, kept, skip = plan_directives_run(B, A, cursor)  # requested, its run not done yet: no second run
    assert queued is None and kept == cursor and "requested, not materialized yet" in skip

    done, kept, skip = plan_directives_run(B, B, cursor)
    assert done is None and kept == cursor and skip == f"directives unchanged (version {B})"

    error = "directives/lead_processing.md:12: intent.weights.funding: Input should be a valid number"
    broken, kept, skip = plan_directives_run(None, B, cursor, error=error)
    assert broken is None and kept == cursor and error in skip and f"keeps version {B}" in skip

    # Reverting to A must run again, under a new key: Dagster never launches a run key twice per sensor.
    revert, cursor, _ = plan_directives_run(A, B, kept)
    assert revert == {"run_key": f"directives-{A}-2", "version": A}
    assert json.loads(cursor) == {"version": A, "runs": 2}


def test_directives_sensor_rejects_a_garbled_cursor():
    for garbled in ("not json", "[]", '{"version": 1, "runs": 1}', '{"version": "x", "runs": -1}'):
        with pytest.raises(ValueError, match="directives sensor cursor"):
            plan_directives_run(A, B, garbled)


# --- directives: the Dagster sensor over real files, and staleness in a real instance ----------------------

@pytest.fixture
def directives_settings(tmp_path):
    import shutil

    from revops_assets.settings import load_settings

    shutil.copytree(Path(__file__).resolve().parent.parent / "directives", tmp_path / "directives")
    return load_settings({"REVOPS_HOME": str(tmp_path / "home"), "REVOPS_ENV": "demo",
                          "REVOPS_DIRECTIVES_DIR": str(tmp_path / "directives")})


def _wired(settings) -> tuple[dg.JobDefinition, dg.SensorDefinition]:
    """The directives job and sensor exactly as jobs.py wires them."""
    from revops_assets.jobs import build_jobs_and_automation

    jobs, _, sensors = build_jobs_and_automation(settings)
    return next(j for j in jobs if j.name == "directives_job"), next(s for s in sensors if s.name == "directives_changed")


def test_directives_sensor_is_wired_running_in_demo_and_stopped_in_live(directives_settings, tmp_path):
    from revops_assets.settings import load_settings

    job, sensor = _wired(directives_settings)
    assert sensor.job_name == "directives_job" and sensor.minimum_interval_seconds == 30
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    _, live = _wired(load_settings({"REVOPS_HOME": str(tmp_path / "live"), "REVOPS_ENV": "live"}))
    assert live.default_status == dg.DefaultSensorStatus.STOPPED


@pytest.fixture
def own_instance():
    """These tests materialize ``directives``, which the sensor reads back: an instance of their own."""
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def test_directives_sensor_ticks_over_the_files(directives_settings, own_instance):
    instance = own_instance
    from revops_assets.directives import load_directives
    from revops_assets.resources.core import RevOpsConfig

    _, sensor = _wired(directives_settings)
    revops = RevOpsConfig.from_settings(directives_settings)
    folder = directives_settings.directives_dir
    path, original = folder / "lead_processing.md", (folder / "lead_processing.md").read_text()
    v1 = load_directives(folder).version

    fresh = tick(sensor, instance, None, revops=revops)  # a fresh install: nothing to mark stale yet
    assert fresh.run_requests == [] and fresh.skip_message.startswith("directives never materialized")
    _materialize_directives(directives_settings, instance)
    first = tick(sensor, instance, None, revops=revops)
    assert first.run_requests == [] and first.skip_message == f"directives unchanged (version {v1})"

    path.write_text(original.replace("    funding: 30", "    funding: 35"))
    v2 = load_directives(folder).version
    second = tick(sensor, instance, first.cursor, revops=revops)
    assert v2 != v1 and [(r.run_key, r.tags[TAG_VERSION]) for r in second.run_requests] == [(f"directives-{v2}-1", v2)]
    queued = tick(sensor, instance, second.cursor, revops=revops)  # its run has not happened yet
    assert queued.run_requests == [] and "requested, not materialized yet" in queued.skip_message

    text = original.replace("    funding: 30", "    funding: lots")
    path.write_text(text)  # malformed: an honest skip naming file, line and field; no run, no crash
    line = next(i for i, l in enumerate(text.splitlines(), start=1) if l.strip() == "funding: lots")
    broken = tick(sensor, instance, second.cursor, revops=revops)
    assert broken.run_requests == [] and broken.cursor == second.cursor
    assert f"{path}:{line}: intent.weights.funding: Input should be a valid number" in broken.skip_message

    _materialize_directives(directives_settings, instance, text=original.replace("    funding: 30", "    funding: 35"))
    path.write_text(original)  # v2 materialized, then reverted to v1: runs again, under a key not used before
    reverted = tick(sensor, instance, second.cursor, revops=revops)
    assert [r.run_key for r in reverted.run_requests] == [f"directives-{v1}-2"]


def _materialize_directives(settings, instance, text: str | None = None) -> None:
    """What the daily cycle does: materialize ``directives`` (optionally after writing lead_processing.md)."""
    from revops_assets.assets.rules import directives
    from revops_assets.resources.core import RevOpsConfig

    if text is not None:
        (settings.directives_dir / "lead_processing.md").write_text(text)
    assert dg.materialize([directives], instance=instance, resources={"revops": RevOpsConfig.from_settings(settings)}).success


def test_an_edit_shows_stale_downstream_after_the_sensors_run(directives_settings, own_instance, tmp_path):
    """The issue's promise, end to end: edit a directive, the sensor's run re-materializes ``directives``
    at the new hash, and the assets that read the rules (daily-partitioned like the scores, or not) are STALE."""
    instance = own_instance
    from dagster._core.definitions.data_version import StaleStatus
    from dagster._utils.test.data_versions import get_stale_status_resolver  # what the UI's stale status uses

    from revops_assets.assets._common import daily_partitions
    from revops_assets.assets.rules import directives
    from revops_assets.directives import load_directives
    from revops_assets.resources.core import RevOpsConfig

    @dg.asset(deps=["directives"], partitions_def=daily_partitions)
    def scored_with_rules() -> None: ...

    @dg.asset(deps=["directives"])
    def briefed_with_rules() -> None: ...

    job, sensor = _wired(directives_settings)
    revops = RevOpsConfig.from_settings(directives_settings)
    resources = {"revops": revops, "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "io"))}
    defs = dg.Definitions(assets=[directives, scored_with_rules, briefed_with_rules], jobs=[job], sensors=[sensor],
                          resources=resources)
    directives_job = defs.resolve_job_def("directives_job")
    day = "2025-06-02"

    def run(request: dg.RunRequest) -> None:
        assert directives_job.execute_in_process(instance=instance, tags=request.tags).success

    def status() -> tuple[StaleStatus, StaleStatus]:
        resolver = get_stale_status_resolver(instance, [directives, scored_with_rules, briefed_with_rules])
        return (resolver.get_status(scored_with_rules.key, partition_key=day),
                resolver.get_status(briefed_with_rules.key))

    def recorded_version() -> str:
        event = instance.get_latest_materialization_event(dg.AssetKey("directives"))
        return event.asset_materialization.tags["dagster/data_version"]

    assert tick(sensor, instance, None, revops=revops).run_requests == []  # never materialized: waits
    _materialize_directives(directives_settings, instance)  # the first daily cycle
    first = tick(sensor, instance, None, revops=revops)
    assert first.run_requests == []
    v1 = load_directives(directives_settings.directives_dir).version
    assert recorded_version() == v1
    for asset, key in ((scored_with_rules, day), (briefed_with_rules, None)):
        assert dg.materialize([directives, asset], selection=[asset], partition_key=key, instance=instance,
                              resources=resources).success
    assert status() == (StaleStatus.FRESH, StaleStatus.FRESH)

    path = directives_settings.directives_dir / "ghost_hunting.md"
    path.write_text(path.read_text().replace("stall_days_default: 7", "stall_days_default: 9"))
    assert status() == (StaleStatus.FRESH, StaleStatus.FRESH)  # the file alone changes nothing Dagster sees

    second = tick(sensor, instance, first.cursor, revops=revops)
    run(second.run_requests[0])
    v2 = load_directives(directives_settings.directives_dir).version
    assert v2 != v1 and recorded_version() == v2 == second.run_requests[0].tags[TAG_VERSION]
    assert status() == (StaleStatus.STALE, StaleStatus.STALE)
    resolver = get_stale_status_resolver(instance, [directives, scored_with_rules, briefed_with_rules])
    for asset, key in ((scored_with_rules, day), (briefed_with_rules, None)):
        causes = resolver.get_stale_causes(asset.key, partition_key=key)
        assert [(c.dependency.asset_key, c.reason) for c in causes] == [(dg.AssetKey("directives"), "has a new dependency data version")]
