# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings are used by the scripts that source this file
# The HA topology's settings (scripts/topology/up-ha.sh, down-ha.sh, ctl-ha.sh): lib.sh's, with
# its own state directory and ports, so it runs beside the plain topology. Sourced, not run.
#
# Ports, from TOPOLOGY_HA_BASE_PORT (B, default 27000: below the ephemeral ports from 32768, which outgoing connections take):
#   B        etcd client          B+1      etcd peer
#   B+2+N    node N's relay to etcd (scripts/topology/tcp-proxy.ts, cut for a partition)
#   B+10+N   node N's PostgreSQL  B+20+N   node N's Patroni REST API
#   B+30     HAProxy: the leader (writes)      B+30+N  HAProxy: node N while it is a standby
#   B+40     PgBouncer            B+50     Redis
# and the app's: TOPOLOGY_LB_PORT (default 3600), instance i on TOPOLOGY_APP_BASE_PORT + i.

_ha_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HA_BASE_PORT=${TOPOLOGY_HA_BASE_PORT:-27000}
TOPOLOGY_DIR=${TOPOLOGY_DIR:-$_ha_root/.topology-ha}
TOPOLOGY_PGBOUNCER_PORT=${TOPOLOGY_PGBOUNCER_PORT:-$((HA_BASE_PORT + 40))}
TOPOLOGY_REDIS_PORT=${TOPOLOGY_REDIS_PORT:-$((HA_BASE_PORT + 50))}
TOPOLOGY_LB_PORT=${TOPOLOGY_LB_PORT:-3600}
TOPOLOGY_APP_BASE_PORT=${TOPOLOGY_APP_BASE_PORT:-$TOPOLOGY_LB_PORT}
# shellcheck source=scripts/topology/lib.sh
. "$_ha_root/scripts/topology/lib.sh"

NODES=3
CLUSTER=finance-ha
ETCD_PORT=$HA_BASE_PORT
ETCD_PEER_PORT=$((HA_BASE_PORT + 1))
LEADER_PORT=$((HA_BASE_PORT + 30))
etcd_relay_port() { echo $((HA_BASE_PORT + 2 + $1)); }
node_pg_port() { echo $((HA_BASE_PORT + 10 + $1)); }
node_rest_port() { echo $((HA_BASE_PORT + 20 + $1)); }
standby_port() { echo $((HA_BASE_PORT + 30 + $1)); }
node_data() { echo "$PG_DIR/node$1"; }

# Patroni's timings (docs/operations.md "High availability"): the leader key lives TTL seconds
# unless renewed; every LOOP_WAIT seconds each node runs its cycle; a DCS or PostgreSQL call is
# retried for RETRY_TIMEOUT seconds. Patroni needs LOOP_WAIT + 2 * RETRY_TIMEOUT <= TTL.
PATRONI_TTL=${TOPOLOGY_PATRONI_TTL:-8}
PATRONI_LOOP_WAIT=${TOPOLOGY_PATRONI_LOOP_WAIT:-1}
PATRONI_RETRY_TIMEOUT=${TOPOLOGY_PATRONI_RETRY_TIMEOUT:-3}

# The app: pooled queries through PgBouncer (which reaches the leader through HAProxy); the
# session work (migration lock, LISTEN, job queue) to the leader through HAProxy; reads to each
# node's standby port (a node that leads has none open, and read routing skips it).
APP_DATABASE_URL=postgres://$DB_USER@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
APP_DATABASE_DIRECT_URL=postgres://$DB_USER@127.0.0.1:$LEADER_PORT/$DB_NAME
APP_DATABASE_REPLICA_URL=
for _n in $(seq 1 $NODES); do
  APP_DATABASE_REPLICA_URL+=${APP_DATABASE_REPLICA_URL:+,}postgres://$DB_USER@127.0.0.1:$((HA_BASE_PORT + 30 + _n))/$DB_NAME
done

# Every PID file the HA topology may leave, with what its process's command line contains.
ha_pid_files() {
  local f n
  echo "$RUN_DIR/haproxy.pid haproxy"
  for f in "$RUN_DIR"/app-*.pid; do if [ -e "$f" ]; then echo "$f dist/src/main.js"; fi; done
  echo "$RUN_DIR/pgbouncer.pid pgbouncer"
  echo "$RUN_DIR/redis.pid redis-server"
  echo "$RUN_DIR/haproxy-db.pid haproxy"
  for n in $(seq 1 $NODES); do
    echo "$RUN_DIR/patroni-$n.pid patroni"
    echo "$(node_data "$n")/postmaster.pid postgres"
    echo "$RUN_DIR/etcd-relay-$n.pid tcp-proxy"
  done
  echo "$RUN_DIR/etcd.pid etcd"
}

# Starts node N's Patroni in the background (as the service user when root) and records its PID.
start_patroni() {
  local n=$1
  printf '=== %s: patroni %s started\n' "$(date -Is)" "$n" >>"$LOG_DIR/patroni-$n.log"
  if [ "$(id -u)" -eq 0 ]; then
    # setpriv execs (runuser would stay as the parent), so $! is Patroni's PID.
    setsid setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups \
      env HOME="$RUN_DIR" patroni "$RUN_DIR/patroni-$n.yml" >>"$LOG_DIR/patroni-$n.log" 2>&1 </dev/null &
  else
    setsid patroni "$RUN_DIR/patroni-$n.yml" >>"$LOG_DIR/patroni-$n.log" 2>&1 </dev/null &
  fi
  echo $! >"$RUN_DIR/patroni-$n.pid"
}

start_etcd() {
  setsid etcd --name ha --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "ha=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state "$([ -d "$STATE/etcd/member" ] && echo existing || echo new)" \
    >>"$LOG_DIR/etcd.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/etcd.pid"
}

etcd_healthy() { curl -fs --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

start_etcd_relay() {
  local n=$1
  setsid node "$ROOT/dist-tools/scripts/topology/tcp-proxy.js" "$(etcd_relay_port "$n")" "$ETCD_PORT" \
    >>"$LOG_DIR/etcd-relay-$n.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/etcd-relay-$n.pid"
}

# The cluster as Patroni sees it (GET /cluster on any node that answers), one line per member:
# "name role state lag"; nothing when no node answers.
cluster_members() {
  local n json
  for n in $(seq 1 $NODES); do
    json=$(curl -fs --max-time 2 "http://127.0.0.1:$(node_rest_port "$n")/cluster" 2>/dev/null) || continue
    node -e '
      const c = JSON.parse(process.argv[1]);
      for (const m of c.members ?? []) console.log(m.name, m.role, m.state, m.lag ?? 0);
    ' "$json"
    return 0
  done
}

# True when the cluster is whole: one leader and NODES-1 streaming standbys, one of them sync.
cluster_healthy() {
  local members
  members=$(cluster_members)
  [ "$(grep -c ' leader running' <<<"$members")" -eq 1 ] &&
    [ "$(grep -cE ' (sync_standby|replica) (running|streaming)' <<<"$members")" -eq $((NODES - 1)) ] &&
    grep -qE ' sync_standby (running|streaming)' <<<"$members"
}

# The node number of the leader (from the node's REST API), or nothing.
leader_node() {
  local n
  for n in $(seq 1 $NODES); do
    if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(node_rest_port "$n")/primary"; then
      echo "$n"
      return 0
    fi
  done
}
