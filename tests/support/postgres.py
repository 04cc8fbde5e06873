"""The repository's migrations and seeds (a pytest plugin: `migrations_copy`,
`seeds_copy`), and one-line queries for assertions."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "migrations"
SEEDS = REPO / "seeds"


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(dsn: str, sql: str, params: tuple = ()):
    rows = query(dsn, sql, params)
    return rows[0][0] if rows else None


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A copy of the repository's migrations to add or edit files in."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target)
    return target


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target
