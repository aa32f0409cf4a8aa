#!/usr/bin/env bash
# npm run topology:faults [-- --ha]: builds the tools (dist-tools/) when stale, then runs the fault
# injection (scripts/topology/faults.ts, or with --ha scripts/topology/faults-ha.ts) against a
# topology of its own, which builds the app when stale (up.sh, up-ha.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=dist-tools/scripts/topology/faults.js
for arg in "$@"; do [ "$arg" != --ha ] || out=dist-tools/scripts/topology/faults-ha.js; done
if [ ! -f "$out" ] || [ -n "$(find src scripts -name '*.ts' -newer "$out" -print -quit)" ]; then
  npm run build:tools
fi
exec node "$out" "$@"
