"""A host port already taken, by a process or by another container: found before anything
is created, and the message names the port and its holder."""

from __future__ import annotations

import os
import socket

import pytest

from tests.support.docker_stacks import free_port
from tests.support.images import REDIS
from tests.support.runs import project_state

pytestmark = pytest.mark.docker


def stack_text(redis_port: int, other_port: int) -> str:
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    ports: ["{redis_port}:6379"]
    volumes: [redis_data:/data]
    healthcheck: {{type: redis}}
  other:
    image: {REDIS}
    ports: ["{other_port}:6379"]
    healthcheck: {{type: redis}}
volumes:
  redis_data:
"""


def assert_nothing_created(client, project: str) -> None:
    state = project_state(client, project)
    assert state.containers == {} and state.networks == [] and state.volumes == [], state


def test_port_taken_by_a_process(make_stack, docker_client) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        stack = make_stack(stack_text(taken, free_port()))
        result = stack.run("apply")
        assert result.returncode == 1, result.stdout + result.stderr
        err = result.stderr
        assert "Nothing was changed" in err, err
        assert f"service 'redis' publishes 127.0.0.1:{taken}/tcp" in err, err
        assert f"already in use by process {os.getpid()}" in err, err
        assert "other" not in err, err
        assert_nothing_created(docker_client, stack.project)


def test_port_taken_by_another_container(make_stack, docker_client, foreign) -> None:
    taken = free_port()
    name = f"faults-holder-{taken}"
    foreign(name, REDIS, ports={"6379/tcp": ("127.0.0.1", taken)})
    stack = make_stack(stack_text(free_port(), taken))
    result = stack.run("apply")
    assert result.returncode == 1, result.stdout + result.stderr
    err = result.stderr
    assert f"service 'other' publishes 127.0.0.1:{taken}/tcp" in err, err
    assert f"already in use by container '{name}'" in err, err
    assert_nothing_created(docker_client, stack.project)
    # The holder is not ours: untouched.
    holder = docker_client.containers.get(name)
    assert holder.status == "running"
