#!/usr/bin/env bash
# Starts the scale-out topology on this machine from the distribution's packages:
#
#   PostgreSQL primary :55432 ──streaming──> replica :55433 (pg_basebackup -R, replication slot)
#        ^    ^
#        |    └── PgBouncer :56432 (transaction pooling) <── DATABASE_URL of every instance
#        └─────── DATABASE_DIRECT_URL (migration lock, LISTEN)
#   Redis :56379 (shared rate limits) <── REDIS_URL
#   app instances :3101..3103 <── HAProxy :3100 (roundrobin, health check /health/ready)
#
# Everything listens on 127.0.0.1 only and keeps its state in ./.topology (TOPOLOGY_DIR).
# `npm run topology:down` stops it (`-- --purge` also deletes the state). Other app settings
# (THROTTLE_LIMIT, LOG_LEVEL, DB_POOL_MAX, ...) pass through from the environment to the instances.
set -euo pipefail
# --ha: the topology with automatic failover (Patroni, etcd), a separate path with its own state.
for arg in "$@"; do [ "$arg" != --ha ] || exec bash "$(dirname "${BASH_SOURCE[0]}")/up-ha.sh" "$@"; done
# shellcheck source=scripts/topology/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

STARTED=0
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$STARTED" -eq 1 ]; then
    warn "start failed; stopping what was started (logs kept in $LOG_DIR)"
    bash "$ROOT/scripts/topology/down.sh" >&2 || true
  fi
}
trap on_exit EXIT

# ---------------------------------------------------------------------------------------------
# 1. Prerequisites: fail before touching anything, naming the Debian package to install.
# ---------------------------------------------------------------------------------------------
need() {
  local cmd=$1 package=$2
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found: apt-get install -y $package"
}
[ -n "$PG_BIN" ] || die "PostgreSQL $PG_MAJOR server binaries not found: apt-get install -y postgresql-$PG_MAJOR"
for bin in initdb pg_ctl postgres pg_basebackup psql; do
  [ -x "$PG_BIN/$bin" ] || die "$PG_BIN/$bin not found: apt-get install -y postgresql-$PG_MAJOR"
done
pg_version=$("$PG_BIN/postgres" --version)
# "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" -> 15
[ "$(grep -oE '[0-9]+' <<<"$pg_version" | head -n1)" = "$PG_MAJOR" ] ||
  die "$PG_BIN/postgres is '$pg_version', not PostgreSQL $PG_MAJOR: apt-get install -y postgresql-$PG_MAJOR (or set TOPOLOGY_PG_BIN)"
need pgbouncer pgbouncer
need redis-server redis-server
need redis-cli redis-tools
need haproxy haproxy
need curl curl
need node "nodejs (Node.js >= 20.19; Debian 12 ships 18, use NodeSource or nvm)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "Node.js $(node --version) is too old: the app needs >= 20.19"
if [ "$(id -u)" -eq 0 ]; then
  need runuser util-linux
  id "$SERVICE_USER" >/dev/null 2>&1 ||
    die "running as root needs the '$SERVICE_USER' OS user for PostgreSQL and PgBouncer (created by the postgresql-$PG_MAJOR package)"
fi

# ---------------------------------------------------------------------------------------------
# 2. Already running? Refuse rather than start a second set on the same ports and data.
# ---------------------------------------------------------------------------------------------
running=()
while read -r file expect; do
  if pid_alive "$file" "$expect"; then
    running+=("$(basename "$(dirname "$file")")/$(basename "$file"):$(head -n1 "$file")")
  fi
done < <(pid_files)
[ "${#running[@]}" -eq 0 ] ||
  die "the topology is already running (${running[*]}): npm run topology:down first"
# Leftover PID files of processes that are gone (a crash, a reboot). PostgreSQL checks its own.
rm -f "$RUN_DIR"/app-*.pid "$RUN_DIR/haproxy.pid" "$RUN_DIR/redis.pid" "$RUN_DIR/pgbouncer.pid"

[[ $INSTANCES =~ ^[1-9]$ ]] || die "TOPOLOGY_INSTANCES must be 1..9 (got '$INSTANCES')"
ports=("$PG_PRIMARY_PORT" "$PG_REPLICA_PORT" "$PGBOUNCER_PORT" "$REDIS_PORT" "$LB_PORT")
for i in $(seq 1 "$INSTANCES"); do ports+=("$((APP_BASE_PORT + i))"); done
for port in "${ports[@]}"; do
  ! port_open "$port" || die "127.0.0.1:$port is taken by another process (ss -ltnp 'sport = :$port'); free it or set the TOPOLOGY_*_PORT variables (scripts/topology/lib.sh)"
