"""Fixtures for the fault tests only: foreign containers and engine restarts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_LABEL = "org.provisioner-faults.test"
DOCKERD_LOG = "/var/log/dockerd.log"
DOCKERD_PID = Path("/var/run/docker.pid")


# ---- foreign containers (not ours): labelled with TEST_LABEL so they are cleaned up --------


@pytest.fixture
def foreign(docker_client, project_name: str) -> Iterator:
    """run(name, image, *command, ports=..., labels=...) -> container id; all removed after."""
    created: list[str] = []

    def run(name: str, image: str, *command: str, ports: dict | None = None, labels=None) -> str:
        container = docker_client.containers.run(
            image,
            list(command) or None,
            name=name,
            detach=True,
            ports=ports or {},
            labels={TEST_LABEL: project_name, **(labels or {})},
        )
        created.append(container.id)
        return container.id

    yield run
    for container in docker_client.containers.list(
        all=True, filters={"label": f"{TEST_LABEL}={project_name}"}
    ):
        container.remove(force=True, v=True)


# ---- the Docker engine ---------------------------------------------------------------------


def engine_up(timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
            return True
        time.sleep(0.25)
    return False


def _alive(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not any(line.startswith("State:") and "Z" in line for line in status.splitlines())


def _dockerd_pid() -> int | None:
    try:
        pid = int(DOCKERD_PID.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_engine() -> None:
    """Start dockerd the way .ci/setup does, unless it runs; wait until it answers."""
    if engine_up(timeout=1):
        return
    if DOCKERD_PID.exists() and _dockerd_pid() is None:
        DOCKERD_PID.unlink(missing_ok=True)
    subprocess.Popen(
        f"nohup dockerd >{DOCKERD_LOG} 2>&1 &",
        shell=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    ).wait()
    assert engine_up(timeout=90), "dockerd did not come back; see " + DOCKERD_LOG


def stop_engine(timeout: float = 60) -> None:
    pid = _dockerd_pid()
    assert pid is not None, "no running dockerd found via " + str(DOCKERD_PID)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    raise AssertionError(f"dockerd {pid} did not exit within {timeout}s")


@pytest.fixture
def engine(docker_client) -> Iterator:
    """Restart helpers; the engine always runs again afterwards, and containers of others
    that ran before a restart (and whose restart policy did not bring them back) run again."""
    before = {c["Id"] for c in docker_client.api.containers(filters={"status": "running"})}

    class Engine:
        @staticmethod
        def stop() -> None:
            stop_engine()

        @staticmethod
        def start() -> None:
            start_engine()

        @staticmethod
        def restart() -> None:
            stop_engine()
            start_engine()

    try:
        yield Engine
    finally:
        start_engine()
        for cid in before:
            with contextlib.suppress(Exception):
                info = docker_client.api.inspect_container(cid)
                labels = info["Config"]["Labels"] or {}
                if not info["State"]["Running"] and TEST_LABEL not in labels:
                    docker_client.api.start(cid)
