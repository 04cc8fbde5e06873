"""Fixtures for tests against a real Docker engine and the stand-in images.

Each test gets its own project name and free host ports, and everything
labelled with that project is removed afterwards (volumes included).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import standin_image

REPO = Path(__file__).resolve().parents[2]
LABEL_PROJECT = "org.provisioner.project"

pytestmark = pytest.mark.docker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """A stack file in a temp dir plus helpers to run the CLI against it."""

    directory: Path
    project: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return self.directory / "stack.yaml"

    def write(self, text: str) -> None:
        self.file.write_text(text)

    def run(
        self, *args: str, check: bool = False, timeout: float = 600, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env}
        result = subprocess.run(
            [sys.executable, "-m", "provisioner", "-f", str(self.file), *args],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
        )
        assert "Traceback" not in result.stderr, result.stderr
        if check and result.returncode != 0:
            raise AssertionError(
                f"provisioner {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "provisioner", "-f", str(self.file), *args],
            cwd=self.directory,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def cleanup_project(client, project: str) -> None:
    label = f"{LABEL_PROJECT}={project}"
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True, v=True)
    for network in client.networks.list(filters={"label": label}):
        network.remove()
    for volume in client.volumes.list(filters={"label": label}):
        volume.remove(force=True)


@pytest.fixture
def project_name() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_stack(tmp_path: Path, docker_client, project_name: str) -> Iterator:
    created: list[Stack] = []

    def factory(text: str, project: str | None = None, **env: str) -> Stack:
        stack = Stack(tmp_path, project or project_name, dict(env))
        stack.write(text.replace("PROJECT", stack.project))
        created.append(stack)
        return stack

    yield factory
    for stack in created:
        cleanup_project(docker_client, stack.project)


def container_of(client, project: str, service: str):
    found = client.containers.list(
        all=True,
        filters={"label": [f"{LABEL_PROJECT}={project}", f"org.provisioner.service={service}"]},
    )
    return found


# What users run: the stand-in for timescale/timescaledb:latest-pg15.
POSTGRES = standin_image("timescaledb")
REDIS = standin_image("redis")
RABBITMQ = standin_image("rabbitmq")
PYTHON = standin_image("python")
