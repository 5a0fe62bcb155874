#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the database tests and print the URL to use:
#
#   eval "$(bash .ci/postgres.sh)"     # sets ARCHCLASS_TEST_POSTGRES_URL
#
# Idempotent: installs the Debian 'postgresql' package only if no server binaries are found, creates
# the cluster under $ARCHCLASS_PG_DIR (default /tmp/archclass-pg) only once, starts it only if it is
# not running, creates the database only if it is missing. The server listens on 127.0.0.1 only, on
# $ARCHCLASS_PG_PORT (default 54329), with trust authentication for local connections: it is for
# tests, never for data you care about. Stop it with:
#   pg_ctl -D /tmp/archclass-pg/data stop      (as the user that owns the directory)
#
# The directory's name is predictable and /tmp is shared, so the script trusts it only if it made it:
# it creates it with mkdir (which follows no symlink and fails if anything is there), and reuses an
# existing one only if it is a real directory (not a symlink), owned by the server's user, with mode
# 700, holding a real data directory. Anything else is refused, and nothing is chowned or chmodded.
#
# Everything but the final export line goes to stderr, so eval sees only that line.
set -euo pipefail

PGDIR="${ARCHCLASS_PG_DIR:-/tmp/archclass-pg}"
PORT="${ARCHCLASS_PG_PORT:-54329}"
DBNAME="${ARCHCLASS_PG_DB:-archclass_test}"
DBUSER="${ARCHCLASS_PG_USER:-archclass}"

log() { echo "postgres.sh: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
    log "need root (or passwordless sudo) to run: $*"; return 1; fi
}

find_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

# initdb and the server refuse to run as root: use the 'postgres' system user then.
if [ "$(id -u)" -eq 0 ]; then
  RUNAS=postgres
  id "$RUNAS" >/dev/null 2>&1 || as_root useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$RUNAS"
  run() { runuser -u "$RUNAS" -- "$@"; }
else
  RUNAS="$(id -un)"
  run() { "$@"; }
fi

DATA="$PGDIR/data"

refuse() { log "refusing $PGDIR: $*; remove it or set ARCHCLASS_PG_DIR to another path"; exit 1; }

if [ -e "$PGDIR" ] || [ -L "$PGDIR" ]; then
  [ -L "$PGDIR" ] && refuse "it is a symbolic link"
  [ -d "$PGDIR" ] || refuse "it is not a directory"
  [ "$(stat -c %U "$PGDIR")" = "$RUNAS" ] || refuse "it is owned by $(stat -c %U "$PGDIR"), not $RUNAS"
  [ "$(stat -c %a "$PGDIR")" = "700" ] || refuse "its mode is $(stat -c %a "$PGDIR"), not 700"
  if [ -e "$DATA" ] || [ -L "$DATA" ]; then
    [ -L "$DATA" ] && refuse "its data directory is a symbolic link"
    [ -d "$DATA" ] || refuse "its data is not a directory"
    [ "$(stat -c %U "$DATA")" = "$RUNAS" ] || refuse "its data directory is owned by $(stat -c %U "$DATA")"
  fi
else
  # mkdir fails if anything (a symlink included) appeared at the path meanwhile; in a sticky /tmp no
  # one else can then move or replace the directory it made.
  (umask 077 && mkdir "$PGDIR") || refuse "cannot create it"
  if [ "$(id -u)" -eq 0 ]; then chown -h "$RUNAS" "$PGDIR"; fi
fi

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
  log "installing PostgreSQL (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  BINDIR="$(find_bindir)"
fi
log "using server binaries in $BINDIR"

if [ ! -s "$DATA/PG_VERSION" ]; then
  log "creating cluster in $DATA"
  run "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2 \
    || run "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >&2
fi

if run "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "server already running"
else
  log "starting server on 127.0.0.1:$PORT"
  run "$BINDIR/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c fsync=off -c max_connections=100" start >&2
fi

psql_admin() { run "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DBUSER'")" != "1" ]; then
  log "creating role $DBUSER"
  psql_admin -c "CREATE ROLE $DBUSER LOGIN PASSWORD '$DBUSER'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" != "1" ]; then
  log "creating database $DBNAME"
  psql_admin -c "CREATE DATABASE $DBNAME OWNER $DBUSER" >&2
fi

echo "export ARCHCLASS_TEST_POSTGRES_URL=postgresql+psycopg://$DBUSER:$DBUSER@127.0.0.1:$PORT/$DBNAME"
