#!/usr/bin/env bash
# Install the platform and start it with the example services and demo accounts.
# README's run command.  Data goes to ./data (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
exec .venv/bin/eservice serve --demo --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
