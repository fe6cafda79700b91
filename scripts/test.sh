#!/usr/bin/env bash
# The README's test command: install everything the tests need, then run them all
# on SQLite and PostgreSQL, browser journeys included.
#
# `bash scripts/test.sh --fast` is the developer loop: no installs, SQLite only, no browser and no
# long suites (unit + service on SQLite + AppTest), a few minutes. CI always runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--fast" ]; then
  shift
  unset JIFEN_TEST_DATABASE_URL JIFEN_REQUIRE_POSTGRES
  python -m ruff check .
  lint-imports --no-cache >/dev/null || lint-imports --no-cache
  exec python -m pytest -n 2 -m "not e2e and not slow and not postgresql" "$@"
fi

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Please install: ${need_apt[*]}" >&2
  fi
fi

python -m pip install -q -r requirements-dev.txt

# axe-core, the accessibility engine the browser tests inject (pinned in tests/e2e/axe/package-lock.json)
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ]; then
  (cd tests/e2e/axe && npm ci --no-audit --no-fund --loglevel=error)
fi

# PostgreSQL: use JIFEN_TEST_DATABASE_URL if given, else a local server (started if stopped).
if [ -z "${JIFEN_TEST_DATABASE_URL:-}" ]; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    ver=$(ls /etc/postgresql | head -n1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
  fi
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then
    export JIFEN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  fi
fi

python -m ruff check .
lint-imports --no-cache >/dev/null || lint-imports --no-cache  # print the report only when a contract breaks
python -m pytest -n 2 "$@"
