#!/usr/bin/env bash
# Stops what scripts/topology/up.sh started, by the PIDs it recorded (and pg_ctl for PostgreSQL),
# front to back: HAProxy, the app instances (graceful: they finish in-flight requests), PgBouncer,
# Redis, the replica, the primary. The data stays unless --purge, which deletes the state
# directory (databases, logs, generated secrets).
set -euo pipefail
# --ha: the topology with automatic failover (Patroni, etcd), a separate path with its own state.
for arg in "$@"; do [ "$arg" != --ha ] || exec bash "$(dirname "${BASH_SOURCE[0]}")/down-ha.sh" "$@"; done
# shellcheck source=scripts/topology/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    -h | --help)
      echo "usage: npm run topology:down [-- --purge]"
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: npm run topology:down [-- --purge])" ;;
  esac
done

if [ ! -d "$STATE" ]; then
  say "nothing to stop: $STATE does not exist"
  exit 0
fi

# Sends $2 to the process of PID file $1 if it is still the one we started (command line contains
# $3); prints its PID when signalled.
signal_pid() {
  local file=$1 sig=$2 expect=$3 pid
  if pid_alive "$file" "$expect"; then
    pid=$(head -n1 "$file") # read once: some remove their PID file as soon as signalled
    kill "-$sig" "$pid"
    echo "$pid"
  fi
}

# A zombie (exited, not yet reaped by its parent, e.g. a PID 1 that does not reap) counts as gone.
running() { [ -r "/proc/$1/status" ] && [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]; }

# Waits up to $2 seconds for the PIDs in $1 to exit, then kills the rest (loudly).
wait_gone() {
  local pids=$1 seconds=$2 pid left
  for _ in $(seq 1 $((seconds * 4))); do
    left=
    for pid in $pids; do running "$pid" && left="$left $pid"; done
    [ -z "$left" ] && return 0
    sleep 0.25
  done
  for pid in $left; do
    warn "PID $pid did not exit within ${seconds}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

stop() { # name, PID file, command-line match, signal, seconds
  local name=$1 file=$2 expect=$3 sig=$4 seconds=$5 pid
  pid=$(signal_pid "$file" "$sig" "$expect")
  if [ -n "$pid" ]; then
    say "stopping $name (PID $pid)"
    wait_gone "$pid" "$seconds"
  fi
  rm -f "$file"
}

stop HAProxy "$RUN_DIR/haproxy.pid" haproxy USR1 10 # SIGUSR1: soft stop, finish open requests

# SIGTERM to all instances at once: each stops accepting, finishes in-flight requests, closes
# its pools (src/bootstrap.ts).
app_pids=
for file in "$RUN_DIR"/app-*.pid; do
  [ -e "$file" ] || continue
  pid=$(signal_pid "$file" TERM dist/src/main.js)
  [ -n "$pid" ] && app_pids="$app_pids $pid"
done
if [ -n "$app_pids" ]; then
  say "stopping the app instances (PIDs$app_pids)"
  wait_gone "$app_pids" 30
fi
rm -f "$RUN_DIR"/app-*.pid

stop PgBouncer "$RUN_DIR/pgbouncer.pid" pgbouncer TERM 10
stop Redis "$RUN_DIR/redis.pid" redis-server TERM 10

stop_postgres() { # name, data directory
  local name=$1 data=$2 pid
  pid_alive "$data/postmaster.pid" postgres || return 0
  pid=$(head -n1 "$data/postmaster.pid")
  say "stopping the $name (PID $pid)"
  if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ]; then
    # fast: roll back open transactions and shut down cleanly (a checkpoint, no recovery later)
    as_service "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  else
    kill -INT "$pid" # what pg_ctl -m fast sends
    wait_gone "$pid" 60
  fi
}
# The replica first: stopping the primary first would only make it retry and log errors.
stop_postgres replica "$REPLICA_DATA"
stop_postgres primary "$PRIMARY_DATA"

# Anything left? List it rather than claim success.
left=()
while read -r file expect; do
  if pid_alive "$file" "$expect"; then left+=("$file:$(head -n1 "$file")"); fi
done < <(pid_files)
[ "${#left[@]}" -eq 0 ] || die "still running: ${left[*]}"

if [ "$purge" -eq 1 ]; then
  # Only a directory up.sh made (it leaves this marker), never whatever TOPOLOGY_DIR points at.
  [ -e "$STATE/.topology-state" ] || die "$STATE has no .topology-state marker; not deleting it"
  rm -rf "$STATE"
  say "stopped; deleted $STATE"
else
  say "stopped; data kept in $STATE (npm run topology:down -- --purge deletes it)"
fi
