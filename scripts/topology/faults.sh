#!/usr/bin/env bash
# npm run topology:faults: builds the tools (dist-tools/) when stale, then runs the fault injection
# (scripts/topology/faults.ts) against a topology of its own, which builds the app when stale (up.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=dist-tools/scripts/topology/faults.js
if [ ! -f "$out" ] || [ -n "$(find src scripts -name '*.ts' -newer "$out" -print -quit)" ]; then
  npm run build:tools
fi
exec node "$out" "$@"
