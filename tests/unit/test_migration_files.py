"""Unit tests, no database: discovery, checksums, the marker, statements and lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.database.migrations import discover, new_migration, slugify
from provisioner.database.seeds import discover_seeds, resolve_variables
from provisioner.database.sqlfile import (
    checksum,
    error_line,
    has_no_transaction_marker,
    plpgsql_line,
    split_statements,
)
from provisioner.errors import MigrationError
from tests.support.postgres import MIGRATIONS, SEEDS


def write(directory: Path, name: str, text: str = "SELECT 1;\n") -> Path:
    path = directory / name
    path.write_text(text)
    return path


# ---- discovery ---------------------------------------------------------------------------------


def test_repository_migrations_are_well_formed():
    migrations = discover(MIGRATIONS)
    assert [m.version for m in migrations] == [1, 2, 3, 4, 5, 6, 7]
    assert all(m.down_path is not None and m.down_path.is_file() for m in migrations)
    # Only the continuous aggregate's first refresh needs to run outside a transaction.
    assert [m.version for m in migrations if not m.transactional] == [7]
    assert migrations[0].name == "extensions"
    assert len({m.checksum for m in migrations}) == 7


def test_discover_orders_by_number_not_by_name(tmp_path: Path):
    write(tmp_path, "10_later.up.sql")
    write(tmp_path, "9_earlier.up.sql")
    write(tmp_path, "9_earlier.down.sql")
    write(tmp_path, "README.md", "not sql")
    write(tmp_path, ".hidden.sql", "ignored")
    migrations = discover(tmp_path)
    assert [(m.version, m.name) for m in migrations] == [(9, "earlier"), (10, "later")]
    assert migrations[0].down_path == tmp_path / "9_earlier.down.sql"
    assert migrations[1].down_path is None


@pytest.mark.parametrize(
    "name",
    ["000001-create.up.sql", "000001_create.sql", "create.up.sql", "000001_.up.sql", "x1_a.up.sql"],
)
def test_discover_rejects_bad_names(tmp_path: Path, name: str):
    write(tmp_path, name)
    with pytest.raises(MigrationError, match="is not named like"):
        discover(tmp_path)


def test_discover_rejects_duplicate_versions(tmp_path: Path):
    write(tmp_path, "000002_one.up.sql")
    write(tmp_path, "2_two.up.sql")
    with pytest.raises(MigrationError, match="Two up migrations have version 2") as err:
        discover(tmp_path)
    assert "000002_one.up.sql" in str(err.value) and "2_two.up.sql" in str(err.value)


def test_discover_rejects_down_without_up(tmp_path: Path):
    write(tmp_path, "000001_a.up.sql")
    write(tmp_path, "000002_b.down.sql")
    with pytest.raises(MigrationError, match=r"has no up file \(000002_b.up.sql is missing\)"):
        discover(tmp_path)


def test_discover_rejects_mismatched_pair(tmp_path: Path):
    write(tmp_path, "000001_a.up.sql")
    write(tmp_path, "000001_b.down.sql")
    with pytest.raises(MigrationError, match="different names"):
        discover(tmp_path)


def test_discover_missing_folder(tmp_path: Path):
    with pytest.raises(MigrationError, match="does not exist"):
        discover(tmp_path / "nope")


def test_discover_reads_the_marker(tmp_path: Path):
    write(tmp_path, "000001_idx.up.sql", "-- provisioner:no-transaction\nCREATE INDEX ...;\n")
    write(tmp_path, "000002_plain.up.sql", "SELECT '-- provisioner:no-transaction';\n")
    first, second = discover(tmp_path)
    assert first.transactional is False
    assert second.transactional is True


def test_new_migration_creates_the_next_pair(tmp_path: Path):
    up, down = new_migration(tmp_path / "m", "Add usage index!")
    assert (up.name, down.name) == (
        "000001_add_usage_index.up.sql",
        "000001_add_usage_index.down.sql",
    )
    up2, _ = new_migration(tmp_path / "m", "Créer les clés")
    assert up2.name == "000002_creer_les_cles.up.sql"
    assert [m.version for m in discover(tmp_path / "m")] == [1, 2]
    with pytest.raises(MigrationError, match="no letters or digits"):
        new_migration(tmp_path / "m", "!!!")


def test_new_migration_follows_the_repository(tmp_path: Path, migrations_copy: Path):
    up, down = new_migration(migrations_copy, "next thing")
    assert up.name == "000008_next_thing.up.sql" and down.is_file()
    assert "provisioner:no-transaction" in up.read_text()  # documents the marker...
    assert discover(migrations_copy)[-1].transactional  # ...without setting it


def test_slugify():
    assert slugify("  Create Orgs & Users ") == "create_orgs_users"
    assert len(slugify("x" * 200)) == 60


# ---- checksums and the marker ---------------------------------------------------------------


def test_checksum_ignores_line_endings_and_bom_only():
    text = "CREATE TABLE a (id int);\nSELECT 1;\n"
    assert checksum(text) == checksum(text.replace("\n", "\r\n")) == checksum("\ufeff" + text)
    assert checksum(text) != checksum(text + " ")
    assert checksum(text) != checksum(text.replace("a", "b"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-- provisioner:no-transaction\nSELECT 1;", True),
        ("SELECT 1;\n  --   provisioner:no-transaction  \n", True),
        ("SELECT 1; -- provisioner:no-transaction", False),
        ("-- provisioner:no-transactions\n", False),
        ("SELECT 1;", False),
    ],
)
def test_marker_detection(text: str, expected: bool):
    assert has_no_transaction_marker(text) is expected


# ---- statements and lines -----------------------------------------------------------------


def test_position_to_line():
    text = "SELECT 1;\nSELECT 2;\n  selec x;\n"

    def line(position: int) -> int:  # PostgreSQL's 1-based position in the whole file
        return error_line(text, 0, position, None, text)

    assert line(1) == 1
    assert line(10) == 1  # the newline ends line 1
    assert line(11) == 2
    assert line(text.index("selec") + 1) == 3
    assert line(10_000) == 4  # past the end: clamp


def test_plpgsql_line_from_context():
    assert plpgsql_line("PL/pgSQL function inline_code_block line 3 at RAISE") == 3
    assert plpgsql_line("PL/pgSQL function f() line 12 at SQL statement") == 12
    assert plpgsql_line(None) is None
    assert plpgsql_line('SQL statement "SELECT 1"') is None


def test_error_line_inside_a_do_block():
    text = "SELECT 1;\nDO $$\nBEGIN\n  PERFORM 1;\n  RAISE EXCEPTION 'x';\nEND\n$$;\n"
    start = text.index("DO")
    statement = text[start:]
    # plpgsql counts the body from the text right after the opening $$ (line 1 = '$$' line)
    assert error_line(text, start, None, "inline_code_block line 4 at RAISE", statement) == 5
    assert error_line(text, start, None, None, statement) == 2
    assert error_line(text, start, 4, None, statement) == 2


TRICKY = """-- provisioner:no-transaction
CREATE TABLE a (x text default 'a;b', y text default E'it\\'s;', "we;ird" int);
/* c; /* nested; */ still; */
DO $$ BEGIN PERFORM 1; END $$;
DO $fn$ BEGIN PERFORM 'x$$;'; END $fn$;
CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT CASE WHEN true THEN 2 ELSE 3 END;
END;
CREATE FUNCTION g(a int) RETURNS int AS 'select $1;' LANGUAGE sql;
SELECT 'it''s; fine', $1$notatag;
CREATE INDEX CONCURRENTLY i ON a (x)
"""


def test_split_statements_follows_psql():
    statements = split_statements(TRICKY)
    firsts = [s.first_word for s in statements]
    assert firsts == ["CREATE", "DO", "DO", "CREATE", "CREATE", "SELECT", "CREATE"]
    assert statements[3].text.endswith("END;") and "SELECT 1;" in statements[3].text
    assert statements[-1].text == "CREATE INDEX CONCURRENTLY i ON a (x)"  # no final ';'
    for s in statements:
        assert TRICKY[s.start : s.end] == s.text


def test_split_statements_skips_empty_and_comments():
    assert split_statements("") == []
    assert split_statements("-- only a comment\n/* and this */\n") == []
    assert [s.text for s in split_statements(";;SELECT 1;;")] == ["SELECT 1;"]


FRAGMENTS = [
    "SELECT 1",
    "SELECT 'a;b'",
    "SELECT E'x\\';y'",
    'SELECT "c;d" FROM t',
    "DO $$ BEGIN PERFORM 1; END $$",
    "DO $t$ BEGIN RAISE NOTICE '$$;'; END $t$",
    "SELECT (1 + (2))",
    "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END",
    "SELECT 1 /* ; */ + 1",
]


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8), st.sampled_from(["\n", " "]))
def test_split_statements_property(fragments: list[str], sep: str):
    text = sep.join(f + ";" for f in fragments)
    statements = split_statements(text)
    assert [s.text for s in statements] == [f + ";" for f in fragments]


# ---- seeds ------------------------------------------------------------------------------------


def test_repository_seeds_in_order():
    names = [s.name for s in discover_seeds(SEEDS)]
    assert names == sorted(names) and len(names) == 4


def test_seed_variables():
    values = resolve_variables({"org_name": "Acme"})
    assert values["org_name"] == "Acme" and values["admin_email"] == "admin@ias.local"
    with pytest.raises(MigrationError, match="not a valid name"):
        resolve_variables({"Bad-Name": "x"})
    with pytest.raises(MigrationError, match="set by the provisioner"):
        resolve_variables({"dev_api_key_sha256": "x"})
    with pytest.raises(MigrationError, match="too short"):
        resolve_variables({"dev_api_key": "short"})


def test_connection_errors_mask_key_value_dsn_passwords_whole():
    from provisioner.database.migrations import connect

    # Nothing listens on port 1: psycopg fails at once, and its message names the DSN.
    dsn = "host=127.0.0.1 port=1 user=u password=ab,cd dbname=x connect_timeout=2"
    with pytest.raises(MigrationError) as info:
        connect(dsn, "test")
    message = str(info.value)
    assert "ab,cd" not in message and ",cd" not in message
    assert "password=********" in message
