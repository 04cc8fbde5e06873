"""Fixtures for the migration and seed tests: real servers, a database per test.

Every test runs twice: on the TimescaleDB stand-in (timescale/timescaledb:latest-pg15,
what users run) and on the plain PostgreSQL one (Debian PostgreSQL 15, the official
image's entrypoint). Each server is started once per session, published on 127.0.0.1
only with a random host port, and removed with its volume.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.pg_servers import SERVER_KINDS, running_server


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


@pytest.fixture
def database(pg_server: str) -> Iterator[str]:
    """DSN of a fresh, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
