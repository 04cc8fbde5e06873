"""Seed data: SQL files in `seeds/`, re-run when they or their variables change.

The model is Flyway's repeatable scripts: each `*.sql` file runs, in name order, in
its own transaction, on a fresh database and again whenever its checksum or the seed
variables change; `public.provisioner_seeds` remembers what ran. So every seed must be
idempotent itself (INSERT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM, or
WHERE NOT EXISTS): running it twice duplicates nothing, and an edited seed is applied.

Variables reach the SQL without any string formatting: before each file they are set
as transaction-local settings, `set_config('seed.NAME', value, true)`, and the SQL
reads them with `current_setting('seed.NAME')`. Defaults are in DEFAULT_VARIABLES.

The development API key: its plain value is made here (or taken from the variable
`dev_api_key`); only its sha256 and prefix go to the database, as
`seed.dev_api_key_sha256` / `seed.dev_api_key_prefix` (`seed.dev_api_key_given` says
which). A seed that stores it sets `seed.dev_api_key_result` to 'created' or
'updated'; only then is the plain key returned, so it is shown once.

Which inputs a seed last ran with is kept as a salted sha256 of the variables. It
includes admin_password, so it is a cheaper guess-check than the bcrypt hash in
`users`: fine for this local development database, not for a reused real password.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from provisioner.database.migrations import (
    SEEDS_LOCK,
    advisory_lock,
    connect,
    display,
    run,
    transactional_error,
)
from provisioner.database.sqlfile import checksum, read_sql
from provisioner.errors import MigrationError

SEEDS_TABLE = "public.provisioner_seeds"
DEFAULT_VARIABLES: dict[str, str] = {
    "org_name": "Bootstrap Org",
    "org_slug": "bootstrap",
    "admin_email": "admin@ias.local",
    "admin_password": "dev_admin_password",
    "mock_model_base_url": "http://mock-inference:8000/v1",
    "dev_api_key": "",  # empty: generate one when the organisation has none
}
DEV_KEY_PREFIX = "ias_dev_"
DEV_KEY_SHOWN = 12  # characters of the key kept as its display prefix
_DEV_KEY_MIN = 16
# Set by the provisioner for each run; not user variables, not part of the inputs.
_INTERNAL = ("dev_api_key_sha256", "dev_api_key_prefix", "dev_api_key_given", "dev_api_key_result")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {SEEDS_TABLE} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    inputs_salt text NOT NULL,
    inputs_digest text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
)"""
_RECORD = f"""
INSERT INTO {SEEDS_TABLE} (name, checksum, inputs_salt, inputs_digest, duration_ms)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (name) DO UPDATE SET
    checksum = EXCLUDED.checksum, inputs_salt = EXCLUDED.inputs_salt,
    inputs_digest = EXCLUDED.inputs_digest, applied_at = now(),
    duration_ms = EXCLUDED.duration_ms"""
_SET_VARIABLES = (
    "SELECT set_config('seed.' || k, v, true) FROM unnest(%s::text[], %s::text[]) AS t(k, v)"
)


@dataclass
class SeedReport:
    applied: list[str]
    skipped: list[str]
    dev_api_key: str | None = None  # the plain key, only on the run that stored it


@dataclass(frozen=True)
class SeedFile:
    name: str  # file name without .sql
    path: Path
    text: str
    checksum: str


@dataclass(frozen=True)
class _Row:
    checksum: str
    salt: str
    digest: str


@dataclass(frozen=True)
class _DevKey:
    plain: str
    sha256: str
    prefix: str
    given: bool


def discover_seeds(directory: Path) -> list[SeedFile]:
    directory = Path(directory)
    if not directory.is_dir():
        raise MigrationError(f"The seeds folder {display(directory)} does not exist.")
    seeds = []
    for path in sorted(directory.glob("*.sql")):
        if path.name.startswith(".") or not path.is_file():
            continue
        text = read_sql(path)
        seeds.append(SeedFile(path.name.removesuffix(".sql"), path, text, checksum(text)))
    return seeds


def resolve_variables(variables: Mapping[str, str] | None) -> dict[str, str]:
    """DEFAULT_VARIABLES overridden by `variables`; names checked."""
    values = dict(DEFAULT_VARIABLES)
    for name, value in (variables or {}).items():
        if not _NAME.match(name) or name in _INTERNAL:
            reason = "is set by the provisioner" if name in _INTERNAL else "is not a valid name"
            raise MigrationError(
                f"Seed variable {name!r} {reason}: use lower-case letters, digits and '_'."
            )
        values[name] = "" if value is None else str(value)
    key = values["dev_api_key"]
    if key and len(key) < _DEV_KEY_MIN:
        raise MigrationError(
            f"Seed variable dev_api_key is too short ({len(key)} characters; at least "
            f"{_DEV_KEY_MIN}). Leave it empty to have one generated."
        )
    return values


