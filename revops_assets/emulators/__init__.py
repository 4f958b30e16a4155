"""Local, protocol-faithful emulators of the external services, started by the product itself in demo.

``ensure_emulator("ghl", settings)`` starts (once per process and home) the named emulator on an
ephemeral 127.0.0.1 port in a daemon thread and returns its base URL. State lives in SQLite under
``<home>/emulators/`` so several processes (Dagster's multiprocess executor, the CLI, tests) see the
same CRM. Each emulator module exposes ``build_app(store, sample_dir) -> ASGI app`` and
``error_response(status) -> Response`` (the service's own error body).
"""

from __future__ import annotations

import importlib
import threading

from revops_assets.emulators._server import DocStore, EmulatorServer, FaultInjector, faults_from_env
from revops_assets.settings import Settings

MODULES = {
    "ghl": "revops_assets.emulators.gohighlevel",
    "exa": "revops_assets.emulators.exa",
    "openai": "revops_assets.emulators.openai",
    "slack": "revops_assets.emulators.slack",
}

_running: dict[tuple[str, str], EmulatorServer] = {}
_lock = threading.Lock()


def start_emulator(name: str, settings: Settings, port: int = 0) -> EmulatorServer:
    """Start a fresh emulator server (tests use this directly to own its lifetime)."""
    from revops_assets.sample import ensure_sample

    module = importlib.import_module(MODULES[name])
    ensure_sample(settings)
    store = DocStore(settings.emulator_state_dir / f"{name}.sqlite")
    app = FaultInjector(module.build_app(store, settings.sample_dir), faults_from_env(name), module.error_response)
    return EmulatorServer(app, port=port).start()


def ensure_emulator(name: str, settings: Settings) -> str:
    """The base URL of this process's emulator for ``name``, starting it on first use."""
    key = (name, str(settings.home))
    with _lock:
        server = _running.get(key)
        if server is None:
            server = _running[key] = start_emulator(name, settings)
    return server.url
