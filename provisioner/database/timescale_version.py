"""Is the database's TimescaleDB extension older than the library the server loads?

After an image upgrade under an existing volume the server loads the new library while
the database still has the old extension version; TimescaleDB calls then fail in ways
that do not say why. The fix is one statement, so say it before any migration runs.
"""

from __future__ import annotations

import re

import psycopg

from provisioner.errors import MigrationError

_QUERY = (
    "SELECT e.extversion, a.default_version FROM pg_catalog.pg_extension e "
    "JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname "
    "WHERE e.extname = 'timescaledb'"
)
_NUMBERS = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """'2.28.3' -> (2, 28, 3); a suffix such as '-dev' does not count."""
    return tuple(int(n) for n in _NUMBERS.findall(version.split("-", 1)[0]))


def outdated_message(database: str, installed: str, available: str) -> str | None:
    """The one-paragraph error when `installed` is older than `available`, else None."""
    if version_key(installed) >= version_key(available):
        return None
    return (
        f"The TimescaleDB extension in database {database!r} is version {installed}, "
        f"older than the TimescaleDB {available} this server runs (an image upgraded under "
        "an existing data volume?). Migrations stop here, before any TimescaleDB call "
        "could fail half-way. Update the extension first, as the first command in a new "
        f'session: psql -X -d {database} -c "ALTER EXTENSION timescaledb UPDATE;", '
        "then run again."
    )


def check_timescaledb_version(conn: psycopg.Connection) -> None:
    """MigrationError when the extension is installed and older than the library."""
    row = conn.execute(_QUERY).fetchone()
    if row is None:  # plain PostgreSQL, or not installed yet (000001 installs it)
        return
    database = conn.info.dbname
    message = outdated_message(database, row[0], row[1])
    if message:
        raise MigrationError(message)
