"""The Dagster definitions: assets by agent, the daily cycle, sensors and resources for the mode."""

from __future__ import annotations

import dagster as dg

from revops_assets.assets import all_assets, all_checks
from revops_assets.jobs import build_jobs_and_automation
from revops_assets.resources.registry import build_resources
from revops_assets.settings import load_settings

settings = load_settings()
jobs, schedules, sensors = build_jobs_and_automation(settings)

defs = dg.Definitions(
    assets=all_assets(settings),
    asset_checks=all_checks(),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=build_resources(settings),
)
