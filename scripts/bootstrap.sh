#!/usr/bin/env bash
# Create .venv with Python 3.11 and install geogaps with its development tools, pinned by
# constraints.txt.
# Works on a fresh Debian machine: installs python3-venv from Debian if the venv module is missing.
set -euo pipefail
# shellcheck source=scripts/apt.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/apt.sh"
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "geogaps needs Python 3.11 (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins every package we ship and test with (regenerate it with
# `.venv/bin/python -m pip freeze --exclude-editable > constraints.txt` after changing pyproject).
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
