"""Fixtures for the migration and seed tests: real servers, a database per test.

Every test runs twice: on the TimescaleDB stand-in (timescale/timescaledb:latest-pg15,
what users run) and on the plain PostgreSQL one (Debian PostgreSQL 15, the official
image's entrypoint). Each server is started once per session, published on 127.0.0.1
only with a random host port, and removed with its volume.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.conftest import standin_image

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "migrations"
SEEDS = REPO / "seeds"
LABELS = {"org.provisioner.test": "migrations"}
USER = "mig_test"
PASSWORD = "mig_test_pw"
READY_TIMEOUT_S = 90
# TimescaleDB (what users run) and plain PostgreSQL (what the SQL must also work on).
SERVER_KINDS = ["timescaledb", "postgres"]


def _host_port(container) -> str:
    """The random host port Docker chose for 5432 (it appears once the container runs)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get("5432/tcp")
        if bindings:
            return bindings[0]["HostPort"]
        if container.status == "exited":
            break
        time.sleep(0.1)
    raise RuntimeError(f"no host port for 5432: {container.logs(tail=20).decode()}")


def _wait_ready(container, dsn: str) -> None:
    """A real query over TCP: the entrypoint's first, socket-only server must not count."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    delay = 0.05
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1").fetchone()
                return
        except psycopg.OperationalError as exc:
            last = exc
        container.reload()
        if container.status == "exited":
            break
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    logs = container.logs(tail=30).decode(errors="replace")
    raise RuntimeError(f"PostgreSQL did not answer over TCP: {last}\n{logs}")


@contextmanager
def running_server(docker_client, kind: str, environment: dict[str, str] | None = None):
    """DSN of the maintenance database of a throwaway server of the `kind` stand-in."""
    from docker.errors import ImageNotFound

    image = standin_image(kind)
    try:
        docker_client.images.get(image)
    except ImageNotFound:
        message = f"stand-in image {image} is not built (run .ci/images/build.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {"POSTGRES_USER": USER, "POSTGRES_PASSWORD": PASSWORD, "POSTGRES_DB": USER}
    container = docker_client.containers.run(
        image,
        detach=True,
        name=f"provisioner-test-migrations-{uuid.uuid4().hex[:8]}",
        environment=env | (environment or {}),
        ports={"5432/tcp": ("127.0.0.1", None)},
        labels=LABELS,
    )
    try:
        dsn = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{_host_port(container)}/postgres"
        _wait_ready(container, dsn)
        yield dsn
    finally:
        container.remove(force=True, v=True)


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server_kind(request) -> str:
    """Which stand-in the suite runs on: every test runs on both (the SQL is written
    for either); a test can narrow it with parametrize("server_kind", [...], indirect)."""
    return request.param


@pytest.fixture(scope="session")
def pg_server(docker_client, server_kind: str) -> Iterator[str]:
    """DSN of the maintenance database of a throwaway server of that kind."""
    with running_server(docker_client, server_kind) as dsn:
        yield dsn


def is_timescale(dsn: str) -> bool:
    return bool(scalar(dsn, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))


@pytest.fixture
def database(pg_server: str) -> Iterator[str]:
    """DSN of a fresh, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(dsn: str, sql: str, params: tuple = ()):
    rows = query(dsn, sql, params)
    return rows[0][0] if rows else None
