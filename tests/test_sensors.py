"""Sensors tick by tick: the pure planners, then the Dagster wrappers with a real ephemeral instance."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from revops_assets.receiver.models import parse_visit
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
