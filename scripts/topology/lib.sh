# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings are used by the scripts that source this file
# Shared by up.sh and down.sh: where the local topology keeps its state, its ports and helpers.
# Sourced, not run. Every port and path can be overridden from the environment; down.sh reads
# what up.sh recorded in the state directory, so only TOPOLOGY_DIR has to match between them.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TOPOLOGY_DIR:-$ROOT/.topology}

PG_MAJOR=${TOPOLOGY_PG_MAJOR:-15}
PG_PRIMARY_PORT=${TOPOLOGY_PG_PRIMARY_PORT:-55432}
PG_REPLICA_PORT=${TOPOLOGY_PG_REPLICA_PORT:-55433}
PGBOUNCER_PORT=${TOPOLOGY_PGBOUNCER_PORT:-56432}
REDIS_PORT=${TOPOLOGY_REDIS_PORT:-56379}
LB_PORT=${TOPOLOGY_LB_PORT:-3100}
# Instance i listens on APP_BASE_PORT + i (3101, 3102, 3103).
APP_BASE_PORT=${TOPOLOGY_APP_BASE_PORT:-3100}
INSTANCES=${TOPOLOGY_INSTANCES:-3}

DB_NAME=finance
DB_USER=finance
REPLICATION_USER=replicator
REPLICATION_SLOT=topology_replica

# What the app instances connect to (lib-ha.sh points them at the HA topology's HAProxy instead).
APP_DATABASE_URL=postgres://$DB_USER@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
APP_DATABASE_DIRECT_URL=postgres://$DB_USER@127.0.0.1:$PG_PRIMARY_PORT/$DB_NAME
APP_DATABASE_REPLICA_URL=postgres://$DB_USER@127.0.0.1:$PG_REPLICA_PORT/$DB_NAME

PG_DIR=$STATE/pg            # owned by the server's OS user: data directories
RUN_DIR=$STATE/run          # PID files (PgBouncer writes its own here)
LOG_DIR=$STATE/logs
SECRETS_DIR=$STATE/secrets  # 0700: JWT secret, admin password
PRIMARY_DATA=$PG_DIR/primary
REPLICA_DATA=$PG_DIR/replica

say() { printf '==> %s\n' "$*"; }
warn() { printf 'topology: %s\n' "$*" >&2; }
die() {
  printf 'topology: ERROR: %s\n' "$*" >&2
  exit 1
}

# PostgreSQL and PgBouncer refuse to run as root, so as root they run as the `postgres` OS user
# (the one the postgresql packages create), as src/database/embedded-database.ts does.
if [ "$(id -u)" -eq 0 ]; then
  SERVICE_USER=postgres
else
  SERVICE_USER=$(id -un)
fi
as_service() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$SERVICE_USER" -- "$@"; else "$@"; fi
}

# The packaged server binaries (initdb, pg_ctl, postgres) live in /usr/lib/postgresql/NN/bin and
# are not on PATH on Debian; prefer that directory, else whatever PATH has (checked for the major
# version by up.sh).
if [ -n "${TOPOLOGY_PG_BIN:-}" ]; then
  PG_BIN=$TOPOLOGY_PG_BIN
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" ]; then
  PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
elif command -v initdb >/dev/null 2>&1; then
  PG_BIN=$(dirname "$(command -v initdb)")
else
  PG_BIN=
