#!/usr/bin/env bash
# Sets up, generates the sample workspace, runs the daily cycle on emulators, then serves the Dagster UI + daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/revops demo "$@"
