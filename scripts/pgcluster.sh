#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a free loopback port, for tests and the demo.
#   pgcluster.sh start DIR [SETTING=VALUE ...]
#                            -> initdb + start, with these settings (after the defaults, so
#                               they win); prints the superuser URL (also in DIR/url)
#   pgcluster.sh standby PRIMARY_DIR DIR [SETTING=VALUE ...]
#                            -> a hot standby of the cluster in PRIMARY_DIR (pg_basebackup,
#                               streaming), with these settings; prints its superuser URL
#   pgcluster.sh crash-restart DIR
#                            -> stop at once, as a crash does (pg_ctl -m immediate: crash
#                               recovery at the start), and start again on the same port
#   pgcluster.sh stop DIR    -> stop and remove DIR
# As root, the server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pgcluster.sh start|stop DIR}
dir=${2:?usage: pgcluster.sh start|stop DIR}
password=pgseal-test

# The server outlives this script: it must not inherit a descriptor that a parent waits on
# (Foundation's Process on Linux watches a socket that stays open while any holder lives).
close_inherited_descriptors() {
  local fd
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
  done
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  close_inherited_descriptors
  [ -x "$bin/initdb" ] || { echo "pgcluster: $bin/initdb not found; run scripts/setup.sh" >&2; exit 2; }
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" -A scram-sha-256 \
    --auth-local=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 2; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 60
max_wal_size = 4GB
logging_collector = off
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
CONF
  for setting in "${@:3}"; do echo "${setting%%=*} = '${setting#*=}'"; done >> "$dir/data/postgresql.conf"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { echo "pgcluster: the server did not start; its log:" >&2; tail -n 20 "$dir/server.log" >&2; exit 2; }
  url="postgres://postgres:$password@127.0.0.1:$port/postgres"
  echo "$url" > "$dir/url"
  echo "$url"
  ;;
standby)
  close_inherited_descriptors
  primary=$dir
  dir=${3:?usage: pgcluster.sh standby PRIMARY_DIR DIR [SETTING=VALUE ...]}
  shift 3
  primary_port=$(sed -n 's/^port = //p' "$primary/data/postgresql.conf" | tail -1)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_owner env PGPASSWORD="$password" "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/data" -R -X stream -c fast \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 2; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  {
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "hot_standby = on"
    for setting in "$@"; do echo "${setting%%=*} = '${setting#*=}'"; done
  } >> "$dir/data/postgresql.conf"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { echo "pgcluster: the standby did not start; its log:" >&2; tail -n 20 "$dir/server.log" >&2; exit 2; }
  url="postgres://postgres:$password@127.0.0.1:$port/postgres"
  echo "$url" > "$dir/url"
  echo "$url"
  ;;
crash-restart)
  close_inherited_descriptors
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { echo "pgcluster: the server did not start again; its log:" >&2; tail -n 20 "$dir/server.log" >&2; exit 2; }
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pgcluster.sh start|stop DIR" >&2; exit 2 ;;
esac
