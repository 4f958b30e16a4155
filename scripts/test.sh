#!/usr/bin/env bash
# Sets up and runs the whole test suite. Services (PostgreSQL, Redis) are used on 127.0.0.1 when
# present; with CI=true, tests that need them or Chromium fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng >/dev/null) \
    || echo "warning: could not install chromium; browser tests will skip (or fail with CI=true)"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0
exec .venv/bin/pytest -q "$@"
