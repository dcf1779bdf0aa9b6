#!/usr/bin/env bash
# Start (or stop) a throw-away PostgreSQL server for the tests, installing Debian's package when missing.
# Usage: scripts/postgres.sh start|stop   — prints the database URL on start.
set -euo pipefail
PGDIR=${AEGIS_PG_DIR:-/tmp/aegis-pg}
PORT=${AEGIS_PG_PORT:-55432}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

case "${1:-start}" in
start)
  BIN=$(find_bin)
  if [ -z "$BIN" ]; then
    echo "installing postgresql from Debian's packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    BIN=$(find_bin)
  fi
  RUNAS=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    RUNAS=(runuser -u postgres --)
  fi
  if ! "${RUNAS[@]}" "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
    rm -rf "$PGDIR"; mkdir -p "$PGDIR"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
    "${RUNAS[@]}" "$BIN/initdb" -D "$PGDIR" -U aegis --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${RUNAS[@]}" "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  fi
  "${RUNAS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U aegis -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='aegis_test'" | grep -q 1 || \
    "${RUNAS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U aegis aegis_test
  echo "postgresql+psycopg://aegis@127.0.0.1:$PORT/aegis_test"
  ;;
stop)
  BIN=$(find_bin)
  RUNAS=(); [ "$(id -u)" = 0 ] && RUNAS=(runuser -u postgres --)
  [ -n "$BIN" ] && "${RUNAS[@]}" "$BIN/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
