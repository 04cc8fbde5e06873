"""The migration engine against a real PostgreSQL (the stand-in image)."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from provisioner.database.migrations import (
    LOCK_NAMESPACE,
    MIGRATIONS_LOCK,
    TRACKING_TABLE,
    discover,
    migrate_down,
    migrate_up,
    migration_status,
)
from provisioner.errors import MigrationError
from tests.support.postgres import MIGRATIONS, query, scalar

pytestmark = pytest.mark.docker

TABLES = {"organizations", "users", "api_keys", "model_mappings", "usage_events"}
VERSIONS = [m.version for m in discover(MIGRATIONS)]


def tables(dsn: str) -> set[str]:
    rows = query(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows} - {"provisioner_schema_migrations", "provisioner_seeds"}


def tracked(dsn: str) -> list[int]:
    return [r[0] for r in query(dsn, f"SELECT version FROM {TRACKING_TABLE} ORDER BY version")]


def test_apply_from_empty(database: str, server_kind: str):
    report = migrate_up(database, MIGRATIONS)
    assert [m.version for m in report.applied] == VERSIONS
    assert report.skipped == 0
    assert tables(database) == TABLES
    rows = query(database, f"SELECT version, name, checksum, duration_ms FROM {TRACKING_TABLE}")
    expected = {m.version: (m.name, m.checksum) for m in discover(MIGRATIONS)}
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert all(r[3] >= 0 for r in rows)
    assert scalar(database, "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'") == 1
    # The TimescaleDB image created the extension; plain PostgreSQL has none and the same
    # migrations made usage_events a plain table, usable as such.
    extension = scalar(database, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
    assert extension == (1 if server_kind == "timescaledb" else 0)
    with psycopg.connect(database, autocommit=True) as conn:
        org = conn.execute("INSERT INTO organizations (slug, name) VALUES ('o', 'O') RETURNING id")
        org_id = org.fetchone()[0]
        conn.execute(
            "INSERT INTO usage_events (org_id, model, prompt_tokens, completion_tokens, "
            "latency_ms, status) VALUES (%s, 'mock-gpt', 50, 15, 120, 'ok')",
            (org_id,),
        )


def test_apply_again_runs_nothing(database: str):
    migrate_up(database, MIGRATIONS)
    before = query(database, f"SELECT version, applied_at FROM {TRACKING_TABLE} ORDER BY 1")
    report = migrate_up(database, MIGRATIONS)
    assert report.applied == [] and report.skipped == len(VERSIONS)
    assert query(database, f"SELECT version, applied_at FROM {TRACKING_TABLE} ORDER BY 1") == before
    assert {s.state for s in migration_status(database, MIGRATIONS)} == {"applied"}


def test_noop_needs_no_lock(database: str):
    """Nothing pending: one read, no lock, so it does not wait behind another run."""
    migrate_up(database, MIGRATIONS)
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, MIGRATIONS_LOCK))
        assert migrate_up(database, MIGRATIONS, lock_timeout_s=0.2).applied == []


def test_status_is_read_only(database: str):
    statuses = migration_status(database, MIGRATIONS)
    assert [(s.version, s.state) for s in statuses] == [(v, "pending") for v in VERSIONS]
    assert scalar(database, "SELECT to_regclass(%s)::text", (TRACKING_TABLE,)) is None


def test_up_to_a_version(database: str):
    report = migrate_up(database, MIGRATIONS, to=3)
    assert [m.version for m in report.applied] == [1, 2, 3]
    assert tables(database) == {"organizations", "users", "api_keys"}
    with pytest.raises(MigrationError, match="no migration version 42"):
        migrate_up(database, MIGRATIONS, to=42)
    assert [m.version for m in migrate_up(database, MIGRATIONS).applied] == VERSIONS[3:]


def add(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_failing_migration_rolls_back_and_names_file_and_line(database: str, migrations_copy: Path):
    add(
        migrations_copy,
        "000100_broken.up.sql",
        "CREATE TABLE broken_a (id int);\n"
        "-- a comment\n"
        "INSERT INTO broken_a VALUES (1);\n"
        "SELECT nosuchcolumn FROM broken_a;\n",
    )
    with pytest.raises(MigrationError) as err:
        migrate_up(database, migrations_copy)
    message = str(err.value)
    assert "000100_broken.up.sql failed at line 4" in message
    assert 'column "nosuchcolumn" does not exist' in message
    assert "rolled back" in message
    assert "Applied before it in this run: 000001_extensions" in message
    assert "Traceback" not in message and "\n" not in message
    assert "broken_a" not in tables(database)  # nothing of the file left behind
    assert tracked(database) == VERSIONS  # the good ones are kept


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        # no statement position from PostgreSQL: located by replaying statement by statement
        (
            "CREATE TABLE fine (id int PRIMARY KEY);\n\nCREATE TABLE organizations (x int);\n",
            3,
            'relation "organizations" already exists',
        ),
        (
            "CREATE TABLE t6 (id int PRIMARY KEY);\nINSERT INTO t6 VALUES (1);\n"
            "INSERT INTO t6\n  VALUES (1);\n",
            3,
            "duplicate key value violates unique constraint",
        ),
        # inside a DO block: the line of the failing PL/pgSQL statement in the file
        (
            "SELECT 1;\nDO $$\nBEGIN\n    PERFORM 1;\n"
            "    RAISE EXCEPTION 'boom %', 42;\nEND\n$$;\n",
            5,
            "boom 42",
        ),
        # a position inside a statement that is not on its first line
        ("SELECT 1;\nSELECT\n  1 +\n  'x'::int;\n", 4, "invalid input syntax for type integer"),
    ],
)
def test_error_lines(database: str, migrations_copy: Path, text: str, line: int, fragment: str):
    migrate_up(database, migrations_copy)
    add(migrations_copy, "000100_bad.up.sql", text)
    with pytest.raises(MigrationError) as err:
        migrate_up(database, migrations_copy)
    assert f"000100_bad.up.sql failed at line {line} " in str(err.value)
    assert fragment in str(err.value)
    assert "fine" not in tables(database) and "t6" not in tables(database)
    assert tracked(database) == VERSIONS


def test_transaction_control_in_a_file_is_refused(database: str, migrations_copy: Path):
    add(migrations_copy, "000100_tx.up.sql", "BEGIN;\nCREATE TABLE tx (id int);\nCOMMIT;\n")
    with pytest.raises(MigrationError, match=r"000100_tx.up.sql, line 1: BEGIN is not allowed"):
        migrate_up(database, migrations_copy)
    assert "tx" not in tables(database)


def test_edited_migration_is_refused_then_accepted(database: str, migrations_copy: Path):
    migrate_up(database, migrations_copy)
    path = migrations_copy / "000004_model_mappings.up.sql"
    path.write_text(path.read_text() + "\n-- an edit after it ran\n")
    with pytest.raises(MigrationError) as err:
        migrate_up(database, migrations_copy)
    assert "000004_model_mappings.up.sql" in str(err.value)
    assert "--accept-changed 4" in str(err.value)
    states = {s.version: s.state for s in migration_status(database, migrations_copy)}
    assert states == {v: "changed" if v == 4 else "applied" for v in VERSIONS}

    old = scalar(database, f"SELECT checksum FROM {TRACKING_TABLE} WHERE version = 4")
    report = migrate_up(database, migrations_copy, accept_changed=[4, 5])
    assert report.applied == []  # recorded, not re-run
    new = discover(migrations_copy)[3].checksum
    assert [(a.migration.version, a.old_checksum) for a in report.accepted] == [(4, old)]
    assert report.accepted_lines() == [
        f"accepted 000004_model_mappings: checksum {old[:12]} -> {new[:12]} recorded "
        "(the edit did not run)",
        "--accept-changed 5: nothing to accept (not applied, or unchanged)",
    ]
    stored = scalar(database, f"SELECT checksum FROM {TRACKING_TABLE} WHERE version = 4")
    assert stored == new
    assert migrate_up(database, migrations_copy).applied == []


def test_crlf_checkout_is_not_an_edit(database: str, migrations_copy: Path):
    migrate_up(database, migrations_copy)
    for path in migrations_copy.glob("*.sql"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert migrate_up(database, migrations_copy).applied == []


def test_two_concurrent_runs_apply_each_version_once(database: str, migrations_copy: Path):
    # A slow migration keeps the first run inside the lock while the second one waits.
    add(
        migrations_copy,
        "000100_slow.up.sql",
        "SELECT pg_sleep(0.5);\nCREATE TABLE slow (id int);\n",
    )
    barrier = threading.Barrier(3)
    reports, errors = [], []

    def run() -> None:
        barrier.wait()
        try:
            reports.append(migrate_up(database, migrations_copy))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    applied = sorted(m.version for r in reports for m in r.applied)
    assert applied == [*VERSIONS, 100]  # each exactly once, across the runs
    assert tracked(database) == [*VERSIONS, 100]


def test_lock_timeout_names_the_holder(database: str):
    with psycopg.connect(database, autocommit=True, application_name="other-run") as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, MIGRATIONS_LOCK))
        with pytest.raises(MigrationError, match=r"lock .* over 0.3s .*other-run"):
            migrate_up(database, MIGRATIONS, lock_timeout_s=0.3)
    assert tracked_or_none(database) is None  # nothing ran


def tracked_or_none(dsn: str):
    return scalar(dsn, "SELECT to_regclass(%s)::text", (TRACKING_TABLE,))


def test_down_then_up_round_trips(database: str):
    migrate_up(database, MIGRATIONS)
    reverted = migrate_down(database, MIGRATIONS)
    assert [m.version for m in reverted] == VERSIONS[-1:]
    assert scalar(database, "SELECT to_regclass('usage_hourly')") is None
    reverted = migrate_down(database, MIGRATIONS, steps=10)
    assert [m.version for m in reverted] == VERSIONS[-2::-1]
    assert tables(database) == set() and tracked(database) == []
    assert [m.version for m in migrate_up(database, MIGRATIONS).applied] == VERSIONS
    assert tables(database) == TABLES
    with pytest.raises(MigrationError, match="at least one step"):
        migrate_down(database, MIGRATIONS, steps=0)


def test_down_needs_the_down_file(database: str, migrations_copy: Path):
    migrate_up(database, migrations_copy)
    (migrations_copy / "000005_usage_events.down.sql").unlink()
    with pytest.raises(MigrationError, match=r"000005_usage_events: its .down.sql file is missing"):
        migrate_down(database, migrations_copy, steps=10)
    assert tracked(database) == VERSIONS  # checked before anything ran


def test_missing_file_shows_in_status(database: str, migrations_copy: Path):
    migrate_up(database, migrations_copy)
    for path in migrations_copy.glob("000005_*"):
        path.unlink()
    states = [(s.version, s.state) for s in migration_status(database, migrations_copy)]
    assert (5, "missing") in states
    assert migrate_up(database, migrations_copy).applied == []


def test_no_transaction_marker_with_create_index_concurrently(database: str, migrations_copy: Path):
    index_sql = (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS model_mappings_backend_idx\n"
        "    ON model_mappings (backend_model);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS api_keys_user_idx ON api_keys (user_id);\n"
    )
    # Without the marker PostgreSQL refuses it, and the message says where.
    add(migrations_copy, "000100_indexes.up.sql", index_sql)
    with pytest.raises(MigrationError, match="cannot run inside a transaction block"):
        migrate_up(database, migrations_copy)

    add(migrations_copy, "000100_indexes.up.sql", "-- provisioner:no-transaction\n" + index_sql)
    add(
        migrations_copy,
        "000100_indexes.down.sql",
        "-- provisioner:no-transaction\n"
        "DROP INDEX CONCURRENTLY IF EXISTS api_keys_user_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS model_mappings_backend_idx;\n",
    )
    report = migrate_up(database, migrations_copy)
    assert [m.version for m in report.applied] == [100] and not report.applied[0].transactional
    valid = query(
        database,
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname IN ('model_mappings_backend_idx', 'api_keys_user_idx') ORDER BY 1",
    )
    assert valid == [("api_keys_user_idx", True), ("model_mappings_backend_idx", True)]
    assert (
        scalar(database, f"SELECT transactional FROM {TRACKING_TABLE} WHERE version = 100") is False
    )
    assert [m.version for m in migrate_down(database, migrations_copy)] == [100]
    assert query(database, "SELECT 1 FROM pg_class WHERE relname = 'api_keys_user_idx'") == []


def test_no_transaction_failure_keeps_earlier_statements(database: str, migrations_copy: Path):
    add(
        migrations_copy,
        "000100_partial.up.sql",
        "-- provisioner:no-transaction\nCREATE TABLE partial_a (id int);\nSELECT * FROM nope;\n",
    )
    with pytest.raises(MigrationError) as err:
        migrate_up(database, migrations_copy)
    assert "000100_partial.up.sql failed at line 3" in str(err.value)
    assert "stay committed" in str(err.value)
    assert "partial_a" in tables(database) and 100 not in tracked(database)


def test_connection_errors_mask_the_password(database: str):
    wrong = database.replace("mig_test_pw", "s3cret-wrong")
    with pytest.raises(MigrationError) as err:
        migrate_up(wrong, MIGRATIONS)
    assert "Cannot connect to the database" in str(err.value)
    assert "s3cret-wrong" not in str(err.value) and "********" in str(err.value)
    with pytest.raises(MigrationError, match="Cannot connect"):
        migration_status("postgresql://u:pw@127.0.0.1:1/db?connect_timeout=2", MIGRATIONS)


def test_connection_lost_mid_migration(database: str, migrations_copy: Path):
    add(
        migrations_copy,
        "000100_dies.up.sql",
        "CREATE TABLE dies (id int);\nSELECT pg_terminate_backend(pg_backend_pid());\n",
    )
    with pytest.raises(MigrationError) as err:
        migrate_up(database, migrations_copy)
    assert "000100_dies.up.sql failed:" in str(err.value)
    assert "dies" not in tables(database) and tracked(database) == VERSIONS
