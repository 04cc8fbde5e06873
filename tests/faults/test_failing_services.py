"""Services that exit, crash-loop, or take a while to become healthy."""

from __future__ import annotations

import time

import pytest

from tests.support.docker_stacks import container_of, free_port
from tests.support.images import PYTHON, REDIS
from tests.support.stacks import slow_http_command

pytestmark = pytest.mark.docker


def failing_stack(redis_port: int) -> str:
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    ports: ["{redis_port}:6379"]
    healthcheck: {{type: redis, timeout: 120s}}
  exits:
    image: {PYTHON}
    command: ["sh", "-c", "echo exits-marker: cannot open config; exit 3"]
    healthcheck: {{type: tcp, port: 9999, timeout: 120s}}
  loops:
    image: {PYTHON}
    command: ["sh", "-c", "echo loops-marker: crashing; exit 1"]
    restart: always
    healthcheck: {{type: tcp, port: 9999, timeout: 120s}}
  dependent:
    image: {REDIS}
    depends_on: {{loops: {{condition: healthy}}}}
"""


def test_exit_and_crash_loop_fail_fast(make_stack, docker_client) -> None:
    stack = make_stack(failing_stack(free_port()))
    started = time.monotonic()
    result = stack.run("apply", timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed < 20, f"apply waited {elapsed:.1f}s for services that had already failed"
    err = result.stderr
    assert "Service 'exits' did not become healthy" in err, err
    assert "exited with code 3" in err, err
    assert "exits-marker: cannot open config" in err, err  # the tail of its log
    assert "Service 'loops' did not become healthy" in err, err
    assert "keeps restarting" in err, err
    assert "loops-marker: crashing" in err, err
    assert "Traceback" not in err
    # The healthy service it does not depend on keeps running; the dependent never started.
    (kept,) = container_of(docker_client, stack.project, "redis")
    assert kept.status == "running"
    assert container_of(docker_client, stack.project, "dependent") == []


def test_slow_health_is_waited_for_and_a_failing_one_times_out(make_stack) -> None:
    port = free_port()
    stack = make_stack(
        f"""
project: PROJECT
services:
  slow:
    image: {PYTHON}
    command: {slow_http_command(4.0)}
    ports: ["{port}:8080"]
    healthcheck: {{type: http, port: 8080, path: /, timeout: 30s}}
    stop_grace_period: 1s
  never:
    image: {PYTHON}
    command: ["python3", "-m", "http.server", "8080"]
    healthcheck: {{type: http, port: 8080, path: /never-there, timeout: 3s}}
    stop_grace_period: 1s
"""
    )
    started = time.monotonic()
    result = stack.run("apply", timeout=120)
    elapsed = time.monotonic() - started
    err = result.stderr
    assert result.returncode == 1, result.stdout + err
    # slow became healthy after its delay, within its own timeout.
    assert "slow" in err and "healthy after" in err, err
    healthy_line = next(
        line for line in err.splitlines() if "slow" in line and "healthy after" in line
    )
    waited = float(healthy_line.rsplit("after ", 1)[1].rstrip("s"))
    assert 3.0 <= waited < 30, healthy_line
    # never failed at its own timeout with the last probe error.
    assert "Service 'never' did not become healthy (http probe): not healthy after 3s" in err, err
    assert "last probe error: GET /never-there answered 404, expected 200" in err, err
    assert elapsed < 30, elapsed
