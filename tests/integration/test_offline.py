"""Offline for real: a bundle written on a connected engine, loaded into a second engine
that has never seen an image, every registry down, `apply` to healthy.

The second engine is a private dockerd (tests/support/registries.py) so the shared one
is not disturbed. The stack's images carry the name of a registry that is not running.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support.docker_stacks import cleanup_project, free_port
from tests.support.images import POSTGRES, REDIS
from tests.support.registries import Registry, SecondEngine, remove_image

pytestmark = pytest.mark.docker

DOCKERFILE = "FROM {base}\nCOPY marker /marker\nRUN test -f /marker\n"
# A change to the build context that needs the network, as the mock's pip install does.
DOCKERFILE_ONLINE = (
    "FROM {base}\nCOPY marker /marker\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends hello\n"
)


def offline_stack(registry: str, redis_port: int, pg_port: int, built_port: int, foo: str) -> str:
    return f"""
project: PROJECT
services:
  redis:
    image: {registry}/redis:7-alpine
    environment: {{FOO: {foo}}}
    ports: ["{redis_port}:6379"]
    healthcheck: {{type: redis}}
  postgres:
    image: {registry}/timescale/timescaledb:latest-pg15
    environment: {{POSTGRES_USER: app, POSTGRES_PASSWORD: pw, POSTGRES_DB: app}}
    ports: ["{pg_port}:5432"]
    volumes: [pg:/var/lib/postgresql/data]
    healthcheck: {{type: postgres, user: app, password: pw, database: app}}
  built:
    build: {{context: ./built}}
    image: PROJECT-built:local
    command: redis-server
    ports: ["{built_port}:6379"]
    healthcheck: {{type: redis}}
volumes:
  pg:
"""


@pytest.fixture
def second_engine() -> Iterator[SecondEngine]:
    # A short root: containerd's socket path must fit in 108 bytes.
    engine = SecondEngine(Path(tempfile.mkdtemp(prefix="prov-engine-", dir="/tmp")))
    try:
        yield engine.start()
    finally:
        engine.stop()


def test_bundle_into_a_fresh_engine_then_apply_offline(
    make_stack, docker_client, second_engine, tmp_path
):
    # A registry that existed once and is down now: the names the stack uses.
    registry = Registry(tmp_path / "registry").start()
    registry.stop()
    names = {
        REDIS: f"{registry.host}/redis:7-alpine",
        POSTGRES: f"{registry.host}/timescale/timescaledb:latest-pg15",
    }
    ports = [free_port() for _ in range(3)]
    stack = make_stack(offline_stack(registry.host, *ports, foo="one"))
    (stack.directory / "built").mkdir()
    (stack.directory / "built" / "marker").write_text("v1\n")
    dockerfile = stack.directory / "built" / "Dockerfile"
    dockerfile.write_text(DOCKERFILE.format(base=names[REDIS]))
    bundle = tmp_path / "stack-images.tar"
    try:
        # On the connected machine: images present (pulled once; here: tagged), mock built.
        for source, name in names.items():
            docker_client.api.tag(source, *name.rsplit(":", 1))
        stack.run("apply", check=True)
        saved = stack.run("images", "save", str(bundle), check=True)
        assert "Saved 3 image(s)" in saved.stdout, saved.stdout
        stack.run("destroy", check=True)
    finally:
        cleanup_project(docker_client, stack.project)
        for name in names.values():
            remove_image(docker_client, name)
        remove_image(docker_client, f"{stack.project}-built:local")

    # The new machine: its own engine, no image at all, the registry down.
    stack.env["DOCKER_HOST"] = second_engine.host
    engine = second_engine.client()
    assert engine.images.list() == []
    listed = stack.run("images", check=True)
    assert listed.stdout.count("MISSING") == 3, listed.stdout

    refused = stack.run("apply")
    assert refused.returncode == 1
    assert "cannot be reached" in refused.stderr, refused.stderr
    assert "images load" in refused.stderr
    for name in names.values():  # every missing image is named, not only the first
        assert f"cannot pull image '{name}'" in refused.stderr, refused.stderr
    assert "building image" in refused.stderr and "needs the network" in refused.stderr
    assert engine.containers.list(all=True) == []

    # A damaged copy loads nothing.
    damaged = tmp_path / "damaged.tar"
    data = bytearray(bundle.read_bytes()[: bundle.stat().st_size // 2])
    damaged.write_bytes(bytes(data))
    broken = stack.run("images", "load", str(damaged))
    assert broken.returncode == 1 and "damaged or incomplete" in broken.stderr, broken.stderr
    assert "Nothing was loaded" in broken.stderr
    assert engine.images.list() == []

    loaded = stack.run("images", "load", str(bundle), check=True)
    assert "Loaded 3 image(s)" in loaded.stdout, loaded.stdout
    for name in [*names.values(), f"{stack.project}-built:local"]:
        assert name in loaded.stdout

    # Offline apply from local images only: no pull, no rebuild of the built image.
    applied = stack.run("apply", check=True)
    assert "pulling" not in applied.stderr and "building" not in applied.stderr, applied.stderr
    assert redis.Redis(port=ports[0]).ping() and redis.Redis(port=ports[2]).ping()
    with psycopg.connect(f"postgresql://app:pw@127.0.0.1:{ports[1]}/app") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    # A recreate after a config change needs no registry either.
    stack.write(offline_stack(registry.host, *ports, foo="two").replace("PROJECT", stack.project))
    recreated = stack.run("apply", check=True)
    assert "recreating" in recreated.stderr and "pulling" not in recreated.stderr
    assert redis.Redis(port=ports[0]).ping()

    # A build-context change that needs the network: a clear error pointing at the bundle.
    dockerfile.write_text(DOCKERFILE_ONLINE.format(base=names[REDIS]))
    rebuild = stack.run("apply")
    assert rebuild.returncode == 1
    assert "building image" in rebuild.stderr and "needs the network" in rebuild.stderr
    assert "images load FILE" in rebuild.stderr
    assert redis.Redis(port=ports[2]).ping()  # the running one was left alone
    stack.run("destroy", check=True)
