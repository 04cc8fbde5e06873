"""A throwaway PostgreSQL container for the benchmarks, ready when it answers over TCP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def throwaway_server(
    image: str, purpose: str, database: str = "postgres", ready_within: float = 120
) -> Iterator[str]:
    """DSN of `database` on a fresh server of `image`; the container goes afterwards."""
    import docker  # type: ignore[import-untyped]

    client = docker.from_env()
    container = client.containers.run(
        image,
        detach=True,
        name=f"provisioner-bench-{purpose}-{uuid.uuid4().hex[:8]}",
        environment={
            "POSTGRES_USER": "bench",
            "POSTGRES_PASSWORD": "bench",
            "POSTGRES_DB": "bench",
        },
        ports={"5432/tcp": ("127.0.0.1", None)},
        labels={"org.provisioner.bench": purpose},
    )
    try:
        port = None
        while port is None:
            container.reload()
            bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get("5432/tcp")
            if bindings:
                port = bindings[0]["HostPort"]
            else:
                time.sleep(0.1)
        dsn = f"postgresql://bench:bench@127.0.0.1:{port}/{database}"
        deadline = time.monotonic() + ready_within
        while True:  # a real query over TCP (not the entrypoint's socket-only server)
            try:
                with psycopg.connect(dsn, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield dsn
    finally:
        container.remove(force=True, v=True)
        client.close()
