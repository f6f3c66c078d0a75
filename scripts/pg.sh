#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: own data folder, own port, loopback only.
# Usage: scripts/pg.sh start|stop|restart|url. Installs Debian's server packages when none is present.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PGPORT=${CUTOVER_PG_PORT:-54329}
PGDIR=${CUTOVER_PG_DIR:-$here/.pg}
# PostgreSQL's own cache: the tests need little; a benchmark at 1,000,000 cases wants more (docs/benchmarks.md).
SHARED_BUFFERS=${CUTOVER_PG_SHARED_BUFFERS:-256MB}
url="postgresql+psycopg://cutover@127.0.0.1:$PGPORT/cutover"
# The server's options, the same on start and restart (no durability: a throwaway cluster).
SERVER_OPTS="-p $PGPORT -c listen_addresses=127.0.0.1 -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=$SHARED_BUFFERS"

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_server() {
  if ! find_bin >/dev/null; then
    echo "pg.sh: no PostgreSQL server found; installing Debian's postgresql package" >&2
    if [ "$(id -u)" != "0" ]; then echo "pg.sh: need root to install postgresql" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
  fi
  if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
}

start() {
  ensure_server
  local bin; bin=$(find_bin)
  mkdir -p "$PGDIR"
  [ "$(id -u)" = "0" ] && chown -R postgres "$PGDIR"
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$PGDIR/data" -U cutover --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
      || { echo "pg.sh: initdb failed, see $PGDIR/initdb.log" >&2; tail -5 "$PGDIR/initdb.log" >&2; exit 1; }
  fi
  if as_owner "$bin/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
    echo "$url"; return 0
  fi
  as_owner "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
    -o "$SERVER_OPTS" >/dev/null \
    || { echo "pg.sh: the PostgreSQL server did not start, see $PGDIR/server.log" >&2; tail -5 "$PGDIR/server.log" >&2; exit 1; }
  "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U cutover -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='cutover'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U cutover cutover
  echo "$url"
}

stop() {
  local bin; bin=$(find_bin) || exit 0
  [ -f "$PGDIR/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
}

restart() {
  local bin; bin=$(find_bin)
  as_owner "$bin/pg_ctl" -D "$PGDIR/data" -m fast -w -t 60 restart \
    -o "$SERVER_OPTS" \
    -l "$PGDIR/server.log" >/dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  url) echo "$url" ;;
  *) echo "usage: scripts/pg.sh start|stop|restart|url" >&2; exit 2 ;;
esac
