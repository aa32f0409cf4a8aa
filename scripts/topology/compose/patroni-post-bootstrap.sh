#!/bin/sh
# Patroni's post_bootstrap of docker-compose.ha.yml: runs once, on the node that ran initdb. The
# app's role owns its database (the migrations create trusted extensions, no superuser needed).
set -eu
psql -v ON_ERROR_STOP=1 -d "$1" --set=password="$FINANCE_PASSWORD" <<'SQL'
CREATE ROLE finance LOGIN PASSWORD :'password';
CREATE DATABASE finance OWNER finance;
SQL