done

# ---------------------------------------------------------------------------------------------
# 3. Build when dist/ is missing or older than the sources or the build configuration.
# ---------------------------------------------------------------------------------------------
main_js=dist/src/main.js
if [ ! -f "$main_js" ] ||
  [ -n "$(find src -name '*.ts' -newer "$main_js" -print -quit)" ] ||
  [ -n "$(find package.json package-lock.json tsconfig.json tsconfig.build.json nest-cli.json -newer "$main_js" -print -quit)" ]; then
  say "building: $main_js is missing or older than the sources"
  npm run build
fi

# ---------------------------------------------------------------------------------------------
# 4. State directory. As root, PostgreSQL and PgBouncer run as $SERVICE_USER, which must be able
#    to reach their directories (o+x on the ancestors, never read) and own what they write.
# ---------------------------------------------------------------------------------------------
mkdir -p "$STATE" "$RUN_DIR" "$LOG_DIR" "$PG_DIR"
touch "$STATE/.topology-state" # marks the directory as ours, so `down.sh --purge` may delete it
chmod 755 "$STATE" "$LOG_DIR"
chmod 700 "$PG_DIR"
(umask 077 && mkdir -p "$SECRETS_DIR")
if [ "$(id -u)" -eq 0 ]; then
  dir=$STATE
  while [ "$dir" != / ]; do
    if [ $(($(stat -c '%#a' "$dir") & 1)) -eq 0 ]; then
      chmod o+x "$dir"
      warn "allowed the $SERVICE_USER user to traverse $dir (o+x)"
    fi
    dir=$(dirname "$dir")
  done
  touch "$LOG_DIR/pg-primary.log" "$LOG_DIR/pg-replica.log" "$LOG_DIR/pgbouncer.log"
  chown "$SERVICE_USER" "$PG_DIR" "$RUN_DIR" "$LOG_DIR/pg-primary.log" "$LOG_DIR/pg-replica.log" "$LOG_DIR/pgbouncer.log"
fi

