#!/usr/bin/env bash
# Faults and repairs on a running HA topology (scripts/topology/up-ha.sh), for fault injection
# (scripts/topology/faults-ha.ts) and by hand:
#
#   ctl-ha.sh leader                  print the number of the node that leads (nothing if none)
#   ctl-ha.sh node-kill N             kill -9 node N's Patroni and its postmaster
#   ctl-ha.sh node-start N            start node N's Patroni again (it rejoins, rewinding if needed)
#   ctl-ha.sh etcd-cut N | etcd-heal N  cut / restore node N's only path to etcd (its relay)
#   ctl-ha.sh switchover              planned: the leader hands over to a synchronous standby
#   ctl-ha.sh etcd-stop | etcd-start  kill -9 etcd / start it again on its data
#   ctl-ha.sh wait-healthy [SECONDS]  until one leader and two standbys stream, one synchronous
#
# TOPOLOGY_DIR and TOPOLOGY_HA_BASE_PORT must match those of up-ha.sh.
set -euo pipefail
# shellcheck source=scripts/topology/lib-ha.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-ha.sh"
cd "$ROOT"
[ -e "$STATE/.topology-state" ] || die "no HA topology in $STATE (npm run topology:up -- --ha first)"

node_number() { [[ ${1:-} =~ ^[1-9]$ ]] && [ "$1" -le $NODES ] || die "node must be 1..$NODES (got '${1:-}')"; }

case ${1:-} in
  leader) leader_node || true ;;
  node-kill)
    node_number "${2:-}"
    pids=()
    pid_alive "$RUN_DIR/patroni-$2.pid" patroni && pids+=("$(head -n1 "$RUN_DIR/patroni-$2.pid")")
    pid_alive "$(node_data "$2")/postmaster.pid" postgres && pids+=("$(head -n1 "$(node_data "$2")/postmaster.pid")")
    [ "${#pids[@]}" -gt 0 ] || die "node $2 is not running"
    kill -KILL "${pids[@]}"
    ;;
  node-start)
    node_number "${2:-}"
    ! pid_alive "$RUN_DIR/patroni-$2.pid" patroni || die "node $2's Patroni is already running"
    # The postmaster killed with -9 leaves backends that exit on their own; wait for them.
    for _ in $(seq 1 40); do
      pgrep -u "$SERVICE_USER" -f -- "$(node_data "$2")" >/dev/null 2>&1 || break
      sleep 0.25
    done
    start_patroni "$2"
    ;;
  etcd-cut | etcd-heal)
    node_number "${2:-}"
    pid_alive "$RUN_DIR/etcd-relay-$2.pid" tcp-proxy || die "the etcd relay of node $2 is not running"
    kill "-$([ "$1" = etcd-cut ] && echo USR1 || echo USR2)" "$(head -n1 "$RUN_DIR/etcd-relay-$2.pid")"
    ;;
  switchover)
    leader=$(leader_node)
    [ -n "$leader" ] || die "no leader to switch over from"
    patronictl -c "$RUN_DIR/patroni-$leader.yml" switchover --leader "node$leader" --force "$CLUSTER" >>"$LOG_DIR/switchover.log" 2>&1 ||
      die "patronictl switchover failed (see $LOG_DIR/switchover.log)"
    ;;
  etcd-stop)
    pid_alive "$RUN_DIR/etcd.pid" etcd || die "etcd is not running"
    kill -KILL "$(head -n1 "$RUN_DIR/etcd.pid")"
    ;;
  etcd-start)
    ! pid_alive "$RUN_DIR/etcd.pid" etcd || die "etcd is already running"
    start_etcd
    for _ in $(seq 1 60); do etcd_healthy && exit 0; sleep 0.5; done
    die "etcd is not healthy after 30 s"
    ;;
  wait-healthy)
    seconds=${2:-90}
    for _ in $(seq 1 $((seconds * 2))); do
      cluster_healthy && exit 0
      sleep 0.5
    done
    cluster_members >&2 || true
    die "the cluster is not whole after $seconds s"
    ;;
  *) die "usage: ctl-ha.sh leader | node-kill N | node-start N | etcd-cut N | etcd-heal N | switchover | etcd-stop | etcd-start | wait-healthy [S]" ;;
esac
