"""The whole daily cycle on a small sample workspace, through the real clients and emulators.

This is the README's main job in miniature: every asset materializes, every check passes, the outbox
stays dry-run, the CRM write-back lands in the emulator, and a second run changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import dagster as dg
import duckdb
import pytest

from revops_assets.emulators._server import DocStore
from demo_helpers import load_sample_visits as _load_visits  # tests/ is on sys.path

pytestmark = pytest.mark.slow




def _defs(settings):
    from revops_assets.assets import all_assets
    from revops_assets.jobs import build_jobs_and_automation
    from revops_assets.resources.registry import build_resources

    jobs, schedules, sensors = build_jobs_and_automation(settings)
    return dg.Definitions(assets=all_assets(settings), jobs=jobs, schedules=schedules, sensors=sensors,
                          resources=build_resources(settings))


def _run(defs, instance, day):
    job = defs.resolve_job_def("daily_cycle")
    return job.execute_in_process(instance=instance, partition_key=day, raise_on_error=False)


def test_daily_cycle_end_to_end_and_idempotent(demo_settings, tmp_path):
    home = demo_settings.home
    _load_visits(home)
    defs = _defs(demo_settings)
    day = datetime.now(timezone.utc).date().isoformat()
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        result = _run(defs, instance, day)
        failures = [e.step_key for e in result.all_events if e.is_step_failure]
        assert result.success, f"failed steps: {failures}"
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events() for e in [e.event_specific_data.materialization]}
        expected = {k.to_user_string() for k in defs.resolve_job_def("daily_cycle").asset_layer.executable_asset_keys}
        assert expected <= materialized
        checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert checks and all(c.passed for c in checks), [(c.check_name, c.passed) for c in checks]

        ghl = DocStore(home / "emulators" / "ghl.sqlite")
        sent_before = sum(1 for m in ghl.all("messages") if m.get("direction") == "outbound")
        notes_before, tasks_before = ghl.count("notes"), ghl.count("tasks")
        assert notes_before > 0

        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as db:
            scores = db.execute("SELECT priority, count(*) FROM revops.lead_scores GROUP BY 1").fetchall()
            assert {p for p, _ in scores} <= {"High", "Medium", "Low"} and sum(n for _, n in scores) > 20
            statuses = {s for (s,) in db.execute("SELECT DISTINCT status FROM revops.outbound_log").fetchall()}
            assert statuses and statuses <= {"dry_run", "suppressed", "not_due", "pending"}, statuses
            rows = db.execute("SELECT intent_score, contributions FROM revops.intent_scores").fetchall()
            for score, contributions in rows:
                assert abs(sum(c["points"] for c in json.loads(contributions)) - score) < 0.011
            assert db.execute("SELECT count(*) FROM revops.quarantine").fetchone()[0] > 0
        assert (home / "24h_action_plan.json").exists()
        assert list((home / "briefings" / day).glob("*.md"))
        assert (home / "reasoning_bank.json").exists()

        # a second run: nothing new leaves, the CRM write-back finds everything in place
        again = _run(defs, instance, day)
        assert again.success
        assert sum(1 for m in ghl.all("messages") if m.get("direction") == "outbound") == sent_before
        assert (ghl.count("notes"), ghl.count("tasks")) == (notes_before, tasks_before)
