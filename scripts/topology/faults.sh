#!/usr/bin/env bash
# npm run topology:faults: builds when dist/ is stale, then runs the fault injection
# (scripts/topology/faults.ts) against a topology of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=dist/scripts/topology/faults.js
if [ ! -f "$out" ] || [ -n "$(find src scripts -name '*.ts' -newer "$out" -print -quit)" ]; then
  npm run build
fi
exec node "$out" "$@"
