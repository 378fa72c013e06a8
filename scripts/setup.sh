#!/usr/bin/env bash
# Create .venv and install the provider with the pinned versions of constraints.txt.
# Idempotent: re-installs only when constraints.txt or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.dativo-installed"
want="$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing airflow-provider-dativo and its pinned dependencies into .venv (log: .venv/install.log)"
  if ! { .venv/bin/python -m pip install --upgrade "pip>=24" \
         && .venv/bin/python -m pip install -c constraints.txt -e '.[test,e2e]'; } > .venv/install.log 2>&1; then
    grep -v "^WARNING: Location" .venv/install.log | tail -40
    exit 1
  fi
  echo "$want" > "$stamp"
fi
