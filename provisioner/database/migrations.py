"""Schema migrations: golang-migrate-named files, applied once each, safely, in order.

Files are `NNNNNN_name.up.sql` / `NNNNNN_name.down.sql` (the `migrate` tool reads the
same folder). Applied versions are recorded in `public.provisioner_schema_migrations`
with the checksum of the up file, when and how long.

- Each file runs in its own transaction, recorded in the same one: a failure leaves
  nothing of that file behind. The whole file goes to PostgreSQL in one simple-query
  `execute`, so PostgreSQL's parser, not ours, decides where statements end.
- A file with the line `-- provisioner:no-transaction` runs outside a transaction, one
  statement at a time in autocommit, and is recorded after its last statement. That is
  what CREATE INDEX CONCURRENTLY and TimescaleDB continuous aggregates need. The price:
  if such a file fails halfway (or the process dies before it is recorded), the
  statements before the failure stay committed and the next run starts the file again
  from the top, so write those files to be re-runnable (IF NOT EXISTS; one statement
  per file is best; note a failed CONCURRENTLY build leaves an INVALID index that
  IF NOT EXISTS would then skip: drop it first).
- Concurrent runs are serialised by a session-level advisory lock held on a dedicated
  connection. Not a transaction-level one: CREATE INDEX CONCURRENTLY waits for every
  open transaction, including the one holding such a lock (Flyway #3497).
- An applied file whose content changed is refused, naming it, unless its version is
  passed in `accept_changed` (the new checksum is recorded; the file does not re-run).
- A no-op run is one connection and one query.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from provisioner.database.pgsession import session_params
from provisioner.database.sqlfile import (
    Statement,
    checksum,
    error_line,
    has_no_transaction_marker,
    line_text,
    read_sql,
    split_statements,
)
from provisioner.database.timescale_version import check_timescaledb_version
from provisioner.errors import MigrationError
from provisioner.masking import mask_text

TRACKING_TABLE = "public.provisioner_schema_migrations"
LOCK_NAMESPACE = 0x70726F76  # 'prov': first key of pg_advisory_lock(int, int)
MIGRATIONS_LOCK = 1
SEEDS_LOCK = 2
CONNECT_TIMEOUT_S = 10
REPLAY_TIMEOUT = "30s"

_FILE_RE = re.compile(r"^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)\.(up|down)\.sql$")
_MAX_VERSION = 2**63 - 1
_TX_CONTROL = {"BEGIN", "START", "COMMIT", "END", "ABORT"}
_ROLLBACK_TO = re.compile(r"^rollback\s+(?:(?:work|transaction)\s+)?to\b", re.IGNORECASE)

_CREATE_TRACKING = f"""
CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL,
    transactional boolean NOT NULL DEFAULT true
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up_path: Path
    down_path: Path | None
    checksum: str  # of the up file, normalised (see sqlfile.normalize)
    transactional: bool  # False when the up file carries the no-transaction marker

    @property
    def label(self) -> str:
        return f"{self.version:06d}_{self.name}"


@dataclass
class MigrationStatus:
    version: int
    name: str
    state: str  # "applied" | "pending" | "changed" | "missing" (applied, file gone)
    applied_at: datetime | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class AcceptedChange:
    """An applied migration whose edited file was accepted: new checksum recorded, not run."""

    migration: Migration
    old_checksum: str


@dataclass
class MigrateReport:
    applied: list[Migration]
    elapsed_s: float
    skipped: int = 0  # already applied
    accepted: list[AcceptedChange] = field(default_factory=list)
    accept_unneeded: list[int] = field(default_factory=list)  # --accept-changed, unchanged

    def accepted_lines(self) -> list[str]:
        """What --accept-changed did, one line each, for the CLI to print."""
        lines = [
            f"accepted {a.migration.label}: checksum {a.old_checksum[:12]} -> "
            f"{a.migration.checksum[:12]} recorded (the edit did not run)"
            for a in self.accepted
        ]
        lines += [
            f"--accept-changed {v}: nothing to accept (not applied, or unchanged)"
            for v in self.accept_unneeded
        ]
        return lines


@dataclass(frozen=True)
class _Applied:
    version: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


# ---- discovery (pure) ------------------------------------------------------------------------


