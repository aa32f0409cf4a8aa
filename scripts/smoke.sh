#!/usr/bin/env bash
# Starts the built app exactly as `npm start` does (no DATABASE_URL: embedded PostgreSQL in a temp
# DATA_DIR), waits for readiness, logs in with the generated admin password it logs once, fetches
# the web dashboard and its script, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log="$data/app.log"
# Below the ephemeral range (32768 and up), which outgoing connections take: a fixed port there
# can be held by any client socket on the machine (CI once failed here with EADDRINUSE).
port=${SMOKE_PORT:-28080}
start=$(date +%s%N)
env -u DATABASE_URL -u ADMIN_EMAIL -u ADMIN_PASSWORD DATA_DIR="$data" PORT="$port" node dist/src/main.js >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "smoke: app exited"; exit 1; }
  sleep 0.5
done
curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null || { cat "$log"; echo "smoke: not ready"; exit 1; }
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
password=$(grep -o 'generated password [^ ]*' "$log" | head -1 | awk '{print $3}')
[ -n "$password" ] || { cat "$log"; echo "smoke: no generated admin password in the log"; exit 1; }
code=$(curl -s -o "$data/login.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@example.com\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/v1/auth/login")
[ "$code" = 200 ] || { cat "$data/login.json"; echo "smoke: login answered $code"; exit 1; }
curl -fs "http://127.0.0.1:$port/docs-json" >/dev/null || { echo "smoke: no /docs-json"; exit 1; }
# The web dashboard (npm run build bundles it into dist/public): the page and the script it names.
curl -fs -o "$data/index.html" "http://127.0.0.1:$port/" || { echo "smoke: no dashboard at /"; exit 1; }
script=$(grep -o '/assets/app-[A-Za-z0-9]*\.js' "$data/index.html" | head -1)
[ -n "$script" ] && curl -fs -o /dev/null "http://127.0.0.1:$port$script" || { echo "smoke: the dashboard's script is not served"; exit 1; }
kill -TERM $pid
wait $pid || true
trap - EXIT
echo "smoke: ready after ${ready_ms} ms (fresh embedded cluster), admin login OK, dashboard served, clean shutdown"
