"""usage_events and its hourly aggregate on both servers: TimescaleDB objects and
policies where it is present, the same names and columns on plain PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from provisioner.database.migrations import migrate_down, migrate_up
from provisioner.database.seeds import run_seeds
from tests.support.postgres import MIGRATIONS, SEEDS, query, scalar

pytestmark = pytest.mark.docker

timescale_only = pytest.mark.parametrize("server_kind", ["timescaledb"], indirect=True)

HOURLY_COLUMNS = [
    ("hour", "timestamp with time zone"),
    ("org_id", "uuid"),
    ("model", "text"),
    ("requests", "bigint"),
    ("prompt_tokens", "bigint"),
    ("completion_tokens", "bigint"),
    ("total_tokens", "bigint"),
    ("errors", "bigint"),
]
# The questions the aggregate answers, asked of the raw table: the two must agree.
RAW_HOURLY = """
SELECT date_bin('1 hour', time, timestamptz '2000-01-01 00:00:00+00'), org_id, model,
       count(*), sum(prompt_tokens), sum(completion_tokens),
       sum(prompt_tokens) + sum(completion_tokens), count(*) FILTER (WHERE status = 'error')
FROM usage_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
FROM_HOURLY = "SELECT * FROM usage_hourly ORDER BY 1, 2, 3"


def policies(dsn: str) -> list[tuple]:
    """The policy jobs on our tables (not TimescaleDB's own): what, on what, how often, config."""
    return query(
        dsn,
        "SELECT proc_name, hypertable_name, schedule_interval::text, config::text "
        "FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL ORDER BY 1",
    )


def compression_settings(dsn: str) -> list[tuple]:
    """(column, segment-by position, order-by position) of usage_events' compression."""
    return query(
        dsn,
        "SELECT attname, segmentby_column_index, orderby_column_index "
        "FROM timescaledb_information.compression_settings "
        "WHERE hypertable_name = 'usage_events' "
        "ORDER BY segmentby_column_index NULLS LAST, orderby_column_index",
    )


def refresh(dsn: str, server_kind: str) -> None:
    """What brings the aggregate up to date on each server."""
    sql = (
        "CALL refresh_continuous_aggregate('usage_hourly', NULL, NULL)"
        if server_kind == "timescaledb"
        else "REFRESH MATERIALIZED VIEW CONCURRENTLY usage_hourly"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def insert_events(dsn: str, now: datetime) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        orgs = [
            conn.execute(
                "INSERT INTO organizations (slug, name) VALUES (%s, %s) RETURNING id", (s, s)
            ).fetchone()[0]
            for s in ("acme", "globex")
        ]
        rows = [
            (
                now - timedelta(minutes=37 * i),
                orgs[i % 2],
                ("mock-gpt", "mock-claude")[i % 3 == 0],
                10 + i,
                2 * i,
                ("ok", "error", "rate_limited", "ok")[i % 4],
            )
            for i in range(400)  # about 10 days back, so it spans compressible chunks
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO usage_events (time, org_id, model, prompt_tokens, "
                "completion_tokens, status) VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )


def test_hourly_has_the_same_columns_on_both(database: str):
    migrate_up(database, MIGRATIONS)
    columns = query(
        database,
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'usage_hourly'::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
    )
    assert columns == HOURLY_COLUMNS


def test_hourly_agrees_with_the_raw_rows(database: str, server_kind: str):
    migrate_up(database, MIGRATIONS)
    insert_events(database, datetime.now(UTC))
    refresh(database, server_kind)
    expected = query(database, RAW_HOURLY)
    assert len(expected) > 100
    assert query(database, FROM_HOURLY) == expected
    assert sum(r[7] for r in expected) == 100  # status 'error' only, not rate_limited


def test_hourly_is_filled_from_existing_rows_when_created(database: str, server_kind: str):
    """Applied to a database that already has usage: the whole history, not only the
    refresh policy's last 3 days."""
    migrate_up(database, MIGRATIONS, to=6)
    insert_events(database, datetime.now(UTC))
    migrate_up(database, MIGRATIONS)
    oldest = scalar(database, "SELECT min(hour) FROM usage_hourly")
    assert oldest is not None and oldest < datetime.now(UTC) - timedelta(days=9)
    assert scalar(database, "SELECT sum(requests) FROM usage_hourly") == 400


@timescale_only
def test_timescale_objects_and_policies(database: str):
    migrate_up(database, MIGRATIONS)
    run_seeds(database, SEEDS, {})
    assert query(
        database,
        "SELECT column_name, time_interval::text FROM timescaledb_information.dimensions "
        "WHERE hypertable_name = 'usage_events'",
    ) == [("time", "1 day")]
    assert compression_settings(database) == [
        ("org_id", 1, None),
        ("time", None, 1),
        ("id", None, 2),
    ]
    jobs = {row[0]: row for row in policies(database)}
    assert set(jobs) == {
        "policy_retention",
        "policy_compression",
        "policy_refresh_continuous_aggregate",
    }
    assert jobs["policy_retention"][1] == "usage_events"
    assert '"drop_after": "90 days"' in jobs["policy_retention"][3]
    assert jobs["policy_compression"][1] == "usage_events"
    assert '"compress_after": "7 days"' in jobs["policy_compression"][3]
    refresh_job = jobs["policy_refresh_continuous_aggregate"]
    assert refresh_job[2] == "00:30:00"
    assert '"start_offset": "3 days"' in refresh_job[3]
    assert '"end_offset": "01:00:00"' in refresh_job[3]
    assert query(
        database,
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates",
    ) == [("usage_hourly", False)]


@timescale_only
def test_second_run_changes_nothing(database: str):
    migrate_up(database, MIGRATIONS)
    run_seeds(database, SEEDS, {})
    before = policies(database), query(database, "SELECT * FROM provisioner_schema_migrations")
    assert migrate_up(database, MIGRATIONS).applied == []
    assert run_seeds(database, SEEDS, {}).applied == []
    after = policies(database), query(database, "SELECT * FROM provisioner_schema_migrations")
    assert after == before


@timescale_only
def test_down_decompresses_and_round_trips(database: str):
    migrate_up(database, MIGRATIONS)
    insert_events(database, datetime.now(UTC))
    compressed = scalar(
        database,
        "SELECT count(compress_chunk(c)) FROM show_chunks('usage_events', "
        "older_than => interval '7 days') AS c",
    )
    assert compressed >= 2
    reverted = migrate_down(database, MIGRATIONS, steps=2)
    assert [m.version for m in reverted] == [7, 6]
    assert scalar(database, "SELECT count(*) FROM usage_events") == 400
    assert policies(database) == [
        ("policy_retention", "usage_events", "1 day", policies(database)[0][3])
    ]
    assert (
        scalar(
            database,
            "SELECT compression_enabled FROM timescaledb_information.hypertables "
            "WHERE hypertable_name = 'usage_events'",
        )
        is False
    )
    migrate_down(database, MIGRATIONS, steps=10)
    assert scalar(database, "SELECT to_regclass('usage_events')") is None
    assert policies(database) == []
    migrate_up(database, MIGRATIONS)
    assert len(policies(database)) == 3
