"""Shared fixtures.

Tests that need Docker use the `docker_client` fixture. Outside CI they skip
when no engine answers; under CI (CI=true) they fail instead, so an engine that
did not start can never turn the integration suite into a silent no-op.
"""

from __future__ import annotations

import os
import signal

import pytest

# Fixtures for every folder (make_stack, project_name, migrations_copy, seeds_copy);
# helpers are imported from tests.support, never from another folder's conftest.
pytest_plugins = ["tests.support.docker_stacks", "tests.support.postgres"]


def pytest_configure(config: pytest.Config) -> None:
    # A shell without job control starts background commands with SIGINT ignored, and
    # an ignored signal stays ignored across exec: every Ctrl-C test (here and in the
    # processes the tests start) would then wait for a SIGINT that never comes.
    # Ctrl-C as a user's terminal delivers it is what the tests are about.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def docker_client():
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Docker engine not reachable under CI: {exc}")
        pytest.skip(f"Docker engine not reachable: {exc}")
    yield client
    client.close()
