"""The pure planner: (desired, observed) -> actions with reasons."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from provisioner.cli.render import plan_json, plan_text
from provisioner.core.observed import Conflict, ObservedContainer, ObservedImage, ObservedState
from provisioner.core.plan import Kind, plan
from tests.unit.conftest import STACK, FakeContents

IMAGE_IDS = {"postgres:15": "sha256:" + "a" * 64, "redis:7": "sha256:" + "b" * 64}
IMAGE_IDS["demo-web:local"] = "sha256:" + "c" * 64


def container(desired, service_name, status="running", **changes) -> ObservedContainer:
    service = desired.services[service_name]
    made = ObservedContainer(
        id=f"id-{service_name}",
        name=service.container_name,
        service=service_name,
        status=status,
        config_hash=service.config_hash,
        config=service.config,
        image_id=IMAGE_IDS[service.image],
    )
    return replace(made, **changes)


def converged(desired, **overrides) -> ObservedState:
    """Everything as desired: containers running, images, network and volumes present."""
    return ObservedState(
        containers=[container(desired, n) for n in desired.services],
        networks={net: f"net-{net}" for net in desired.networks.values()},
        volumes=set(desired.volumes.values()),
        images={ref: ObservedImage(i, context_hash="ctx") for ref, i in IMAGE_IDS.items()},
        **overrides,
    )


def kinds(result) -> dict[str, Kind]:
    return {a.service: a.kind for a in result.actions if a.kind is not Kind.REMOVE}


def test_create_from_nothing(make_desired):
    desired = make_desired()
    result = plan(desired, ObservedState())
    assert kinds(result) == {"cache": Kind.CREATE, "db": Kind.CREATE, "web": Kind.CREATE}
    assert [a.service for a in result.actions] == ["cache", "db", "web"]  # dependency order
    assert result.create_networks == ("demo_default",)
    assert result.create_volumes == ("demo_data",)
    images = {a.service: a.image for a in result.actions}
    assert images["db"].pull and images["cache"].pull and not images["db"].build
    assert images["web"].build and not images["web"].pull
    assert result.has_changes


def test_unchanged_when_hashes_match_and_running(make_desired):
    desired = make_desired()
    result = plan(desired, converged(desired))
    assert set(kinds(result).values()) == {Kind.UNCHANGED}
    assert not result.has_changes
    assert not result.problems and not result.create_networks and not result.create_volumes


def test_recreate_lists_environment_change(make_desired):
    old = make_desired()
    new = make_desired(STACK.replace("POSTGRES_USER: app", "POSTGRES_USER: admin"))
    result = plan(new, converged(old))
    assert kinds(result) == {"cache": Kind.UNCHANGED, "db": Kind.RECREATE, "web": Kind.UNCHANGED}
    action = result.for_service("db")
    assert action.reason == "configuration changed"
    assert [(c.path, c.old, c.new) for c in action.changes] == [
        ("environment.POSTGRES_USER", "app", "admin")
    ]
    assert action.container.id == "id-db"


def test_recreate_lists_image_and_ports(make_desired):
    old = make_desired()
    new = make_desired(
        STACK.replace("image: postgres:15", "image: postgres:16").replace(
            '"5432:5432"', '"15432:5432"'
        )
    )
    observed = converged(old)
    observed.images["postgres:16"] = ObservedImage("sha256:" + "d" * 64)
    action = plan(new, observed).for_service("db")
    assert action.kind is Kind.RECREATE
    assert {c.path for c in action.changes} == {"image", "ports"}


def test_start_when_exited(make_desired):
    desired = make_desired()
    observed = converged(desired)
    observed.containers[0] = container(desired, "cache", status="exited")
    result = plan(desired, observed)
    action = result.for_service("cache")
    assert action.kind is Kind.START and "exited" in action.reason
    assert result.has_changes


def test_remove_undeclared_service(make_desired):
    desired = make_desired()
    observed = converged(desired)
    stray = ObservedContainer("id-old", "demo-old", "old", "running", "h", {}, "sha256:x")
    observed.containers.append(stray)
    result = plan(desired, observed)
    assert [(a.service, a.reason) for a in result.removals] == [
        ("old", "service no longer declared")
    ]
    assert result.actions[0].kind is Kind.REMOVE  # removals first: they free names and ports
    assert result.has_changes


def test_duplicates_removed_keeping_the_best(make_desired):
    desired = make_desired()
    observed = converged(desired)
    observed.containers = [c for c in observed.containers if c.service != "cache"]
    good = container(desired, "cache", id="good")
    stale = container(desired, "cache", id="stale", config_hash="old", name="demo-cache-2")
    stopped = container(desired, "cache", id="stopped", status="exited", name="demo-cache-3")
    observed.containers += [stale, good, stopped]
    result = plan(desired, observed)
    removed = {a.container.id for a in result.removals}
    assert removed == {"stale", "stopped"}
    assert all(a.reason == "duplicate container of this service" for a in result.removals)
    keep = result.for_service("cache")
    assert keep.kind is Kind.UNCHANGED and keep.container.id == "good"


def test_only_limits_the_plan_and_never_removes_others(make_desired):
    desired = make_desired()
    observed = ObservedState()
    observed.containers.append(
        ObservedContainer("id-old", "demo-old", "old", "running", "h", {}, "sha256:x")
    )
    result = plan(desired, observed, only={"cache"})
    assert [(a.service, a.kind) for a in result.actions] == [("cache", Kind.CREATE)]
    assert result.create_networks == ("demo_default",)
    assert result.create_volumes == ()  # only db mounts the volume


def test_only_filters_conflicts(make_desired):
    desired = make_desired()
    conflicts = [Conflict("demo-db", "x1", "no labels"), Conflict("demo-cache", "x2", "project p")]
    observed = ObservedState(conflicts=conflicts)
    assert [c.name for c in plan(desired, observed, only={"db"}).conflicts] == ["demo-db"]
    assert len(plan(desired, observed).conflicts) == 2


def test_build_needed_when_context_hash_changes(make_desired):
    built = make_desired()
    desired = make_desired(contents=FakeContents(folder="new-ctx"))
    result = plan(desired, converged(built))
    action = result.for_service("web")
    assert action.image.build and action.image.reason == "build context changed"
    assert action.kind is Kind.RECREATE
    assert [c.path for c in action.changes] == ["image"]
    assert result.has_changes


def test_pull_when_missing_and_problem_when_never(make_desired):
    desired = make_desired()
    observed = converged(desired)
    del observed.images["redis:7"]
    action = plan(desired, observed).for_service("cache")
    assert action.image.pull and action.image.reason == "image not present locally"

    never = make_desired(STACK.replace("image: redis:7", "image: redis:7\n    pull_policy: never"))
    result = plan(never, observed)
    assert not result.for_service("cache").image.pull
    assert len(result.problems) == 1
    assert "redis:7" in result.problems[0] and "pull_policy is 'never'" in result.problems[0]


def test_pull_policy_always_pulls_even_when_present(make_desired):
    desired = make_desired(
        STACK.replace("image: redis:7", "image: redis:7\n    pull_policy: always")
    )
    result = plan(desired, converged(desired))
    assert result.for_service("cache").image.pull
    assert result.has_changes


def test_newer_local_image_recreates(make_desired):
    desired = make_desired()
    observed = converged(desired)
    observed.images["redis:7"] = ObservedImage("sha256:" + "e" * 64)
    action = plan(desired, observed).for_service("cache")
    assert action.kind is Kind.RECREATE and action.reason == "a newer local image exists"


def test_has_changes_for_a_missing_network_only(make_desired):
    desired = make_desired()
    observed = converged(
        desired,
    )
    observed.networks.clear()
    result = plan(desired, observed)
    assert set(kinds(result).values()) == {Kind.UNCHANGED}
    assert result.has_changes


# ---- rendering -----------------------------------------------------------------------------


def test_plan_text_masks_secrets_and_shows_changes(make_desired):
    old = make_desired()
    new = make_desired(STACK.replace("POSTGRES_PASSWORD: secret", "POSTGRES_PASSWORD: hunter2"))
    result = plan(new, converged(old))
    text = plan_text(result)
    assert "-/+ db  (recreate: configuration changed)" in text
    assert '~ environment.POSTGRES_PASSWORD: "********" -> "********"' in text
    assert "secret" not in text and "hunter2" not in text
    assert text.rstrip().endswith("Plan: 1 to recreate, 2 unchanged.")
    shown = plan_text(result, show_secrets=True)
    assert '"secret" -> "hunter2"' in shown


def test_plan_text_no_changes(make_desired):
    desired = make_desired()
    text = plan_text(plan(desired, converged(desired)))
    assert text == "No changes. Project 'demo' matches the stack file (3 service(s) up to date)."


def test_plan_text_create_lists_images_networks_volumes(make_desired):
    text = plan_text(plan(make_desired(), ObservedState()))
    assert "  + db  (create: not created yet)" in text
    assert "pull image (image not present locally)" in text
    assert "build image (image not built yet)" in text
    assert "  + network demo_default" in text
    assert "  + volume demo_data" in text
    assert "Plan: 3 to create, 0 unchanged." in text


def test_plan_json_shape_and_masking(make_desired):
    old = make_desired()
    new = make_desired(
        STACK.replace("POSTGRES_PASSWORD: secret", "POSTGRES_PASSWORD: hunter2").replace(
            "POSTGRES_USER: app", "POSTGRES_USER: admin\n      DSN: postgres://u:pw@db/x"
        )
    )
    data = json.loads(plan_json(plan(new, converged(old))))
    assert set(data) == {
        "project",
        "changes",
        "actions",
        "create_networks",
        "create_volumes",
        "adopted_volumes",
        "conflicts",
        "problems",
        "pending",
    }
    assert data["project"] == "demo" and data["changes"] is True
    db = next(a for a in data["actions"] if a["service"] == "db")
    assert db["action"] == "recreate" and db["container"] == "demo-db"
    assert set(db["image"]) == {"build", "pull", "reason"}
    changes = {c["path"]: c for c in db["changes"]}
    assert changes["environment.POSTGRES_PASSWORD"]["new"] == "********"
    assert changes["environment.POSTGRES_PASSWORD"]["old"] == "********"
    assert changes["environment.DSN"]["new"] == "postgres://u:********@db/x"
    assert changes["environment.POSTGRES_USER"] == {
        "path": "environment.POSTGRES_USER",
        "old": "app",
        "new": "admin",
    }
    raw = plan_json(plan(new, converged(old)))
    assert "hunter2" not in raw and "pw@" not in raw


def test_plan_json_no_changes(make_desired):
    desired = make_desired()
    data = json.loads(plan_json(plan(desired, converged(desired))))
    assert data["changes"] is False
    assert {a["action"] for a in data["actions"]} == {"unchanged"}


def test_a_volume_we_did_not_create_is_adopted_with_a_warning_not_a_change(make_desired):
    desired = make_desired()
    observed = converged(desired, foreign_volumes={"demo_data"})
    result = plan(desired, observed)
    assert result.adopted_volumes == ("demo_data",)
    assert not result.has_changes
    text = plan_text(result)
    assert "! volume demo_data: exists but was not created by this project" in text
    assert json.loads(plan_json(result))["adopted_volumes"] == ["demo_data"]
    # Only volumes the plan wants are reported.
    assert plan(desired, converged(desired, foreign_volumes={"other"})).adopted_volumes == ()


def test_a_busy_host_port_is_a_problem_diff_shows(make_desired) -> None:
    desired = make_desired()
    observed = ObservedState(busy_ports={("127.0.0.1", 5432, "tcp"): "process 7 (postgres)"})
    result = plan(desired, observed)
    assert any(
        "127.0.0.1:5432/tcp, which is already in use by process 7" in p for p in result.problems
    )
    text = plan_text(result)
    assert "5432/tcp, which is already in use" in text and "apply would refuse" in text
    assert "already in use" in json.loads(plan_json(result))["problems"][0]


def test_a_busy_port_of_an_unchanged_service_is_no_problem(make_desired) -> None:
    desired = make_desired()
    observed = converged(desired)
    observed.busy_ports = {("127.0.0.1", 5432, "tcp"): ""}
    assert plan(desired, observed).problems == ()


def test_mounting_a_folder_that_holds_the_docker_socket_is_a_problem(make_desired) -> None:
    desired = make_desired(
        STACK.replace("image: redis:7", "image: redis:7\n    volumes: ['/srv/engine:/engine']")
    )
    # e.g. DOCKER_HOST=unix:///srv/engine/docker.sock: only observation knows where it is
    observed = ObservedState(docker_sockets=frozenset({Path("/srv/engine/docker.sock")}))
    problems = plan(desired, observed).problems
    assert any(
        "bind-mounts '/srv/engine'" in p and "socket /srv/engine/docker.sock" in p for p in problems
    )
    assert plan(desired, ObservedState()).problems == ()
