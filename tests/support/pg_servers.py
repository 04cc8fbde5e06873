"""Throwaway PostgreSQL servers of either stand-in (TimescaleDB or plain PostgreSQL)."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from tests.support.images import standin_image
from tests.support.postgres import scalar

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


def is_timescale(dsn: str) -> bool:
    return bool(scalar(dsn, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))
