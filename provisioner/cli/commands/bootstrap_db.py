"""`bootstrap-db`: wait for the database, migrate, seed, exit.

The default command of the provisioner image (Dockerfile), run as the compose
one-shot and the Kubernetes Job. It needs no stack file when DATABASE_URL is set:
seed variables come from SEED_VAR_<name> variables, so a Secret can supply the secret
ones. Without DATABASE_URL it takes the URL, folders and seed variables from the stack.
Safe to run again and concurrently: migrations and seeds take advisory locks and
skip what is already applied.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from provisioner.errors import MigrationError, SpecError
from provisioner.export.common import SEED_ENV_PREFIX
from provisioner.masking import mask_text


def seed_variables_from_env(environ: dict[str, str]) -> dict[str, str]:
    return {
        key.removeprefix(SEED_ENV_PREFIX): value
        for key, value in sorted(environ.items())
        if key.startswith(SEED_ENV_PREFIX)
    }


def wait_for_database(dsn: str, timeout_s: float) -> None:
    """Until a real query answers over the URL's address, or MigrationError at the deadline."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute("SELECT 1").fetchone()
            return
        except psycopg.Error as exc:
            if time.monotonic() + delay > deadline:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise MigrationError(
                    f"The database did not answer within {timeout_s:g}s: {mask_text(reason)}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _stack_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The database URL, folders and seed variables of the stack file."""
    from provisioner.cli.commands.common import load, stack_path

    loaded = load(args)
    migrations, seeds = loaded.stack.migrations, loaded.stack.seeds
    if migrations is None:
        raise SpecError(
            f"{loaded.files[0]}: no 'migrations' section is declared and DATABASE_URL is not set."
        )
    return {
        "database_url": migrations.database_url,
        "migrations": stack_path(loaded, migrations.path),
        "seeds": stack_path(loaded, seeds.path) if seeds else None,
        "variables": dict(seeds.variables) if seeds else {},
    }


def run(args: argparse.Namespace) -> int:
    dsn = args.database_url or os.environ.get("DATABASE_URL")
    migrations_dir: Path | None = args.migrations
    seeds_dir: Path | None = args.seeds
    variables = seed_variables_from_env(dict(os.environ))
    if not dsn:
        settings = _stack_settings(args)
        dsn = settings["database_url"]
        migrations_dir = migrations_dir or settings["migrations"]
        seeds_dir = seeds_dir or settings["seeds"]
        variables = {**settings["variables"], **variables}
    if migrations_dir is None:
        raise MigrationError("bootstrap-db needs --migrations DIR when DATABASE_URL is set.")

    from provisioner.database.migrations import migrate_up
    from provisioner.database.seeds import run_seeds

    started = time.monotonic()
    wait_for_database(dsn, args.wait)
    print(f"database answered after {time.monotonic() - started:.1f}s", flush=True)
    report = migrate_up(dsn, migrations_dir)
    for migration in report.applied:
        print(f"applied {migration.version:06d}_{migration.name}", flush=True)
    print(f"{len(report.applied)} migration(s) applied, {report.skipped} already there.")
    if seeds_dir is not None:
        seeded = run_seeds(dsn, seeds_dir, variables)
        print(f"seeds applied: {', '.join(seeded.applied) or 'none (up to date)'}")
        if seeded.dev_api_key:
            # Shown once, as `apply` does: only its hash is stored.
            print(f"DEV_API_KEY={seeded.dev_api_key}")
    sys.stdout.flush()
    return 0
