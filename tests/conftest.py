"""Shared fixtures: a fresh Hive-Mind home on a small sample workspace, and service probes.

Tests that need PostgreSQL, Redis or Chromium skip with a reason on a machine without them, but
with ``CI=true`` they fail instead: CI must prove them.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

PROJECT_DIR = Path(__file__).resolve().parent.parent
SMALL_SAMPLE = {"accounts": 40, "seed": 7}


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def require_service(name: str, available: bool) -> None:
    """Skip without the service, except in CI where its absence is a failure."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI (CI=true) but is not available on 127.0.0.1")
    pytest.skip(f"{name} not available on this machine")


@pytest.fixture
def require_postgres() -> None:
    require_service("PostgreSQL (127.0.0.1:5432)", _port_open("127.0.0.1", 5432))


@pytest.fixture
def require_redis() -> None:
    require_service("Redis (127.0.0.1:6379)", _port_open("127.0.0.1", 6379))


@pytest.fixture
def require_chromium() -> None:
    require_service("Chromium (/usr/bin/chromium)", Path("/usr/bin/chromium").exists())


@pytest.fixture(scope="session")
def small_sample_dir(tmp_path_factory) -> Path:
    """A small generated sample workspace, made once per session (copy it before mutating)."""
    from revops_assets.sample.generator import write_sample

    out = tmp_path_factory.mktemp("sample") / "sample"
    write_sample(out, **SMALL_SAMPLE)
    return out


@pytest.fixture
def demo_home(tmp_path: Path, small_sample_dir: Path, monkeypatch) -> Path:
    """A fresh REVOPS_HOME holding a copy of the small sample; REVOPS_ENV=demo."""
    home = tmp_path / "hive"
    shutil.copytree(small_sample_dir, home / "sample")
    monkeypatch.setenv("REVOPS_HOME", str(home))
    monkeypatch.setenv("REVOPS_ENV", "demo")
    return home


@pytest.fixture
def demo_settings(demo_home: Path):
    from revops_assets.settings import load_settings

    return load_settings({"REVOPS_HOME": str(demo_home), "REVOPS_ENV": "demo"})