psql_at() { # port, then psql arguments; trust auth on 127.0.0.1, as the superuser
  local port=$1
  shift
  "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

STARTED=1

# ---------------------------------------------------------------------------------------------
# 5. PostgreSQL primary.
# ---------------------------------------------------------------------------------------------
if [ ! -s "$PRIMARY_DATA/PG_VERSION" ]; then
  say "initdb: PostgreSQL $PG_MAJOR primary in $PRIMARY_DATA"
  # trust: no passwords anywhere in this local topology; the servers listen on 127.0.0.1 only.
  as_service "$PG_BIN/initdb" -D "$PRIMARY_DATA" -U postgres --auth=trust -E UTF8 --locale=C >"$LOG_DIR/initdb.log"
  # The port is given at start (pg_ctl -o -p), because pg_basebackup copies this file to the replica.
  cat >>"$PRIMARY_DATA/postgresql.conf" <<'EOF'

# --- scripts/topology/up.sh -------------------------------------------------------------------
listen_addresses = '127.0.0.1'
unix_socket_directories = ''     # TCP only: no socket in a shared /var/run/postgresql or /tmp
wal_level = replica              # the defaults, spelled out: streaming replication
max_wal_senders = 10
hot_standby = on                 # the replica answers read-only queries
jit = off                        # the app asks for it per session, but not through PgBouncer
EOF
fi
say "starting the primary on 127.0.0.1:$PG_PRIMARY_PORT"
as_service "$PG_BIN/pg_ctl" -D "$PRIMARY_DATA" -l "$LOG_DIR/pg-primary.log" -o "-p $PG_PRIMARY_PORT" -w -t 60 start >/dev/null ||
  die_with_log "$LOG_DIR/pg-primary.log" "the primary did not start"

# The app's role owns its database: the migrations create the trusted extensions pg_trgm and
# btree_gin, which needs no superuser. The replication role only streams WAL.
psql_at "$PG_PRIMARY_PORT" <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$REPLICATION_USER') THEN
    CREATE ROLE $REPLICATION_USER LOGIN REPLICATION;
  END IF;
END
\$\$;
EOF
if [ -z "$(psql_at "$PG_PRIMARY_PORT" -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
  psql_at "$PG_PRIMARY_PORT" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
fi

# ---------------------------------------------------------------------------------------------
# 6. Streaming replica: a base backup of the primary; -R writes primary_conninfo and
#    standby.signal, -C -S a physical replication slot so the primary keeps the WAL the replica
#    still needs (while the replica is stopped too: do not leave it stopped for long).
# ---------------------------------------------------------------------------------------------
if [ ! -s "$REPLICA_DATA/PG_VERSION" ]; then
  # A slot left by an earlier replica whose directory was deleted would make -C fail.
  psql_at "$PG_PRIMARY_PORT" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$REPLICATION_SLOT' AND NOT active" >/dev/null
  say "pg_basebackup: replica in $REPLICA_DATA"
  as_service "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U "$REPLICATION_USER" \
    -D "$REPLICA_DATA" -R -X stream -C -S "$REPLICATION_SLOT" -c fast
fi
say "starting the replica on 127.0.0.1:$PG_REPLICA_PORT"
as_service "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$LOG_DIR/pg-replica.log" -o "-p $PG_REPLICA_PORT" -w -t 60 start >/dev/null ||
  die_with_log "$LOG_DIR/pg-replica.log" "the replica did not start"
for _ in $(seq 1 60); do
  state=$(psql_at "$PG_PRIMARY_PORT" -c "SELECT state FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1")
  [ "$state" = streaming ] && break
  sleep 0.5
done
[ "$state" = streaming ] || die_with_log "$LOG_DIR/pg-replica.log" "the replica is not streaming from the primary after 30 s"

# ---------------------------------------------------------------------------------------------
# 7. PgBouncer, transaction pooling, in front of the primary. The app sends no statement_timeout
#    when DATABASE_DIRECT_URL is set (PgBouncer refuses the startup parameter), so the server
#    connections get it from connect_query; PgBouncer only logs a failing connect_query, hence
#    the check below.
# ---------------------------------------------------------------------------------------------
statement_timeout_ms=${DB_STATEMENT_TIMEOUT_MS:-15000}
[[ $statement_timeout_ms =~ ^[0-9]+$ ]] || die "DB_STATEMENT_TIMEOUT_MS must be milliseconds (got '$statement_timeout_ms')"
cat >"$RUN_DIR/pgbouncer.ini" <<EOF
; Generated by scripts/topology/up.sh at every start.
[databases]
$DB_NAME = host=127.0.0.1 port=$PG_PRIMARY_PORT dbname=$DB_NAME user=$DB_USER connect_query='SET statement_timeout = $statement_timeout_ms'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
pool_mode = transaction
; trust: the user name must be in auth_file, no password is checked (127.0.0.1 only)
auth_type = trust
auth_file = $RUN_DIR/pgbouncer-users.txt
; the console (psql -p $PGBOUNCER_PORT -U postgres pgbouncer -c 'SHOW POOLS')
admin_users = postgres
max_client_conn = 500
default_pool_size = 20
logfile = $LOG_DIR/pgbouncer.log
pidfile = $RUN_DIR/pgbouncer.pid
EOF
printf '"%s" ""\n"postgres" ""\n' "$DB_USER" >"$RUN_DIR/pgbouncer-users.txt"
say "starting PgBouncer on 127.0.0.1:$PGBOUNCER_PORT"
# Full path: runuser resets PATH, which then lacks /usr/sbin.
as_service "$(command -v pgbouncer)" -d -q "$RUN_DIR/pgbouncer.ini" || die_with_log "$LOG_DIR/pgbouncer.log" "PgBouncer did not start"
for _ in $(seq 1 40); do port_open "$PGBOUNCER_PORT" && break; sleep 0.25; done
pooled_timeout=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U "$DB_USER" -d "$DB_NAME" -X -A -t \
  -c "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'" 2>&1) ||
  die_with_log "$LOG_DIR/pgbouncer.log" "no query through PgBouncer: $pooled_timeout"
[ "$pooled_timeout" = "$statement_timeout_ms" ] ||
  die_with_log "$LOG_DIR/pgbouncer.log" "statement_timeout through PgBouncer is '$pooled_timeout', not $statement_timeout_ms (connect_query)"

# ---------------------------------------------------------------------------------------------
# 8. Redis: rate-limit counters shared by the instances; nothing worth persisting.
# ---------------------------------------------------------------------------------------------
say "starting Redis on 127.0.0.1:$REDIS_PORT"
start_redis || die_with_log "$LOG_DIR/redis.log" "Redis did not start"
for _ in $(seq 1 40); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.25; done
[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die_with_log "$LOG_DIR/redis.log" "Redis does not answer PING"

# ---------------------------------------------------------------------------------------------
# 9. The app instances, all at the same moment: one runs the migrations under the advisory lock
#    on DATABASE_DIRECT_URL, the others wait for it. The JWT secret is shared (a token from one
#    instance is valid on all); it and the first admin's password are generated once.
# ---------------------------------------------------------------------------------------------
random_secret() { node -e "process.stdout.write(require('crypto').randomBytes($1).toString('base64url'))"; }
if [ ! -s "$SECRETS_DIR/jwt-secret" ]; then
  (umask 077 && printf '%s' "${JWT_SECRET:-$(random_secret 48)}" >"$SECRETS_DIR/jwt-secret")
fi
first_admin=0
if [ ! -s "$SECRETS_DIR/admin-password" ]; then
  (umask 077 && printf '%s' "${ADMIN_PASSWORD:-$(random_secret 18)}" >"$SECRETS_DIR/admin-password")
  first_admin=1
fi
# Kept so that scripts/topology/ctl.sh can restart an instance with the same settings.
[ -s "$SECRETS_DIR/admin-email" ] || printf '%s' "${ADMIN_EMAIL:-admin@example.com}" >"$SECRETS_DIR/admin-email"
admin_email=$(cat "$SECRETS_DIR/admin-email")

say "starting $INSTANCES app instances on 127.0.0.1:$((APP_BASE_PORT + 1))..$((APP_BASE_PORT + INSTANCES))"
for i in $(seq 1 "$INSTANCES"); do start_instance "$i" "started by scripts/topology/up.sh"; done
for i in $(seq 1 "$INSTANCES"); do
  port=$((APP_BASE_PORT + i))
  ready=0
  for _ in $(seq 1 240); do # 120 s: the first start migrates an empty database
    if curl -fs -o /dev/null "http://127.0.0.1:$port/health/ready"; then
      ready=1
      break
    fi
    pid_alive "$RUN_DIR/app-$i.pid" "$main_js" || die_with_log "$LOG_DIR/app-$i.log" "app instance $i exited"
    sleep 0.5
  done
  [ "$ready" -eq 1 ] || die_with_log "$LOG_DIR/app-$i.log" "app instance $i is not ready after 120 s"
done

# ---------------------------------------------------------------------------------------------
# 10. HAProxy in front of the instances, in the foreground of its own session (-db) so it logs
#     to a file without syslog.
# ---------------------------------------------------------------------------------------------
start_app_haproxy up.sh 2

# Connection strings for psql, scripts and benchmarks (no secrets in here).
cat >"$STATE/topology.env" <<EOF
API_URL=$lb
DATABASE_URL=postgres://$DB_USER@127.0.0.1:$PGBOUNCER_PORT/$DB_NAME
DATABASE_DIRECT_URL=postgres://$DB_USER@127.0.0.1:$PG_PRIMARY_PORT/$DB_NAME
REPLICA_URL=postgres://$DB_USER@127.0.0.1:$PG_REPLICA_PORT/$DB_NAME
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
EOF

STARTED=0 # from here on a failure must not tear the topology down
if [ "$first_admin" -eq 1 ]; then
  password_line="$(cat "$SECRETS_DIR/admin-password")   (shown once; also in $SECRETS_DIR/admin-password until you change it)"
else
  password_line="as printed at the first start (kept in $SECRETS_DIR/admin-password unless changed since)"
fi
cat <<EOF

Topology up: $lb  ($INSTANCES instances behind HAProxy, PostgreSQL $PG_MAJOR primary + streaming replica, PgBouncer, Redis)
  API        $lb/api/v1   (docs: $lb/docs)
  admin      $admin_email
  password   $password_line
  logs       $LOG_DIR/  (app-N.log, haproxy.log, pgbouncer.log, pg-primary.log, pg-replica.log, redis.log)
  databases  primary 127.0.0.1:$PG_PRIMARY_PORT, replica 127.0.0.1:$PG_REPLICA_PORT, PgBouncer 127.0.0.1:$PGBOUNCER_PORT (see $STATE/topology.env)
  stop       ${TOPOLOGY_DIR:+TOPOLOGY_DIR=$STATE }npm run topology:down   (add -- --purge to delete $STATE)
EOF
