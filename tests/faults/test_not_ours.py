"""Only what carries this project's labels is ever changed: a colliding container with no
labels, or of another project, is left alone and reported; two projects do not see each
other."""

from __future__ import annotations

import json

import pytest

from tests.support.docker_stacks import free_port
from tests.support.images import REDIS
from tests.support.runs import assert_converged, project_state

pytestmark = pytest.mark.docker


def stack_text(port: int, volume: bool = True) -> str:
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    ports: ["{port}:6379"]
    {"volumes: [redis_data:/data]" if volume else ""}
    healthcheck: {{type: redis}}
  cache:
    image: {REDIS}
    healthcheck: {{type: redis}}
{"volumes: {redis_data: }" if volume else ""}
"""


@pytest.mark.parametrize("owner", ["unlabelled", "other-project"])
def test_colliding_container_is_left_alone(
    make_stack, docker_client, foreign, project_name: str, owner: str
) -> None:
    name = f"{project_name}-redis"
    labels = (
        {}
        if owner == "unlabelled"
        else {"org.provisioner.project": "someone-else", "org.provisioner.service": "redis"}
    )
    foreign_id = foreign(name, REDIS, labels=labels)
    before = docker_client.api.inspect_container(foreign_id)
    stack = make_stack(stack_text(free_port()))

    planned = stack.run("diff")
    assert planned.returncode == 2
    expected_owner = "no provisioner labels" if owner == "unlabelled" else "project 'someone-else'"
    assert f"! {name}: exists, belongs to {expected_owner}" in planned.stdout, planned.stdout
    as_json = json.loads(stack.run("diff", "--json").stdout)
    assert as_json["conflicts"] == [{"name": name, "owner": expected_owner}]

    result = stack.run("apply")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Nothing was changed" in result.stderr, result.stderr
    assert f"'{name}' already exists and belongs to {expected_owner}" in result.stderr
    assert "left alone" in result.stderr
    state = project_state(docker_client, stack.project)
    assert state.containers == {} and state.networks == [] and state.volumes == [], state

    after = docker_client.api.inspect_container(foreign_id)
    assert after["State"]["Running"] and after["Name"] == before["Name"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert after["Config"]["Labels"] == before["Config"]["Labels"]
    # Destroy does not touch it either.
    stack.run("destroy", check=True)
    assert docker_client.api.inspect_container(foreign_id)["State"]["Running"]


def test_two_projects_do_not_see_each_other(make_stack, docker_client, project_name) -> None:
    port_one, port_two = free_port(), free_port()
    one = make_stack(stack_text(port_one), project=f"{project_name}a")
    two = make_stack(stack_text(port_two), project=f"{project_name}b")
    # make_stack writes both into one directory: give each project its own stack file.
    two.directory = one.directory / "two"
    two.directory.mkdir()
    two.write(stack_text(port_two).replace("PROJECT", two.project))
    one.write(stack_text(port_one).replace("PROJECT", one.project))

    one.run("apply", check=True)
    two.run("apply", check=True)
    ids_two = {
        s: c[0]["Id"] for s, c in project_state(docker_client, two.project).containers.items()
    }
    assert one.run("diff").returncode == 0
    assert two.run("diff").returncode == 0

    # Removing a service in one project removes only that project's container.
    renamed = stack_text(port_one).replace("PROJECT", one.project).replace("  cache:", "  cache2:")
    one.write(renamed)
    one.run("apply", check=True)
    anonymous = {
        m["Name"]
        for found in project_state(docker_client, one.project).containers.values()
        for m in found[0]["Mounts"]
        if m["Type"] == "volume" and not m["Name"].startswith(one.project)
    }
    assert anonymous  # the redis image's VOLUME /data, for the service without a volume
    one.run("destroy", "--volumes", "--yes", check=True)
    left = {v.name for v in docker_client.volumes.list()} & anonymous
    assert not left, f"destroy left anonymous volumes behind: {left}"
    assert project_state(docker_client, one.project).containers == {}
    state_two = assert_converged(docker_client, two.project, {"redis", "cache"}, two)
    assert {s: c[0]["Id"] for s, c in state_two.containers.items()} == ids_two
    assert state_two.volumes == [f"{two.project}_redis_data"]


def test_volume_we_did_not_create_is_used_with_a_warning_and_kept(
    make_stack, docker_client, project_name: str
) -> None:
    """Like compose: an existing volume with our name is used, with a warning; its data
    is the point, so `destroy --volumes` (which removes only what we made) keeps it."""
    name = f"{project_name}_redis_data"
    volume = docker_client.volumes.create(name)  # no labels: made by hand
    try:
        stack = make_stack(stack_text(free_port()))
        planned = stack.run("diff")
        assert f"! volume {name}: exists but was not created by this project" in planned.stdout
        result = stack.run("apply")
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"warning: volume {name} exists but was not created" in result.stdout + result.stderr
        mounts = {
            m["Name"]
            for m in docker_client.api.inspect_container(f"{stack.project}-redis")["Mounts"]
            if m["Type"] == "volume"
        }
        assert name in mounts
        stack.run("destroy", "--volumes", "--yes", check=True)
        assert docker_client.volumes.get(name).name == name
    finally:
        volume.remove(force=True)