def discover(directory: Path) -> list[Migration]:
    """The migrations in `directory`, by version. Other files than *.sql are ignored."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MigrationError(f"The migrations folder {display(directory)} does not exist.")
    found: dict[str, dict[int, tuple[str, Path]]] = {"up": {}, "down": {}}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix != ".sql" or not path.is_file():
            continue
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(
                f"Migration file {display(path)} is not named like "
                "'000001_create_orgs.up.sql' / '000001_create_orgs.down.sql' "
                "(version digits, '_', a name of letters, digits, '_', '-' or '.', "
                "then '.up.sql' or '.down.sql'). Rename it."
            )
        version, name, direction = int(match[1]), match[2], match[3]
        if version > _MAX_VERSION:
            raise MigrationError(f"Migration file {display(path)}: version {version} too large.")
        bucket = found[direction]
        if version in bucket:
            raise MigrationError(
                f"Two {direction} migrations have version {version}: "
                f"{display(bucket[version][1])} and {display(path)}. Give one the next version."
            )
        bucket[version] = (name, path)
    migrations: list[Migration] = []
    for version, (name, down_file) in sorted(found["down"].items()):
        if version not in found["up"]:
            raise MigrationError(
                f"Migration {display(down_file)} has no up file "
                f"({version:06d}_{name}.up.sql is missing)."
            )
    for version, (name, up) in sorted(found["up"].items()):
        down = found["down"].get(version)
        if down is not None and down[0] != name:
            raise MigrationError(
                f"The up and down files of version {version} have different names: "
                f"{display(up)} and {display(down[1])}."
            )
        text = read_sql(up)
        migrations.append(
            Migration(
                version=version,
                name=name,
                up_path=up,
                down_path=down[1] if down else None,
                checksum=checksum(text),
                transactional=not has_no_transaction_marker(text),
            )
        )
    return migrations


def new_migration(directory: Path, name: str) -> tuple[Path, Path]:
    """Create the next pair of files: `NNNNNN_slug.up.sql` and `.down.sql`."""
    slug = slugify(name)
    if not slug:
        raise MigrationError(f"Migration name {name!r} has no letters or digits to use.")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    existing = discover(directory)
    version = existing[-1].version + 1 if existing else 1
    up = directory / f"{version:06d}_{slug}.up.sql"
    down = directory / f"{version:06d}_{slug}.down.sql"
    header = (
        "-- Runs in one transaction with its bookkeeping. For CREATE INDEX CONCURRENTLY or a\n"
        "-- continuous aggregate, put `-- provisioner:no-transaction` on a line of its own.\n"
    )
    with up.open("x", encoding="utf-8") as handle:
        handle.write(f"-- {version:06d} {slug}: up\n{header}\n")
    with down.open("x", encoding="utf-8") as handle:
        handle.write(f"-- {version:06d} {slug}: down (undo everything the up file does)\n\n")
    return up, down


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:60].rstrip("_")


# ---- public operations ------------------------------------------------------------------------


def migrate_up(
    dsn: str,
    directory: Path,
    *,
    to: int | None = None,
    accept_changed: Iterable[int] = (),
    lock_timeout_s: float = 60,
) -> MigrateReport:
    """Apply pending migrations (up to version `to`), each once, in version order."""
    started = time.perf_counter()
    migrations = discover(directory)
    if to is not None and to not in {m.version for m in migrations}:
        known = ", ".join(str(m.version) for m in migrations) or "none"
        raise MigrationError(f"There is no migration version {to} (versions: {known}).")
    accept = set(accept_changed)
    with connect(dsn, "migrate") as conn:
        applied = read_applied(conn)
        pending, to_accept = _plan_up(migrations, applied, to, accept)
        if not pending and not to_accept:  # the no-op path: no lock, no writes
            return MigrateReport(
                [], time.perf_counter() - started, len(applied), accept_unneeded=sorted(accept)
            )
        try:
            check_timescaledb_version(conn)
        except psycopg.Error as exc:
            raise _db_error("checking the TimescaleDB extension version", exc) from None
        with advisory_lock(dsn, MIGRATIONS_LOCK, lock_timeout_s, "migrations"):
            run(conn, _CREATE_TRACKING)
            applied = read_applied(conn)  # another run may have applied some meanwhile
            pending, to_accept = _plan_up(migrations, applied, to, accept)
            accepted = [AcceptedChange(m, applied[m.version].checksum) for m in to_accept]
            for migration in to_accept:
                run(
                    conn,
                    f"UPDATE {TRACKING_TABLE} SET checksum = %s WHERE version = %s",
                    (migration.checksum, migration.version),
                )
            done: list[Migration] = []
            for migration in pending:
                try:
                    _apply_up(conn, migration)
                except MigrationError as exc:
                    if done:
                        kept = ", ".join(m.label for m in done)
                        raise MigrationError(
                            f"{exc} Applied before it in this run: {kept}."
                        ) from None
                    raise
                done.append(migration)
    return MigrateReport(
        done,
        time.perf_counter() - started,
        skipped=sum(1 for m in migrations if m.version in applied),
        accepted=accepted,
        accept_unneeded=sorted(accept - {m.version for m in to_accept}),
    )


def migrate_down(
    dsn: str, directory: Path, *, steps: int = 1, lock_timeout_s: float = 60
) -> list[Migration]:
    """Revert the last `steps` applied migrations with their .down.sql files, newest first."""
    if steps < 1:
        raise MigrationError(f"migrate down needs at least one step (got {steps}).")
    by_version = {m.version: m for m in discover(directory)}
    reverted: list[Migration] = []
    with (
        connect(dsn, "migrate") as conn,
        advisory_lock(dsn, MIGRATIONS_LOCK, lock_timeout_s, "migrations"),
    ):
        applied = read_applied(conn)
        targets = sorted(applied, reverse=True)[:steps]
        for version in targets:  # check every file first: stop before changing anything
            migration = by_version.get(version)
            if migration is None or migration.down_path is None:
                missing = "its files are" if migration is None else "its .down.sql file is"
                raise MigrationError(
                    f"Cannot revert migration {version:06d}_{applied[version].name}: "
                    f"{missing} missing from {display(Path(directory))}."
                )
        for version in targets:
            migration = by_version[version]
            try:
                _apply_down(conn, migration)
            except MigrationError as exc:
                if reverted:
                    undone = ", ".join(m.label for m in reverted)
                    raise MigrationError(f"{exc} Reverted before it: {undone}.") from None
                raise
            reverted.append(migration)
    return reverted


def migration_status(dsn: str, directory: Path) -> list[MigrationStatus]:
    """Every migration known to the files or the database, by version. Read-only."""
    migrations = discover(directory)
    with connect(dsn, "status") as conn:
        applied = read_applied(conn)
    statuses: list[MigrationStatus] = []
    for m in migrations:
        row = applied.get(m.version)
        if row is None:
            statuses.append(MigrationStatus(m.version, m.name, "pending"))
        else:
            state = "applied" if row.checksum == m.checksum else "changed"
            statuses.append(
                MigrationStatus(m.version, m.name, state, row.applied_at, row.duration_ms)
            )
    known = {m.version for m in migrations}
    for version, row in applied.items():
        if version not in known:
            statuses.append(
                MigrationStatus(version, row.name, "missing", row.applied_at, row.duration_ms)
            )
    return sorted(statuses, key=lambda s: s.version)


# ---- planning ---------------------------------------------------------------------------------


def _plan_up(
    migrations: list[Migration], applied: dict[int, _Applied], to: int | None, accept: set[int]
) -> tuple[list[Migration], list[Migration]]:
    """(pending migrations to run, changed ones to accept); refuses unaccepted changes.

    Versions below the highest applied one still run when pending (a branch merged
    after a later one): every version is tracked, not only the latest as in golang-migrate.
    """
    changed = [
        m for m in migrations if m.version in applied and applied[m.version].checksum != m.checksum
    ]
    refused = [m for m in changed if m.version not in accept]
    if refused:
        names = ", ".join(display(m.up_path) for m in refused)
        versions = " ".join(str(m.version) for m in refused)
        raise MigrationError(
            f"Applied migration(s) changed since they ran: {names}. The database has the "
            "old version; editing an applied migration does not re-run it. Put the change "
            f"in a new migration (`migrate new NAME`), or accept the edit with "
            f"`migrate up --accept-changed {versions}` (records the new checksum, runs nothing)."
        )
    pending = [
        m for m in migrations if m.version not in applied and (to is None or m.version <= to)
    ]
    return pending, [m for m in changed if m.version in accept]


# ---- running files ----------------------------------------------------------------------------


def _apply_up(conn: psycopg.Connection, migration: Migration) -> None:
    text = read_sql(migration.up_path)
    if checksum(text) != migration.checksum:
        raise MigrationError(
            f"Migration {display(migration.up_path)} changed while migrating; run again."
        )
    record = (
        f"INSERT INTO {TRACKING_TABLE} (version, name, checksum, duration_ms, transactional) "
        "VALUES (%s, %s, %s, %s, %s)"
    )

    def params(duration_ms: int) -> tuple[object, ...]:
        return (
            migration.version,
            migration.name,
            migration.checksum,
            duration_ms,
            migration.transactional,
        )

    run_file(conn, migration.up_path, text, migration.transactional, record, params)


def _apply_down(conn: psycopg.Connection, migration: Migration) -> None:
    assert migration.down_path is not None
    text = read_sql(migration.down_path)
    record = f"DELETE FROM {TRACKING_TABLE} WHERE version = %s"
    run_file(
        conn,
        migration.down_path,
        text,
        not has_no_transaction_marker(text),
        record,
        lambda _ms: (migration.version,),
    )


def run_file(
    conn: psycopg.Connection,
    path: Path,
    text: str,
    transactional: bool,
    record: str,
    record_params: Callable[[int], tuple[Any, ...]],  # `record`'s parameters, given ms taken
) -> None:
    """Run one SQL file and its bookkeeping statement; MigrationError on any failure."""
    statements = split_statements(text)
    run(conn, "RESET ALL")  # settings a previous file SET must not leak into this one
    started = time.perf_counter()
    if transactional:
        _refuse_transaction_control(path, text, statements)
        try:
            with conn.transaction():
                if statements:  # an empty query string is an error in psycopg
                    conn.execute(text)  # whole file, simple query protocol
                ms = round((time.perf_counter() - started) * 1000)
                conn.execute(record, record_params(ms))
        except psycopg.Error as exc:
            note = "Nothing of this file was applied: its transaction was rolled back."
            raise transactional_error(conn, path, text, exc, note) from None
        return
    for index, statement in enumerate(statements):
        try:
            conn.execute(statement.text)  # autocommit: each statement on its own
        except psycopg.Error as exc:
            done = (
                f"The {index} statement(s) before it stay committed (the file opted out of the "
                "transaction with '-- provisioner:no-transaction'); the next run starts the "
                "file again from the top."
                if index
                else "Nothing of it was applied."
            )
            raise sql_error(path, text, exc, statement, done) from None
    ms = round((time.perf_counter() - started) * 1000)
    run(conn, record, record_params(ms))


def _refuse_transaction_control(path: Path, text: str, statements: list[Statement]) -> None:
    """BEGIN/COMMIT inside a file would commit half of it outside our transaction."""
    for statement in statements:
        word = statement.first_word
        if word in _TX_CONTROL or (word == "ROLLBACK" and not _ROLLBACK_TO.match(statement.text)):
            line = text.count("\n", 0, statement.start) + 1
            raise MigrationError(
                f"{display(path)}, line {line}: {word} is not allowed in a migration: each file "
                "already runs in its own transaction with its bookkeeping. Remove it, or put "
                "'-- provisioner:no-transaction' on a line of its own to run the file "
                "statement by statement outside a transaction."
            )


def transactional_error(
    conn: psycopg.Connection,
    path: Path,
    text: str,
    exc: psycopg.Error,
    note: str,
    prepare: Callable[[psycopg.Connection], None] | None = None,
    kind: str = "Migration",
) -> MigrationError:
    """The error of a file that ran whole in one (rolled back) transaction.

    `prepare` repeats what ran before the file in that transaction (seed variables).
    """
    if isinstance(exc, psycopg.OperationalError):  # the connection, not the SQL: no line
        return sql_error(path, text, exc, None, note, line_known=False, kind=kind)
    if exc.diag.statement_position:
        return sql_error(path, text, exc, None, note, kind=kind)
    # No position (e.g. 'already exists', a constraint, RAISE): find the statement by
    # running the file again statement by statement in a transaction that is rolled back.
    located = _replay(conn, text, exc.sqlstate, prepare)
    if located is None:
        return sql_error(path, text, exc, None, note, line_known=False, kind=kind)
    statement, replayed = located
    return sql_error(path, text, replayed, statement, note, kind=kind)


def _replay(
    conn: psycopg.Connection,
    text: str,
    sqlstate: str | None,
    prepare: Callable[[psycopg.Connection], None] | None,
) -> tuple[Statement, psycopg.Error] | None:
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"SET LOCAL statement_timeout = '{REPLAY_TIMEOUT}'")
            if prepare is not None:
                prepare(conn)
            for statement in split_statements(text):
                try:
                    conn.execute(statement.text)
                except psycopg.Error as exc:
                    return (statement, exc) if exc.sqlstate == sqlstate else None
    except psycopg.Error:
        pass
    return None


def sql_error(
    path: Path,
    text: str,
    exc: psycopg.Error,
    statement: Statement | None,
    note: str,
    *,
    line_known: bool = True,
    kind: str = "Migration",
) -> MigrationError:
    """One paragraph: file, line, PostgreSQL's message, detail and hint, what was kept."""
    diag = exc.diag
    message = diag.message_primary or (str(exc).splitlines() or [type(exc).__name__])[0]
    message = mask_text(message)
    where = f"{kind} {display(path)} failed"
    if line_known:
        offset = statement.start if statement else 0
        body = statement.text if statement else text
        line = error_line(
            text,
            offset,
            int(diag.statement_position) if diag.statement_position else None,
            diag.context,
            body,
        )
        source = line_text(text, line).strip()
        where += f" at line {line}"
        if source:
            where += f" ({source[:120]!r})"
    parts = [f"{where}: {message}"]
    if diag.sqlstate:
        parts[0] += f" [SQLSTATE {diag.sqlstate}]."
    elif not parts[0].endswith("."):
        parts[0] += "."
    if diag.message_detail:
        parts.append(f"Detail: {mask_text(diag.message_detail)}")
    if diag.message_hint:
        parts.append(f"Hint: {diag.message_hint}")
    parts.append(note)
    return MigrationError(" ".join(parts))


