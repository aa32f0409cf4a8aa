#!/bin/sh
# One-shot service of the compose topology: a base backup of the primary into the replica's
# volume, once. -R writes primary_conninfo and standby.signal, so the replica service (the stock
# postgres image, which skips initdb on a non-empty data directory) starts as a streaming standby.
set -eu
if [ -s "$PGDATA/PG_VERSION" ]; then
  echo "replica data already in $PGDATA"
  exit 0
fi
# TCP only answers once the primary's init scripts are done and it runs for real.
until pg_isready -q -h postgres-primary -U replicator -d postgres; do sleep 1; done
PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h postgres-primary -U replicator \
  -D "$PGDATA" -R -X stream -S replica1 -c fast
chmod 700 "$PGDATA"
