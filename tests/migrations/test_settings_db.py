"""Migrations and seeds stay idempotent whatever the database's encoding, locale and
session defaults: servers created with other initdb arguments, and databases with
other TimeZone, DateStyle, IntervalStyle and search_path defaults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from provisioner.database.migrations import migrate_up, migration_status
from provisioner.database.seeds import pending_seeds, run_seeds
from tests.support.pg_servers import USER, running_server
from tests.support.postgres import MIGRATIONS, SEEDS, scalar

pytestmark = pytest.mark.docker

VARIABLES = {"org_name": "Bootstrap Org", "admin_email": "admin@ias.local"}


def assert_second_run_changes_nothing(dsn: str) -> None:
    first = migrate_up(dsn, MIGRATIONS)
    assert first.applied, "the first run applies the migrations"
    seeded = run_seeds(dsn, SEEDS, VARIABLES)
    assert seeded.applied
    # What users saw: 'Applied migration(s) changed since they ran' on the second run.
    assert {s.state for s in migration_status(dsn, MIGRATIONS)} == {"applied"}
    assert migrate_up(dsn, MIGRATIONS).applied == []
    assert pending_seeds(dsn, SEEDS, VARIABLES) == []
    assert run_seeds(dsn, SEEDS, VARIABLES).applied == []


@pytest.fixture(scope="module")
def sql_ascii_server(docker_client) -> Iterator[str]:
    """The issue's report: TimescaleDB created with -E SQL_ASCII --locale=C."""
    args = {"POSTGRES_INITDB_ARGS": "-E SQL_ASCII --locale=C"}
    with running_server(docker_client, "timescaledb", args) as dsn:
        yield dsn.rsplit("/", 1)[0] + f"/{USER}"


def test_sql_ascii_server(sql_ascii_server: str):
    # A plain psycopg connection shows the problem: text arrives as bytes.
    assert scalar(sql_ascii_server, "SHOW server_encoding") == b"SQL_ASCII"
    assert (
        scalar(
            sql_ascii_server,
            "SELECT datcollate FROM pg_database WHERE datname = current_database()",
        )
        == b"C"
    )
    assert_second_run_changes_nothing(sql_ascii_server)


def _database_with(pg_server: str, settings: dict[str, str], encoding: str | None = None) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        created = f'CREATE DATABASE "{name}"'
        if encoding:  # template0: the only template that takes another encoding
            created += f" TEMPLATE template0 ENCODING '{encoding}' LOCALE 'C'"
        admin.execute(created)
        for key, value in settings.items():
            admin.execute(f'ALTER DATABASE "{name}" SET {key} = {value}')
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


CASES = {
    "latin1": ({}, "LATIN1"),
    "sql_ascii_db": ({}, "SQL_ASCII"),
    "far_timezone": ({"TimeZone": "'Pacific/Chatham'"}, None),  # +12:45/+13:45
    "german_dates": ({"DateStyle": "'German, DMY'", "IntervalStyle": "'sql_standard'"}, None),
    "sql_dates": ({"DateStyle": "'SQL, MDY'", "IntervalStyle": "'iso_8601'"}, None),
    "user_schema_first": ({"search_path": '"$user", public'}, None),
    "lc_messages": ({"lc_messages": "'C'", "extra_float_digits": "-15"}, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_database_defaults(pg_server: str, case: str):
    settings, encoding = CASES[case]
    dsn = _database_with(pg_server, settings, encoding)
    try:
        if case == "user_schema_first":  # "$user" now names a schema: tables go there
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{USER}"')
        assert_second_run_changes_nothing(dsn)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