# ---- database access --------------------------------------------------------------------------


def connect(dsn: str, purpose: str) -> psycopg.Connection:
    """An autocommit connection, or MigrationError with the DSN's password masked."""
    try:
        session = session_params(dsn)  # UTF8, UTC, ISO dates whatever the database's defaults
        return psycopg.connect(
            dsn,
            client_encoding=session["client_encoding"],
            options=session["options"],
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=f"provisioner-{purpose}",
        )
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise MigrationError(
            f"Cannot connect to the database {mask_text(dsn)}: {mask_text(reason)}"
        ) from None


def read_applied(conn: psycopg.Connection) -> dict[int, _Applied]:
    """The tracking table's rows; empty when it does not exist yet (never creates it)."""
    try:
        rows = conn.execute(
            f"SELECT version, name, checksum, applied_at, duration_ms FROM {TRACKING_TABLE}"
        ).fetchall()
    except psycopg.errors.UndefinedTable:
        return {}
    except psycopg.Error as exc:
        raise _db_error("reading the migration history", exc) from None
    return {row[0]: _Applied(*row) for row in rows}


def run(
    conn: psycopg.Connection,
    query: str,
    params: tuple | None = None,
    doing: str = "updating the migration history",
) -> None:
    """A bookkeeping statement; MigrationError on failure."""
    try:
        conn.execute(query, params)
    except psycopg.Error as exc:
        raise _db_error(doing, exc) from None