def pending_seeds(
    dsn: str, directory: Path, variables: Mapping[str, str] | None = None
) -> list[str]:
    """Seeds the next run would apply. Read-only. Without `variables`, only file changes
    are seen (a changed variable shows up only when `variables` is passed)."""
    seeds = discover_seeds(directory)
    with connect(dsn, "status") as conn:
        rows = _read_rows(conn)
    values = resolve_variables(variables) if variables is not None else None
    return [s.name for s in seeds if _is_pending(s, rows.get(s.name), values)]


def run_seeds(
    dsn: str,
    directory: Path,
    variables: Mapping[str, str],
    *,
    force: bool = False,
    lock_timeout_s: float = 60,
) -> SeedReport:
    """Apply the seeds that are new or changed (all of them with `force`)."""
    seeds = discover_seeds(directory)
    values = resolve_variables(variables)
    with connect(dsn, "seed") as conn:
        rows = _read_rows(conn)
        if not force and not any(_is_pending(s, rows.get(s.name), values) for s in seeds):
            return SeedReport([], [s.name for s in seeds])  # no-op: no lock, no writes
        with advisory_lock(dsn, SEEDS_LOCK, lock_timeout_s, "seeds"):
            run(conn, _CREATE_TABLE, doing="creating the seeds table")
            rows = _read_rows(conn)  # another run may have seeded meanwhile
            todo = [s for s in seeds if force or _is_pending(s, rows.get(s.name), values)]
            key = _dev_key(values)
            shown: str | None = None
            applied: list[str] = []
            for seed in todo:
                try:
                    result = _apply(conn, seed, values, key)
                except MigrationError as exc:
                    if applied:
                        raise MigrationError(
                            f"{exc} Seeds applied before it in this run: {', '.join(applied)}."
                        ) from None
                    raise
                applied.append(seed.name)
                if result in ("created", "updated"):
                    shown = key.plain
    return SeedReport(applied, [s.name for s in seeds if s.name not in applied], shown)


def _apply(conn: psycopg.Connection, seed: SeedFile, values: dict[str, str], key: _DevKey) -> str:
    """Run one seed in its own transaction with its bookkeeping; the dev key result."""
    settings = {
        **values,
        "dev_api_key_sha256": key.sha256,
        "dev_api_key_prefix": key.prefix,
        "dev_api_key_given": "true" if key.given else "false",
        "dev_api_key_result": "",
    }

    def prepare(c: psycopg.Connection) -> None:
        c.execute(_SET_VARIABLES, (list(settings), list(settings.values())))

    salt = secrets.token_hex(16)
    run(conn, "RESET ALL", doing="preparing a seed")
    started = time.perf_counter()
    try:
        with conn.transaction():
            prepare(conn)
            if seed.text.strip():
                conn.execute(seed.text)  # whole file, simple query protocol
            row = conn.execute("SELECT current_setting('seed.dev_api_key_result', true)")
            result = (row.fetchone() or [""])[0] or ""
            ms = round((time.perf_counter() - started) * 1000)
            conn.execute(_RECORD, (seed.name, seed.checksum, salt, _digest(values, salt), ms))
    except psycopg.Error as exc:
        note = "Nothing of this seed was applied: its transaction was rolled back."
        raise transactional_error(
            conn, seed.path, seed.text, exc, note, prepare, kind="Seed"
        ) from None
    return result


def _dev_key(values: dict[str, str]) -> _DevKey:
    given = values.get("dev_api_key", "")
    plain = given or DEV_KEY_PREFIX + secrets.token_urlsafe(32)
    digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()
    return _DevKey(plain, digest, plain[:DEV_KEY_SHOWN], bool(given))


def _digest(values: Mapping[str, str], salt: str) -> str:
    canonical = json.dumps(sorted(values.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((salt + canonical).encode("utf-8")).hexdigest()


def _is_pending(seed: SeedFile, row: _Row | None, values: dict[str, str] | None) -> bool:
    if row is None or row.checksum != seed.checksum:
        return True
    return values is not None and _digest(values, row.salt) != row.digest


def _read_rows(conn: psycopg.Connection) -> dict[str, _Row]:
    try:
        rows = conn.execute(
            f"SELECT name, checksum, inputs_salt, inputs_digest FROM {SEEDS_TABLE}"
        ).fetchall()
    except psycopg.errors.UndefinedTable:
        return {}
    except psycopg.Error as exc:
        raise MigrationError(f"Database error while reading the seed history: {exc}") from None
    return {name: _Row(cs, salt, digest) for name, cs, salt, digest in rows}
