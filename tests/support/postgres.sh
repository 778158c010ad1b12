#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (Debian's postgresql-15 package): a new cluster in
# a fresh temporary directory, listening on 127.0.0.1 only, on a free port, with its unix socket in
# that directory and trust authentication. Nothing outside the temporary directory is touched.
#
#   postgres.sh init STATE_DIR     create and start; writes STATE_DIR/url (postgresql://postgres@127.0.0.1:PORT,
#                                  append /DBNAME) and STATE_DIR/home (the temporary directory)
#   postgres.sh stop STATE_DIR     fast shutdown, keeping the data and the port
#   postgres.sh start STATE_DIR    start again on the same port
#   postgres.sh destroy STATE_DIR  stop and remove everything (also what `init` does first)
#
# initdb refuses to run as root: as root, the server runs as the `postgres` system user, which
# owns the temporary directory. PG_BINDIR overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

cmd=${1:?usage: postgres.sh init|stop|start|destroy STATE_DIR}
state=${2:?usage: postgres.sh init|stop|start|destroy STATE_DIR}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

home() { cat "$state/home" 2>/dev/null || true; }

pg_ctl_in() {  # pg_ctl with the cluster's data directory, run from the cluster's home
  local h
  h=$(home)
  (cd "$h" && as_owner "$bindir/pg_ctl" -D "$h/data" -l "$h/server.log" "$@")
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

destroy() {
  local h
  h=$(home)
  if [[ -n "$h" && -d "$h" ]]; then
    if [[ -f "$h/data/postmaster.pid" ]]; then
      pg_ctl_in -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$h"
  fi
  rm -f "$state/url" "$state/home"
}

case "$cmd" in
  init)
    [[ -x "$bindir/initdb" ]] || { echo "postgres.sh: $bindir/initdb not found (apt-get install postgresql-15)" >&2; exit 1; }
    mkdir -p "$state"
    destroy  # a server left behind by an interrupted run
    h=$(mktemp -d "${TMPDIR:-/tmp}/togglemaster-pg-XXXXXX")
    echo "$h" >"$state/home"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$h"; fi
    if ! (cd "$h" && as_owner "$bindir/initdb" -D "$h/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
          --no-sync --no-instructions >"$h/initdb.log" 2>&1); then
      cat "$h/initdb.log" >&2
      destroy
      exit 1
    fi
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 30000))
      port_in_use "$port" && continue
      # Settings for a test server: no durability, enough connections for parallel tests.
      cat >"$h/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$h'
max_connections = 300
shared_buffers = '64MB'
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
      if pg_ctl_in -w -t 30 start >/dev/null 2>&1; then
        echo "postgresql://postgres@127.0.0.1:$port" >"$state/url"
        cat "$state/url"
        exit 0
      fi
    done
    echo "postgres.sh: the server did not start" >&2
    tail -20 "$h/server.log" >&2 || true
    destroy
    exit 1
    ;;
  stop)
    pg_ctl_in -m fast -w -t 30 stop >/dev/null
    ;;
  start)
    pg_ctl_in -w -t 30 start >/dev/null
    ;;
  destroy)
    destroy
    ;;
  *)
    echo "postgres.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