def _db_error(doing: str, exc: psycopg.Error) -> MigrationError:
    reason = mask_text(" ".join(str(exc).split()) or type(exc).__name__)
    return MigrationError(f"Database error while {doing}: {reason}")


@contextmanager
def advisory_lock(dsn: str, key: int, timeout_s: float, what: str) -> Iterator[None]:
    """Hold a session-level advisory lock on a dedicated connection, waiting up to timeout_s.

    Polling pg_try_advisory_lock (rather than a blocking pg_advisory_lock) gives a
    timeout with a useful message instead of hanging behind a stuck run.
    """
    conn = connect(dsn, f"{what}-lock")
    try:
        try:
            _acquire(conn, key, timeout_s, what)
        except psycopg.Error as exc:
            raise _db_error(f"taking the {what} lock", exc) from None
        yield
    finally:
        conn.close()  # ending the session releases the lock, whatever happened


def _acquire(conn: psycopg.Connection, key: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, key)).fetchone()
        if got and got[0]:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MigrationError(
                f"Another run has held the {what} lock of this database for over "
                f"{timeout_s:g}s{_holder(conn, key)}. Wait for it to finish, or end it if "
                "it is stuck (SELECT pg_terminate_backend(pid))."
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.5)


def _holder(conn: psycopg.Connection, key: int) -> str:
    row = conn.execute(
        "SELECT l.pid, a.application_name FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.granted",
        (LOCK_NAMESPACE, key),
    ).fetchone()
    return f" (backend pid {row[0]}, {row[1] or 'unknown client'})" if row else ""


def display(path: Path) -> str:
    """A path relative to the working directory when it is below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
