"""Jobs, the daily schedule and the sensors: what runs when."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_celery import celery_executor

from revops_assets.assets._common import daily_partitions
from revops_assets.settings import Settings
from revops_assets.sensors.directives import build_directives_changed_sensor
from revops_assets.sensors.stalled import build_stalled_deals_sensor
from revops_assets.sensors.visitors import build_new_visitors_sensor

DAILY_HOUR = 6  # local time: briefings are ready before the AEs' day starts


def build_jobs_and_automation(settings: Settings):
    from revops_assets.assets.coach import fetch_stalled_deals

    daily_cycle = dg.define_asset_job(
        "daily_cycle",
        # Everything, including the real-time assets: run daily they catch up on the last 24 h of visits
        # and today's ghosts; their side effects are keyed, so the sensors' runs never repeat them.
        selection=dg.AssetSelection.all(),
        partitions_def=daily_partitions,
        description="The Hive-Mind's day: snapshots → enrichment → intent → scores → actions → briefings → learnings.",
    )
    # The same day, each step a Celery task on the workers (docs/OPERATIONS.md). Broker and result
    # backend come from the environment wherever a run is planned or orchestrated (webserver, daemon,
    # CLI), however it is launched; the workers read the same two variables through deploy/celery.yaml.
    daily_cycle_celery = dg.define_asset_job(
        "daily_cycle_celery",
        selection=daily_cycle.selection,
        partitions_def=daily_partitions,
        executor_def=celery_executor.configured(
            {"broker": {"env": "DAGSTER_CELERY_BROKER_URL"}, "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"}},
            name="celery",
        ),
        description="The daily cycle with every step run by a Celery worker (see docs/OPERATIONS.md).",
    )
    # History is a backfill of this job: the snapshots and every score, nothing that acts (no emails, no
    # CRM writes, no Slack). In-process: every step is in pool "duckdb", so a process per step would
    # only spend its start-up holding the slot (docs/OPERATIONS.md, "Executors").
    # Not `directives`: it is unpartitioned, so a job backfill would re-materialize it once per day (the
    # same hash each time: N writes queued on the one DuckDB slot for nothing). A backfilled day scores
    # with the directive files as they are at run time, stamps their version on every lead score
    # (`directive_version`) and records in its provenance the version `directives` was last materialized
    # at, which `directives_changed` keeps equal to the files.
    rescore_history = dg.define_asset_job(
        "rescore_history",
        selection=dg.AssetSelection.assets("lead_scores", "ghost_list").upstream() - dg.AssetSelection.assets("directives"),
        partitions_def=daily_partitions,
        executor_def=dg.in_process_executor,
        description="COACH/SCOUT for a past day: snapshots → enrichment → intent → lead scores and ghosts, point-in-time. "
                    "Backfill it to rescore history (UI, `dagster job backfill -j rescore_history`, or GraphQL). "
                    "Scores use the directive files as they are when each step runs and record their version "
                    "(`directive_version` on each lead score; the `directives` version in each day's provenance). "
                    "`directives` itself is not in the job: it is unpartitioned, and a backfill would re-materialize "
                    "it once per day; the `directives_changed` sensor keeps it current (if that sensor is stopped, "
                    "materialize `directives` before backfilling).",
    )
    directives_job = dg.define_asset_job(
        "directives_job", selection=dg.AssetSelection.assets("directives"),
        executor_def=dg.in_process_executor,  # one small step
        description="Re-reads the directives (launched by `directives_changed` when one is edited), "
                    "so everything that reads them shows stale.",
    )
    visitor_job = dg.define_asset_job(
        "visitor_engagement_job", selection=dg.AssetSelection.assets("visitor_engagements"),
        # One step: running it in the run worker saves a second process start and code load (speed to lead).
        executor_def=dg.in_process_executor,
        description="PIPER: research, qualify and alert on new website visitors (launched by the sensor).",
    )
    ghostbuster_job = dg.define_asset_job(
        "ghostbuster_job", selection=dg.AssetSelection.assets("ghost_revivals"),
        description="OPERATOR: one revival sequence per stalled deal (launched by the sensor).",
    )

    default_status = dg.DefaultScheduleStatus.RUNNING if settings.is_demo else dg.DefaultScheduleStatus.STOPPED
    sensor_status = dg.DefaultSensorStatus.RUNNING if settings.is_demo else dg.DefaultSensorStatus.STOPPED

    @dg.schedule(job=daily_cycle, cron_schedule=f"0 {DAILY_HOUR} * * *", execution_timezone=settings.timezone,
                 default_status=default_status, name="daily_cycle_schedule")
    def daily_cycle_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Today's partition, in the configured time zone."""
        when = context.scheduled_execution_time or datetime.now(ZoneInfo(settings.timezone))
        day = when.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
        return dg.RunRequest(run_key=f"daily-{day}", partition_key=day)

    # 1 s: the daemon evaluates sensors about every 5 s anyway; a 5 s interval often just misses a check.
    visitors = build_new_visitors_sensor(visitor_job, minimum_interval_seconds=1, default_status=sensor_status)
    stalled = build_stalled_deals_sensor(ghostbuster_job, fetch_stalled_deals, minimum_interval_seconds=300,
                                         required_resource_keys={"revops"}, default_status=sensor_status)
    # 30 s: an edit shows up stale within a minute; hashing four small files is nothing.
    directives_changed = build_directives_changed_sensor(directives_job, minimum_interval_seconds=30,
                                                         default_status=sensor_status)
    return ([daily_cycle, daily_cycle_celery, rescore_history, directives_job, visitor_job, ghostbuster_job],
            [daily_cycle_schedule], [visitors, stalled, directives_changed])
