"""Fixtures for the fault tests: the integration fixtures, plus background runs,
engine restarts and a view of everything Docker holds for a project."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - re-exported fixtures
    LABEL_PROJECT,
    POSTGRES,
    PYTHON,
    RABBITMQ,
    REDIS,
    Stack,
    cleanup_project,
    container_of,
    free_port,
    make_stack,
    project_name,
)

TEST_LABEL = "org.provisioner-faults.test"
DOCKERD_LOG = "/var/log/dockerd.log"
DOCKERD_PID = Path("/var/run/docker.pid")


@dataclass
class Background:
    """A provisioner run in the background whose output is read line by line."""

    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, sink in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            thread = threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def out(self) -> str:
        return "".join(self.stdout)

    @property
    def err(self) -> str:
        return "".join(self.stderr)

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        """Block until a stderr/stdout line matches; the line."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self.process.poll() is not None
            for line in self.stderr + self.stdout:
                if regex.search(line):
                    return line
            if ended and all(not t.is_alive() for t in self._threads):
                raise AssertionError(
                    f"run ended ({self.process.returncode}) before /{pattern}/:\n"
                    f"{self.out}\n{self.err}"
                )
            time.sleep(0.01)
        raise AssertionError(f"no /{pattern}/ within {timeout}s:\n{self.out}\n{self.err}")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 120) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(
                f"run did not end in {timeout}s:\n{self.out}\n{self.err}"
            ) from None
        for thread in self._threads:
            thread.join(10)
        assert "Traceback" not in self.err, self.err
        return code


def background(stack: Stack, *args: str, env: dict[str, str] | None = None) -> Background:
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "-f", str(stack.file), *args],
        cwd=stack.directory,
        env={**os.environ, **stack.env, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    return Background(process)


@dataclass
class ProjectState:
    containers: dict[str, list[dict]]  # service -> inspect data
    networks: list[str]
    volumes: list[str]

    @property
    def empty_of_containers_and_networks(self) -> bool:
        return not self.containers and not self.networks


def project_state(client, project: str) -> ProjectState:
    label = f"{LABEL_PROJECT}={project}"
    containers: dict[str, list[dict]] = {}
    for row in client.api.containers(all=True, filters={"label": label}):
        service = row["Labels"].get("org.provisioner.service", "?")
        containers.setdefault(service, []).append(client.api.inspect_container(row["Id"]))
    networks = sorted(n["Name"] for n in client.api.networks(filters={"label": label}))
    volumes = sorted(
        v["Name"] for v in client.api.volumes(filters={"label": label}).get("Volumes") or []
    )
    return ProjectState(containers, networks, volumes)


def assert_converged(client, project: str, services: set[str], stack: Stack) -> ProjectState:
    """Exactly one running container per service, one network, and nothing left to do."""
    state = project_state(client, project)
    assert set(state.containers) == services, state.containers.keys()
    for service, found in state.containers.items():
        assert len(found) == 1, f"{len(found)} containers for {service}"
        assert found[0]["State"]["Running"], (service, found[0]["State"])
        assert found[0]["Name"] == f"/{project}-{service}"
    assert state.networks == [f"{project}_default"], state.networks
    diff = stack.run("diff")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    import json

    status = json.loads(stack.run("status", "--json", check=True).stdout)
    health = {row["service"]: row["health"] for row in status["services"]}
    assert set(health.values()) <= {"healthy", "running"}, health
    return state


# ---- foreign containers (not ours): labelled with TEST_LABEL so they are cleaned up --------


@pytest.fixture
def foreign(docker_client, project_name: str) -> Iterator:  # noqa: F811 - the fixture
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