fi

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when PID file $1 names a live process whose command line contains $2; guards against a
# stale file whose PID the kernel has since given to an unrelated process.
pid_alive() {
  local file=$1 expect=$2 pid
  [ -s "$file" ] || return 1
  pid=$(head -n1 "$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$expect"
}

# The PID files up.sh may leave, with what their process's command line contains.
pid_files() {
  local f
  echo "$RUN_DIR/haproxy.pid haproxy"
  for f in "$RUN_DIR"/app-*.pid; do [ -e "$f" ] && echo "$f dist/src/main.js"; done
  echo "$RUN_DIR/pgbouncer.pid pgbouncer"
  echo "$RUN_DIR/redis.pid redis-server"
  # postmaster.pid: the server's own PID file (first line), removed by a clean shutdown.
  echo "$REPLICA_DATA/postmaster.pid postgres"
  echo "$PRIMARY_DATA/postmaster.pid postgres"
}

# Redis: rate-limit counters and read-your-writes positions shared by the instances; nothing
# worth persisting (the app copes with losing them, see docs/operations.md "Scaling out").
start_redis() {
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$RUN_DIR" \
    --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
}

# Starts app instance $1 in the background on port APP_BASE_PORT + $1 with the topology's
# settings, and records its PID; $2 goes into the log's marker line. Run from $ROOT. Other app
# settings (THROTTLE_LIMIT, LOG_LEVEL, ...) pass through from the environment.
start_instance() {
  local i=$1 why=$2
  # The heap flags of `npm run start:prod`, read from package.json (once: instances started in a
  # loop start together) so they stay in one place.
  if [ -z "${node_flags+set}" ]; then
    read -r -a node_flags <<<"$(node -p "require('./package.json').scripts['start:prod'].split(/\s+/).filter((a) => a.startsWith('--')).join(' ')")"
  fi
  printf '=== %s: %s on port %s\n' "$(date -Is)" "$why" "$((APP_BASE_PORT + i))" >>"$LOG_DIR/app-$i.log"
  # setsid: its own session, so a Ctrl-C in this terminal later does not reach it. Without a
  # fork (a background job of a script is no process-group leader), so $! is node's PID.
  # SHUTDOWN_DRAIN_MS: on SIGTERM an instance answers 503 on /health/ready but keeps serving for
  # longer than HAProxy needs to take it out (inter 1s, fall 2), so no request meets a closed port.
  NODE_ENV=production \
    HOST=127.0.0.1 \
    PORT=$((APP_BASE_PORT + i)) \
    DATABASE_URL="$APP_DATABASE_URL" \
    DATABASE_DIRECT_URL="$APP_DATABASE_DIRECT_URL" \
    DATABASE_REPLICA_URL="$APP_DATABASE_REPLICA_URL" \
    MIGRATIONS_RUN=true \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    SHUTDOWN_DRAIN_MS="${SHUTDOWN_DRAIN_MS:-3000}" \
    JWT_SECRET="$(cat "$SECRETS_DIR/jwt-secret")" \
    ADMIN_EMAIL="$(cat "$SECRETS_DIR/admin-email")" \
    ADMIN_PASSWORD="$(cat "$SECRETS_DIR/admin-password")" \
    TRUST_PROXY=loopback \
    setsid node "${node_flags[@]}" dist/src/main.js >>"$LOG_DIR/app-$i.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/app-$i.pid"
}

# Prints the last lines of a log, then fails: the reason is usually in there.
die_with_log() {
  local log=$1
  shift
  if [ -s "$log" ]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    # From this start's marker line on (the app logs are appended to across starts).
    tac "$log" | sed '/^=== /q' | tac | tail -n 25 >&2
    printf -- '---\n' >&2
  fi
  die "$*"
}

# HAProxy in front of the app instances (up.sh, up-ha.sh), in the foreground of its own session
# (-db) so it logs to a file without syslog; returns once it answers /health/ready, with `lb` set
# to its URL. $1: the script that generates the configuration; $2: `rise`, the good checks before
# an instance taken out serves again; $3 (optional): a file HAProxy answers its own 503s with.
start_app_haproxy() {
  local script=$1 rise=$2 errorfile=${3:-} i ready=0
  {
    cat <<EOF
# Generated by scripts/topology/$script at every start.
global
    maxconn 4096
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option log-health-checks
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # a request refused by a dead instance is retried on another one
    retries 2
    option redispatch
    # A read (GET, HEAD) whose instance closed the connection before sending anything is sent
    # again, to another one; a write is not once it reached an instance, as it may have committed.
    retry-on conn-failure empty-response
    # Read the request (up to a buffer) before answering or connecting: a 503 sent while a client
    # is still sending its body, then the close, reaches that client as a reset, not as the 503.
    option http-buffer-request
${errorfile:+    errorfile 503 $errorfile}

frontend api
    bind 127.0.0.1:$LB_PORT
    # Only reads are sent again (METH_GET matches GET and HEAD): see retry-on above.
    http-request disable-l7-retry if !METH_GET
    # HAProxy is the edge: drop a client's own X-Forwarded-For, so the app (TRUST_PROXY=loopback,
    # which trusts every 127.0.0.1 hop) sees exactly the address HAProxy adds.
    http-request del-header X-Forwarded-For
    option forwardfor
    # Which instance answered; a debugging aid of this local topology, not of the app.
    http-response set-header X-Served-By %s
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    # 503 from /health/ready (shutting down, database unreachable) takes an instance out in 2 s.
    default-server inter 1s fall 2 rise $rise
EOF
    for i in $(seq 1 "$INSTANCES"); do
      printf '    server app%s 127.0.0.1:%s check\n' "$i" "$((APP_BASE_PORT + i))"
    done
  } >"$RUN_DIR/haproxy.cfg"
  haproxy -c -q -f "$RUN_DIR/haproxy.cfg" || die "invalid HAProxy configuration $RUN_DIR/haproxy.cfg"
  say "starting HAProxy on 127.0.0.1:$LB_PORT"
  setsid haproxy -db -f "$RUN_DIR/haproxy.cfg" >>"$LOG_DIR/haproxy.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/haproxy.pid"
  lb=http://127.0.0.1:$LB_PORT
  for _ in $(seq 1 60); do
    if curl -fs -o /dev/null "$lb/health/ready"; then
      ready=1
      break
    fi
    # kill -0, not pid_alive: until setsid has exec'd HAProxy, the command line is still bash's.
    kill -0 "$(head -n1 "$RUN_DIR/haproxy.pid")" 2>/dev/null || die_with_log "$LOG_DIR/haproxy.log" "HAProxy exited"
    sleep 0.5
  done
  [ "$ready" -eq 1 ] || die_with_log "$LOG_DIR/haproxy.log" "no answer from $lb/health/ready after 30 s"
}
