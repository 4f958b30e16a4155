#!/usr/bin/env bash
# Creates .venv and installs the project with its test extras (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned in pyproject.toml to a CPU build; see README "Install notes".
.venv/bin/python -m pip install -q -e '.[test]'
