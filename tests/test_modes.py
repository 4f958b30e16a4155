"""Modes and configuration: definitions load in both modes without keys; bad configuration is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from revops_assets.settings import ConfigError, load_settings

BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "EXA_", "OPENAI_", "SLACK_", "REVOPS_"))}
    return env | {"HF_HUB_OFFLINE": "1"} | extra


@pytest.mark.parametrize("mode", ["demo", "live"])
def test_definitions_validate_in_both_modes_without_any_key(mode, tmp_path):
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "revops_assets.definitions"],
        env=_env(REVOPS_ENV=mode, REVOPS_HOME=str(tmp_path), DAGSTER_HOME=str(tmp_path)),
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_definitions_have_every_agent_group_and_the_automation():
    from revops_assets.definitions import defs

    groups = {n.group_name for n in defs.resolve_asset_graph().asset_nodes}
    assert {"directives", "operator", "piper", "scout", "coach", "queen", "analytics"} <= groups
    assert {s.name for s in defs.sensors} == {"new_visitors_sensor", "stalled_deals_sensor", "directives_changed"}
    assert [s.name for s in defs.schedules] == ["daily_cycle_schedule"]


def test_settings_reject_an_unknown_mode_in_one_line():
    with pytest.raises(ConfigError, match="REVOPS_ENV must be 'demo' or 'live', got 'staging'"):
        load_settings({"REVOPS_ENV": "staging"})
    with pytest.raises(ConfigError, match="REVOPS_OUTBOUND_MODE"):
        load_settings({"REVOPS_OUTBOUND_MODE": "yolo"})


def test_cli_reports_bad_configuration_as_one_line_without_a_traceback(tmp_path):
    result = subprocess.run([str(BIN / "revops"), "doctor"], env=_env(REVOPS_ENV="staging", REVOPS_HOME=str(tmp_path)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["Error: REVOPS_ENV must be 'demo' or 'live', got 'staging'"]


def test_live_mode_reads_keys_only_through_envvar(tmp_path):
    import dagster as dg

    from revops_assets.resources.registry import build_resources

    settings = load_settings({"REVOPS_ENV": "live", "REVOPS_HOME": str(tmp_path)})
    resources = build_resources(settings)
    assert isinstance(resources["ghl"].api_key, dg.EnvVar) and resources["ghl"].api_key.env_var_name == "GHL_API_KEY"
    assert resources["exa"].api_key.env_var_name == "EXA_API_KEY"
    assert resources["openai"].offline and resources["openai"].api_key is None  # optional key absent
    assert resources["slack"].webhook_url is None  # unset: a logged no-op


def test_doctor_in_demo_reaches_every_emulator(tmp_path, small_sample_dir):
    import shutil

    shutil.copytree(small_sample_dir, tmp_path / "sample")
    result = subprocess.run([str(BIN / "revops"), "doctor"], env=_env(REVOPS_ENV="demo", REVOPS_HOME=str(tmp_path)),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("ghl", "exa", "openai", "slack"):
        assert any(line.split()[:2] == [name, "ok"] for line in result.stdout.splitlines()), result.stdout
