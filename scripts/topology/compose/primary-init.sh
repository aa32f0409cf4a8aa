#!/bin/sh
# /docker-entrypoint-initdb.d script of the compose topology's primary (first start only): the
# replication role, the slot the replica streams from (so the primary keeps the WAL it still
# needs), and a pg_hba line for replication connections, which "host all all" does not cover.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica1');
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
