#!/usr/bin/env bash
# npm run topology:down -- --ha [--purge]: stops what scripts/topology/up-ha.sh started, by the
# PIDs it recorded, front to back: HAProxy, the app instances (graceful), PgBouncer, Redis, the
# database HAProxy, Patroni on every node (it stops its PostgreSQL), the etcd relays, etcd. Works
# after a failed start or a fault run too: whatever is still alive is stopped, a node's orphaned
# PostgreSQL (its Patroni killed) with pg_ctl. --purge deletes the state directory.
set -euo pipefail
# shellcheck source=scripts/topology/lib-ha.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-ha.sh"

purge=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    --ha) ;;
    *) die "unknown argument '$arg' (usage: npm run topology:down -- --ha [--purge])" ;;
  esac
done
if [ ! -d "$STATE" ]; then
  say "nothing to stop: $STATE does not exist"
  exit 0
fi

running() { [ -r "/proc/$1/status" ] && [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]; }
wait_gone() { # PIDs, seconds; then SIGKILL
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
stop_all() { # name, signal, seconds, then "file expect" pairs on stdin
  local name=$1 sig=$2 seconds=$3 file expect pids=
  while read -r file expect; do
    if pid_alive "$file" "$expect"; then
      pid=$(head -n1 "$file")
      kill "-$sig" "$pid" 2>/dev/null && pids="$pids $pid"
    fi
  done
  if [ -n "$pids" ]; then
    say "stopping $name (PIDs$pids)"
    wait_gone "$pids" "$seconds"
  fi
}

echo "$RUN_DIR/haproxy.pid haproxy" | stop_all HAProxy USR1 10
for f in "$RUN_DIR"/app-*.pid; do if [ -e "$f" ]; then echo "$f dist/src/main.js"; fi; done | stop_all "the app instances" TERM 30
echo "$RUN_DIR/pgbouncer.pid pgbouncer" | stop_all PgBouncer TERM 10
echo "$RUN_DIR/redis.pid redis-server" | stop_all Redis TERM 10
echo "$RUN_DIR/haproxy-db.pid haproxy" | stop_all "the database HAProxy" TERM 10
# Patroni stops its PostgreSQL on SIGTERM (a fast shutdown); all nodes at once, so none of them
# waits for a synchronous standby that is already gone.
for n in $(seq 1 $NODES); do echo "$RUN_DIR/patroni-$n.pid patroni"; done | stop_all Patroni TERM 60
# A PostgreSQL whose Patroni was killed (fault injection) is still running on its own.
for n in $(seq 1 $NODES); do
  data=$(node_data "$n")
  if pid_alive "$data/postmaster.pid" postgres; then
    say "stopping the PostgreSQL of node $n"
    as_service "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null || true
  fi
done
for n in $(seq 1 $NODES); do echo "$RUN_DIR/etcd-relay-$n.pid tcp-proxy"; done | stop_all "the etcd relays" TERM 10
echo "$RUN_DIR/etcd.pid etcd" | stop_all etcd TERM 20

left=()
while read -r file expect; do
  if pid_alive "$file" "$expect"; then left+=("$file:$(head -n1 "$file")"); fi
done < <(ha_pid_files)
[ "${#left[@]}" -eq 0 ] || die "still running: ${left[*]}"
rm -f "$RUN_DIR"/*.pid

if [ "$purge" -eq 1 ]; then
  [ -e "$STATE/.topology-state" ] || die "$STATE has no .topology-state marker; not deleting it"
  rm -rf "$STATE"
  say "stopped; deleted $STATE"
else
  say "stopped; data kept in $STATE (npm run topology:down -- --ha --purge deletes it)"
fi
