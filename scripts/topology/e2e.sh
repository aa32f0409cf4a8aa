#!/usr/bin/env bash
# npm run topology:e2e [-- jest files]: e2e test files through the topology, HAProxy → three
# instances → PgBouncer and the replica, instead of one app spawned per file. The topology is
# started fresh in a temp directory on its own ports, with the settings the tests assume (their
# JWT secret and first admin), and stopped afterwards. test/app.ts talks to TEST_EXTERNAL_URL.
# Only files that need no app settings, process or database of their own can run this way; the
# default list is those.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

files=("$@")
# Run after the others, in a jest run of its own: its 1,000-row batches would push other files'
# rows off the first pages they read in the shared database.
last=()
if [ "${#files[@]}" -eq 0 ]; then
  last=(test/e2e/transactions-batch.e2e-spec.ts)
  # Not here: files that start apps with their own settings or signal them, and those asserting
  # organisation-wide totals (dashboard-*), which other files' rows change in a shared database.
  files=(
    test/e2e/http-contract.e2e-spec.ts
    test/e2e/auth.e2e-spec.ts
    test/e2e/users.e2e-spec.ts
    test/e2e/transactions.e2e-spec.ts
    test/e2e/transactions-lifecycle.e2e-spec.ts
    test/e2e/transactions-list.e2e-spec.ts
    test/e2e/transactions-pagination.e2e-spec.ts
    test/e2e/csv-export.e2e-spec.ts
    test/e2e/security-access.e2e-spec.ts
    test/e2e/security-input-injection.e2e-spec.ts
  )
fi

export TOPOLOGY_DIR=${TOPOLOGY_E2E_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/finance-topology-e2e-XXXXXX")}
export TOPOLOGY_PG_PRIMARY_PORT=${TOPOLOGY_PG_PRIMARY_PORT:-25642}
export TOPOLOGY_PG_REPLICA_PORT=${TOPOLOGY_PG_REPLICA_PORT:-25643}
export TOPOLOGY_PGBOUNCER_PORT=${TOPOLOGY_PGBOUNCER_PORT:-26642}
export TOPOLOGY_REDIS_PORT=${TOPOLOGY_REDIS_PORT:-26679}
export TOPOLOGY_LB_PORT=${TOPOLOGY_LB_PORT:-3400}
export TOPOLOGY_APP_BASE_PORT=${TOPOLOGY_APP_BASE_PORT:-3400}
# What test/app.ts gives the apps it spawns.
export JWT_SECRET=test-secret-that-is-long-enough-for-hs256-0123456789
export ADMIN_EMAIL=root@test.local ADMIN_PASSWORD=root-password-1 BCRYPT_ROUNDS=4
export THROTTLE_LIMIT=100000 THROTTLE_LOGIN_LIMIT=100000 THROTTLE_LOGIN_IP_LIMIT=100000
export LOG_LEVEL=${LOG_LEVEL:-warn}

cleanup() {
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    bash scripts/topology/down.sh --purge >/dev/null || true
  else
    bash scripts/topology/down.sh >/dev/null || true
    echo "topology:e2e: failed; logs kept in $TOPOLOGY_DIR/logs" >&2
  fi
}
trap cleanup EXIT

bash scripts/topology/up.sh
[ -f dist/src/main.js ] || npm run build

through_topology() {
  TEST_EXTERNAL_URL="http://127.0.0.1:$TOPOLOGY_LB_PORT" \
    TEST_EXTERNAL_DATABASE_URL="postgres://finance@127.0.0.1:$TOPOLOGY_PG_PRIMARY_PORT/finance" \
    TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TOPOLOGY_PG_PRIMARY_PORT/postgres" \
    npx jest --runInBand "$@" --selectProjects e2e
}
through_topology "${files[@]}"
if [ "${#last[@]}" -gt 0 ]; then through_topology "${last[@]}"; fi
