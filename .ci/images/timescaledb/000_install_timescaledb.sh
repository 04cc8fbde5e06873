#!/bin/bash
# Sourced by the entrypoint at first start (as the official image's script of the same
# name): create the extension in postgres, template1 (so later CREATE DATABASE gets it)
# and POSTGRES_DB, and record the telemetry level.
ts_create_sql="CREATE EXTENSION IF NOT EXISTS timescaledb CASCADE;"
ts_telemetry=basic
if [ "${TIMESCALEDB_TELEMETRY:-}" = off ]; then
  ts_telemetry=off
  ts_create_sql+=" SELECT alter_job(1, scheduled => false);"  # the telemetry job
fi
echo "timescaledb.telemetry_level=${ts_telemetry}" >> "$PGDATA/postgresql.conf"
for ts_db in postgres template1 "${POSTGRES_DB}"; do
  psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname "$ts_db" -c "$ts_create_sql" >/dev/null
done
unset ts_create_sql ts_telemetry ts_db
