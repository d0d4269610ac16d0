#!/usr/bin/env bash
# The test command: install everything, start a throwaway PostGIS, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/browser.sh >/dev/null
eval "$(scripts/postgis.sh start)"
export GEOGAPS_TEST_DATABASE_URL
trap 'scripts/postgis.sh stop' EXIT

echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy domain geo_service layers analysis maps tests
echo "== pytest"
set +e
# Two workers (one per core), one module per worker at a time: module fixtures stay per module.
.venv/bin/python -m pytest -n "${GEOGAPS_TEST_WORKERS:-2}" --dist loadfile --durations=15 --cov --cov-report=term "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
