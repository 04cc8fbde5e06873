"""Pulls from a real registry (Debian's docker-registry): pull policies, digests, a tag
that moved, a login, and a registry that is down or stops half-way through a pull.

The shared registry (127.0.0.1:5001, started by .ci/setup) holds the stand-ins; each
test pushes its own image (the redis stand-in plus one random layer, so a pull really
downloads) under its own repository name. Tests that stop a registry start their own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.docker_stacks import cleanup_project, container_of, free_port
from tests.support.images import REDIS
from tests.support.registries import (
    SHARED_REGISTRY,
    Registry,
    docker_config,
    push,
    remove_image,
    unique_image,
)

pytestmark = pytest.mark.docker


def redis_stack(image: str, port: int, policy: str | None = None, env: str = "one") -> str:
    policy_line = f"    pull_policy: {policy}\n" if policy else ""
    return f"""
project: PROJECT
services:
  cache:
    image: {image}
{policy_line}    command: redis-server
    environment: {{FOO: {env}}}
    ports: ["{port}:6379"]
    healthcheck: {{type: redis, timeout: 60s}}
"""


@pytest.fixture
def images(docker_client, project_name) -> Iterator[list[str]]:
    """Image references and ids to remove from the engine after the test."""
    made: list[str] = []
    yield made
    # The project's containers go first: an image in use would only lose its name.
    cleanup_project(docker_client, project_name)
    for ref in reversed(made):
        remove_image(docker_client, ref)


def image_id(client, ref: str) -> str:
    return client.api.inspect_image(ref)["Id"]


def running_image(client, project: str) -> str:
    (container,) = container_of(client, project, "cache")
    return container.attrs["Image"]


def nothing_created(client, project: str) -> bool:
    label = f"org.provisioner.project={project}"
    return not (
        client.containers.list(all=True, filters={"label": label})
        or client.networks.list(filters={"label": label})
        or client.volumes.list(filters={"label": label})
    )


def pushed_unique(client, images: list[str], registry: str, auth: dict | None = None) -> tuple:
    """A fresh image pushed to `registry`, then removed locally: (ref, image id, digest)."""
    source = unique_image(client, REDIS)
    images.append(source)
    ref = f"{registry}/ptest-{uuid.uuid4().hex[:8]}/redis:7-alpine"
    images.append(ref)
    digest = push(client, source, ref, auth)
    pushed_id = image_id(client, source)
    images.append(pushed_id)
    remove_image(client, ref)
    remove_image(client, source)
    return ref, pushed_id, digest


def test_pull_policies_and_a_tag_that_moved(make_stack, docker_client, images):
    ref, first_id, _ = pushed_unique(docker_client, images, SHARED_REGISTRY)
    port = free_port()
    stack = make_stack(redis_stack(ref, port))

    # missing, and the image is not here: pulled, with layers and bytes shown.
    first = stack.run("apply", check=True)
    assert "pulling image" in first.stderr and "layers" in first.stderr, first.stderr
    assert " MB" in first.stderr or " kB" in first.stderr, first.stderr
    assert running_image(docker_client, stack.project) == first_id

    # The tag moves to a new image in the registry; locally it still names the first.
    second = unique_image(docker_client, REDIS)
    images.append(second)
    push(docker_client, second, ref)
    second_id = image_id(docker_client, second)
    images.append(second_id)
    repository, tag = ref.rsplit(":", 1)
    docker_client.api.tag(first_id, repository, tag)
    remove_image(docker_client, second)
    assert image_id(docker_client, ref) == first_id

    # missing keeps the local image: no pull, nothing changes.
    kept = stack.run("apply", check=True)
    assert "pulling" not in kept.stderr and "No changes" in kept.stdout, kept.stdout + kept.stderr
    assert running_image(docker_client, stack.project) == first_id

    # always pulls the moved tag and recreates the container on it.
    stack.write(redis_stack(ref, port, "always").replace("PROJECT", stack.project))
    moved = stack.run("apply", check=True)
    assert "pulling image" in moved.stderr, moved.stderr
    assert image_id(docker_client, ref) == second_id
    assert running_image(docker_client, stack.project) == second_id

    # never, with an image that is nowhere: one clear error before anything is made.
    other = make_stack(
        redis_stack(f"{SHARED_REGISTRY}/ptest-absent/redis:7", free_port(), "never"),
        project=stack.project + "n",
    )
    refused = other.run("apply")
    assert refused.returncode == 1
    assert "not present locally and pull_policy is 'never'" in refused.stderr, refused.stderr
    assert nothing_created(docker_client, other.project)


def test_image_pinned_by_digest(make_stack, docker_client, images):
    ref, pushed_id, digest = pushed_unique(docker_client, images, SHARED_REGISTRY)
    assert digest.startswith("sha256:")
    pinned = ref.rsplit(":", 1)[0] + "@" + digest
    images.append(pinned)
    stack = make_stack(redis_stack(pinned, free_port()))
    stack.run("apply", check=True)
    assert running_image(docker_client, stack.project) == pushed_id
    again = stack.run("apply", check=True)
    assert "No changes" in again.stdout and "pulling" not in again.stderr


def test_registry_that_needs_a_login(make_stack, docker_client, images, tmp_path):
    registry = Registry(tmp_path / "registry", user="dev", password="s3cret-pw").start()
    try:
        ref, pushed_id, _ = pushed_unique(
            docker_client, images, registry.host, registry.auth_config()
        )
        # No credentials: one clear error about logging in, nothing created.
        stack = make_stack(redis_stack(ref, free_port()), DOCKER_CONFIG=str(tmp_path / "empty"))
        refused = stack.run("apply")
        assert refused.returncode == 1
        assert f"cannot pull image '{ref}'" in refused.stderr, refused.stderr
        assert "docker login" in refused.stderr, refused.stderr
        assert nothing_created(docker_client, stack.project)

        # The login that `docker login` would have written to the Docker config file.
        stack.env["DOCKER_CONFIG"] = str(docker_config(tmp_path / "config", registry))
        stack.run("apply", check=True)
        assert running_image(docker_client, stack.project) == pushed_id
    finally:
        registry.stop()


def test_registry_down(make_stack, docker_client, images, tmp_path):
    registry = Registry(tmp_path / "registry").start()
    ref, pushed_id, _ = pushed_unique(docker_client, images, registry.host)
    registry.stop()

    # The image is not here and cannot be pulled: one error naming it, nothing created.
    stack = make_stack(redis_stack(ref, free_port()))
    failed = stack.run("apply")
    assert failed.returncode == 1
    assert f"cannot pull image '{ref}'" in failed.stderr, failed.stderr
    assert "cannot be reached" in failed.stderr and "images load" in failed.stderr
    assert failed.stderr.count("error:") == 1
    assert nothing_created(docker_client, stack.project)

    # The image is here (as after an earlier pull): `missing` uses it, no registry needed.
    repository, tag = ref.rsplit(":", 1)
    docker_client.api.tag(REDIS, repository, tag)
    stack.run("apply", check=True)
    assert running_image(docker_client, stack.project) == image_id(docker_client, REDIS)


class SlowProxy:
    """A TCP proxy to the registry that sends at most `rate` bytes/s, and can be killed."""

    def __init__(self, target: int, rate: int) -> None:
        self.target, self.rate = target, rate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.sent = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()  # the registry is gone: the engine sees the connection drop
                continue
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.rate), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, rate: int) -> None:
        try:
            while data := source.recv(16384):
                sink.sendall(data)
                if rate:
                    self.sent += len(data)
                    time.sleep(len(data) / rate)
        except OSError:
            return

    def kill(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test_registry_stops_half_way_through_a_pull(make_stack, docker_client, images, tmp_path):
    registry = Registry(tmp_path / "registry").start()
    try:
        source = unique_image(docker_client, REDIS, size=40_000_000)
        images.append(source)
        proxy = SlowProxy(registry.port, rate=4_000_000)
        # Pushed through the registry's own port; pulled through the slow proxy.
        repo = f"ptest-{uuid.uuid4().hex[:8]}/redis"
        push(docker_client, source, f"{registry.host}/{repo}:7")
        remove_image(docker_client, f"{registry.host}/{repo}:7")
        remove_image(docker_client, source)
        ref = f"127.0.0.1:{proxy.port}/{repo}:7"
        images.append(ref)
        stack = make_stack(redis_stack(ref, free_port()))
        process = stack.popen("apply")
        deadline = time.monotonic() + 60
        while proxy.sent < 8_000_000:  # a few MB into the 40 MB layer
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        proxy.kill()
        registry.stop()
        # The engine retries the layer a few times (about a minute), then gives up.
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        assert f"cannot pull image '{ref}'" in stderr, stderr
        assert "pulling image" in stderr  # progress was shown before it broke
        assert nothing_created(docker_client, stack.project)
        with pytest.raises(Exception, match="No such image"):
            docker_client.api.inspect_image(ref)
    finally:
        registry.stop()


def test_shared_registry_holds_the_real_names(docker_client):
    """.ci/setup pushed the stand-ins under the names stack.yaml uses."""
    for name in (
        "timescale/timescaledb:latest-pg15",
        "redis:7-alpine",
        "rabbitmq:3.12-management-alpine",
        "python:3.11-slim",
    ):
        data = docker_client.api.inspect_distribution(f"{SHARED_REGISTRY}/{name}")
        assert data["Descriptor"]["digest"].startswith("sha256:"), name
