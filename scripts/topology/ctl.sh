#!/usr/bin/env bash
# Stops and starts single parts of a running topology (scripts/topology/up.sh), for fault
# injection (scripts/topology/faults.ts) and by hand:
#
#   ctl.sh instance-stop N [TERM|KILL]   signal app instance N and wait until it has exited
#   ctl.sh instance-start N              start app instance N again and wait until it is ready
#   ctl.sh replica-stop | replica-start  the streaming replica (pg_ctl -m fast)
#   ctl.sh redis-stop | redis-start
#
# TOPOLOGY_DIR and the TOPOLOGY_*_PORT variables must match those of up.sh.
set -euo pipefail
# shellcheck source=scripts/topology/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

[ -e "$STATE/.topology-state" ] || die "no topology in $STATE (npm run topology:up first)"
action=${1:-}

instance_number() {
  [[ ${1:-} =~ ^[1-9]$ ]] && [ "$1" -le "$INSTANCES" ] || die "instance must be 1..$INSTANCES (got '${1:-}')"
}

case $action in
  instance-stop)
    instance_number "${2:-}"
    sig=${3:-TERM}
    [[ $sig =~ ^(TERM|KILL)$ ]] || die "signal must be TERM or KILL (got '$sig')"
    file=$RUN_DIR/app-$2.pid
    pid_alive "$file" dist/src/main.js || die "instance $2 is not running"
    pid=$(head -n1 "$file")
    kill "-$sig" "$pid"
    for _ in $(seq 1 240); do
      [ -d "/proc/$pid" ] && [ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ] || break
      sleep 0.25
    done
    [ ! -d "/proc/$pid" ] || [ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = Z ] ||
      die "instance $2 (PID $pid) did not exit within 60 s"
    rm -f "$file"
    ;;
  instance-start)
    instance_number "${2:-}"
    ! pid_alive "$RUN_DIR/app-$2.pid" dist/src/main.js || die "instance $2 is already running"
    start_instance "$2" "started by scripts/topology/ctl.sh"
    pid=$(head -n1 "$RUN_DIR/app-$2.pid")
    for _ in $(seq 1 240); do
      curl -fs -o /dev/null "http://127.0.0.1:$((APP_BASE_PORT + $2))/health/ready" && exit 0
      # kill -0, not pid_alive: until setsid has exec'd node, the command line is still bash's.
      kill -0 "$pid" 2>/dev/null || die "instance $2 exited (see $LOG_DIR/app-$2.log)"
      sleep 0.25
    done
    die "instance $2 is not ready after 60 s"
    ;;
  replica-stop)
    as_service "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w -t 60 stop >/dev/null
    ;;
  replica-start)
    as_service "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$LOG_DIR/pg-replica.log" -o "-p $PG_REPLICA_PORT" -w -t 60 start >/dev/null
    ;;
  redis-stop)
    pid_alive "$RUN_DIR/redis.pid" redis-server || die "Redis is not running"
    pid=$(head -n1 "$RUN_DIR/redis.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 80); do [ -d "/proc/$pid" ] || exit 0; sleep 0.25; done
    die "Redis (PID $pid) did not exit within 20 s"
    ;;
  redis-start)
    start_redis
    for _ in $(seq 1 40); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && exit 0; sleep 0.25; done
    die "Redis does not answer PING"
    ;;
  *) die "usage: ctl.sh instance-stop N [TERM|KILL] | instance-start N | replica-stop | replica-start | redis-stop | redis-start" ;;
esac
