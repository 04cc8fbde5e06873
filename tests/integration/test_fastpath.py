"""The no-op fast path must never answer "no changes" when something changed."""

from __future__ import annotations

import json

import pytest

from .conftest import REDIS, container_of, free_port

pytestmark = pytest.mark.docker

STACK = """
project: PROJECT
services:
  redis:
    image: ${REDIS_IMAGE}
    command: redis-server --appendonly yes
    environment:
      MODE: ${MODE:-one}
    ports: ["PORT:6379"]
    volumes: ["./redis.conf:/etc/extra.conf:ro"]
    healthcheck: {type: redis}
"""


@pytest.fixture
def stack(make_stack, tmp_path):
    (tmp_path / "redis.conf").write_text("# v1\n")
    created = make_stack(
        STACK.replace("PORT", str(free_port())),
        REDIS_IMAGE=REDIS,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    created.run("apply", check=True)
    return created


def cache_files(stack) -> list:
    return list((stack.directory / "cache" / "provisioner").glob("*.json"))


def test_fast_answer_matches_full_answer(stack):
    assert len(cache_files(stack)) == 1
    fast_apply = stack.run("apply", check=True).stdout
    fast_diff = stack.run("diff", check=True).stdout
    fast_json = json.loads(stack.run("diff", "--json", check=True).stdout)
    for path in cache_files(stack):
        path.unlink()
    assert stack.run("apply", check=True).stdout == fast_apply  # full path, records again
    assert "No changes" in fast_apply
    for path in cache_files(stack):
        path.unlink()
    assert stack.run("diff", check=True).stdout == fast_diff
    assert json.loads(stack.run("diff", "--json", check=True).stdout) == fast_json


def test_variable_change_is_seen(stack):
    stack.env["MODE"] = "two"
    plan = stack.run("diff")
    assert plan.returncode == 2 and "environment.MODE" in plan.stdout


def test_bind_mounted_file_change_is_seen(stack):
    (stack.directory / "redis.conf").write_text("# v2\n")
    plan = stack.run("diff")
    assert plan.returncode == 2 and "volumes" in plan.stdout


def test_retagged_image_is_seen(stack, docker_client):
    # Same tag, different image: a newer local image must recreate the container.
    other = docker_client.images.get(REDIS)
    tag = f"{stack.project}-retag:latest"
    other.tag(tag)
    stack.env["REDIS_IMAGE"] = tag
    stack.run("apply", check=True)
    docker_client.containers.run(
        tag,
        command="true",
        name=f"{stack.project}-builder",
        labels={"org.provisioner.project": "x-none"},
    )
    builder = docker_client.containers.get(f"{stack.project}-builder")
    builder.commit(repository=f"{stack.project}-retag", tag="latest")
    builder.remove()
    try:
        plan = stack.run("diff")
        assert plan.returncode == 2 and "newer local image" in plan.stdout, plan.stdout
    finally:
        docker_client.images.remove(tag, force=True)


def test_restarted_container_is_probed_again(stack, docker_client):
    container = container_of(docker_client, stack.project, "redis")[0]
    container.stop(timeout=5)
    assert stack.run("diff").returncode == 2
    container.start()
    # Running again with the same config: nothing to change, but not answered from
    # the record (its start time changed), so apply probes it before saying so.
    result = stack.run("apply", check=True)
    assert "No changes" in result.stdout
    assert stack.run("diff").returncode == 0


FAST = "debug: answered by the fast path"


def test_the_fast_path_answers_a_converged_stack(stack):
    """Without this, every test above would pass with a fast path that always falls through."""
    stack.env["PROVISIONER_DEBUG"] = "1"
    for command in (("apply",), ("diff",), ("diff", "--json")):
        result = stack.run(*command, check=True)
        assert FAST in result.stderr, (command, result.stderr)
    # ... and says why it does not, once something changed
    stack.env["MODE"] = "two"
    result = stack.run("diff")
    assert FAST not in result.stderr
    assert "debug: fast path not taken: a stack file, env file or variable changed" in result.stderr


def test_the_fast_path_loads_none_of_the_heavy_libraries(stack):
    """What import-linter checks statically, checked at run time: the modules a fast
    answer loads (python -X importtime lists every import)."""
    stack.env["PROVISIONER_DEBUG"] = "1"
    result = stack.run_python("-X", "importtime", "-m", "provisioner", "diff")
    assert FAST in result.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    heavy = {"pydantic", "docker", "psycopg", "yaml", "tenacity", "requests", "rich"}
    assert not heavy & loaded, heavy & loaded
