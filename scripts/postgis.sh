#!/usr/bin/env bash
# Install (if needed) and start a throwaway PostGIS cluster, then print its SQLAlchemy URL.
#
#   eval "$(scripts/postgis.sh start)"   # exports GEOGAPS_TEST_DATABASE_URL
#   scripts/postgis.sh stop
#
# PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` system user.
# Everything lives under $GEOGAPS_PG_DIR (default /tmp/geogaps-pg) and listens on loopback only.
set -euo pipefail

PG_VERSION=15
PG_DIR=${GEOGAPS_PG_DIR:-/tmp/geogaps-pg}
PG_PORT=${GEOGAPS_PG_PORT:-55432}
DB_NAME=${GEOGAPS_PG_DB:-geogaps_test}
BIN=/usr/lib/postgresql/$PG_VERSION/bin

# shellcheck source=scripts/apt.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/apt.sh"

install_packages() {
  local missing=()
  [ -x "$BIN/initdb" ] || missing+=(postgresql "postgresql-$PG_VERSION")
  [ -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ] || missing+=("postgresql-$PG_VERSION-postgis-3")
  command -v ogr2ogr >/dev/null || missing+=(gdal-bin)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt_install "${missing[@]}"
  fi
}

run_as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else sudo -u postgres "$@"; fi
}

start() {
  install_packages
  as_root mkdir -p "$PG_DIR"
  as_root chown postgres:postgres "$PG_DIR"
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    run_as_pg "$BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >&2
  fi
  if ! run_as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    run_as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2
  fi
  psql_cmd() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
  psql_cmd -d postgres -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >&2
  psql_cmd -d postgres -c "CREATE DATABASE $DB_NAME" >&2
  psql_cmd -d "$DB_NAME" -c "CREATE EXTENSION postgis" >&2
  echo "export GEOGAPS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
}

stop() {
  run_as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >&2 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
