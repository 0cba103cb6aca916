#!/usr/bin/env bash
# The whole test suite: ruff, mypy (strict on the libraries), then pytest on SQLite, on a real
# PostgreSQL server started on loopback for the run, and in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy (strict: questionnaires, scoring, delivery)"
.venv/bin/mypy
echo "==> pytest"
pgdir=$(mktemp -d -t survey-pg-XXXXXX)
trap 'scripts/pg.sh stop "$pgdir"' EXIT
if ! SURVEY_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir"); then
  echo "PostgreSQL could not be started (see above): the integration tests need it." >&2
  exit 1
fi
export SURVEY_TEST_POSTGRES_URL
.venv/bin/pytest -q -p no:cacheprovider "$@"
