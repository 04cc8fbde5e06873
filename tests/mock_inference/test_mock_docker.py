"""The Dockerfile builds on the stand-in Python image and the container serves."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest
from mock_support import CHAT_BODY, REPO, free_port

pytestmark = pytest.mark.docker


def test_dockerfile_builds_and_serves(docker_client) -> None:
    from tests.support.images import standin_image

    base = standin_image("python")
    tag = f"mock-inference-test:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(
        path=str(REPO / "mock_inference"),
        buildargs={"BASE_IMAGE": base},
        tag=tag,
        rm=True,
        pull=False,  # there is no registry: the stand-in is local
    )
    port = free_port()
    container = docker_client.containers.run(
        tag,
        detach=True,
        ports={"8000/tcp": ("127.0.0.1", port)},
        environment={"MODEL_NAME": "docker-mock"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, container.logs().decode()
            time.sleep(0.1)
        resp = httpx.post(url + "/v1/chat/completions", json={**CHAT_BODY, "model": None})
        assert resp.status_code == 200
        assert resp.json()["model"] == "docker-mock"
        assert resp.json()["choices"][0]["message"]["content"]
        container.reload()
        assert container.attrs["Config"]["User"] == "10001"
        # MOCK_WORKERS=auto: one worker per CPU the container may use (no limit here).
        expected = min(8, len(os.sched_getaffinity(0)))
        assert f"mock_inference: {expected} workers" in container.logs().decode()
        started = time.monotonic()
        container.stop(timeout=10)
        # Well before Docker's SIGKILL at 10 s, the supervisor's repeated SIGTERM included.
        assert time.monotonic() - started < 8
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
        # A CPU quota (docker --cpus 1: cgroup cpu.max or cfs quota) means one worker,
        # and MOCK_WORKERS overrides the computation.
        for options, workers in (({"nano_cpus": 1_000_000_000}, 1),
                                 ({"environment": {"MOCK_WORKERS": "3"}}, 3)):  # fmt: skip
            limited = docker_client.containers.run(tag, detach=True, **options)
            try:
                deadline = time.monotonic() + 30
                while "workers on" not in limited.logs().decode():
                    assert time.monotonic() < deadline, limited.logs().decode()
                    time.sleep(0.1)
                assert f"mock_inference: {workers} workers" in limited.logs().decode()
            finally:
                limited.remove(force=True)
    finally:
        container.remove(force=True)
        docker_client.images.remove(tag, force=True)
