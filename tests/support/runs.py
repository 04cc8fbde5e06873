"""CLI runs in the background read line by line, and what Docker holds for a project."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from docker.errors import NotFound

from tests.support.docker_stacks import LABEL_PROJECT, Stack


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
        try:
            found = client.api.inspect_container(row["Id"])
        except NotFound:
            # Gone between the listing and the inspect: after a SIGKILL the engine can
            # still be finishing the dead client's request (CI saw a container listed
            # right after a killed create, then gone). What is gone is not state.
            continue
        containers.setdefault(service, []).append(found)
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
    status = json.loads(stack.run("status", "--json", check=True).stdout)
    health = {row["service"]: row["health"] for row in status["services"]}
    assert set(health.values()) <= {"healthy", "running"}, health
    return state
