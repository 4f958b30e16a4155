"""Shared fixtures: a fresh Hive-Mind home on a small sample workspace, service probes, and a factory
of service emulators (``service_emulator``) that the client test modules bind to their service.

Tests that need PostgreSQL, Redis or Chromium skip with a reason on a machine without them, but
with ``CI=true`` they fail instead: CI must prove them.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
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


class ServiceEmulator:
    """One service's emulator on loopback, as its client sees it: app -> FaultInjector -> Recorder -> server.

    ``script`` scripts the first requests' faults (then everything goes through); otherwise ``faults``
    (default: none) applies. ``client(**overrides)`` is the service's resource aimed at this server.
    """

    def __init__(self, module, sample_dir: Path, store_path: Path, make_client, script: list[str] | None = None,
                 faults=None):
        from recording import Recorder
        from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, Faults

        self.app = module.build_app(DocStore(store_path), sample_dir)
        if script is not None:  # a scripted "timeout" stalls 0.5 s: past the 0.25 s client timeout tests use
            faults = Faults(timeout_s=0.5)
        self.injector = FaultInjector(self.app, faults or Faults(), module.error_response, script=script)
        self.recorder = Recorder(self.injector)
        self.server = EmulatorServer(self.recorder).start()
        self._make_client = make_client

    def client(self, **overrides):
        return self._make_client(self.server.url, **overrides)

    @property
    def calls(self) -> list:
        """What the client sent (and got back), the emulator's own /_emulator endpoints left out."""
        return [e for e in self.recorder.exchanges if not e.path.startswith("/_emulator")]


@pytest.fixture
def service_emulator(tmp_path: Path):
    """Factory: ``service_emulator(module, sample_dir, make_client, script=..., faults=...)`` starts a
    :class:`ServiceEmulator` for ``revops_assets.emulators.<module>`` (its state in a fresh SQLite file
    under ``tmp_path``); every one started is stopped at teardown. ``make_client(url, **overrides)``
    builds the service's resource. Test modules bind it to their service in a small ``emulator`` fixture."""
    made: list[ServiceEmulator] = []

    def make(module, sample_dir: Path, make_client, **kwargs) -> ServiceEmulator:
        name = module.__name__.rsplit(".", 1)[-1]
        made.append(ServiceEmulator(module, sample_dir, tmp_path / f"{name}{len(made)}.sqlite", make_client, **kwargs))
        return made[-1]

    yield make
    for emu in made:
        emu.server.stop()


def _target_list(n: int, seed: int) -> pd.DataFrame:
    """A target-account list with the awkward cases: unknown industry/region, NaN and negative head
    counts, a categorical column, accounts with no signal, and the wide ``<type>_days_ago`` layout."""
    rng = np.random.default_rng(seed)
    acc = pd.DataFrame({
        "domain": [f"t{i}.com" for i in range(n)],
        "industry": pd.Categorical(rng.choice(["SaaS", "fintech", "Retail", None], n)),
        "employee_count": np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(5, 1.4, n).round()),
        "region": rng.choice(["North America", "emea", "APAC", None], n).astype(object),
        "title": rng.choice(["VP Sales", "Intern", None, "Head of Ops"], n),
        "funding_days_ago": np.where(rng.random(n) < 0.3, rng.uniform(-5, 300, n), np.nan),
        "hiring_days_ago": np.where(rng.random(n) < 0.3, rng.uniform(0, 300, n), np.nan),
        "launch_days_ago": np.where(rng.random(n) < 0.2, rng.uniform(0, 300, n), np.nan),
        "visits_30d": rng.poisson(1.2, n),
    })
    acc["pricing_visits_30d"] = rng.binomial(acc["visits_30d"], 0.4)
    acc.loc[acc.index[::17], "employee_count"] = -4
    return acc


@pytest.fixture
def target_list():
    """Builds ``(n, seed) ->`` a target-account list with the awkward cases (``_target_list``)."""
    return _target_list
