"""Resolved container config and its hash."""

from __future__ import annotations

from pathlib import Path

from provisioner.core.desired import (
    config_changes,
    config_hash,
    container_config,
    resolve,
)
from provisioner.stackfile.loader import load_stack
from tests.unit.conftest import STACK, FakeContents


def test_resolve_orders_by_dependency_and_names_resources(make_desired):
    desired = make_desired()
    assert list(desired.services) == ["cache", "db", "web"]
    db = desired.services["db"]
    assert db.container_name == "demo-db"
    assert desired.volumes == {"data": "demo_data"}
    assert desired.networks == {"default": "demo_default"}
    assert db.config["volumes"] == ["volume:demo_data:/var/lib/postgresql/data:rw"]
    assert db.config["ports"] == ["127.0.0.1:5432:5432/tcp"]
    assert db.config["networks"] == ["demo_default"]
    web = desired.services["web"]
    assert web.image == "demo-web:local"
    assert web.build_context == (desired.loaded.project_dir / "web").resolve()
    assert web.depends_on["db"].condition == "healthy"


def test_hash_is_stable_and_insensitive_to_dict_order(make_desired):
    first = make_desired().services["db"]
    second = make_desired().services["db"]
    assert first.config_hash == second.config_hash
    reordered = dict(reversed(list(first.config.items())))
    reordered["environment"] = dict(reversed(list(first.config["environment"].items())))
    assert config_hash(reordered) == first.config_hash
    assert len(first.config_hash) == 64


def test_environment_order_in_file_does_not_change_hash(make_desired):
    a = make_desired(STACK)
    b = make_desired(
        STACK.replace(
            "      POSTGRES_PASSWORD: secret\n      POSTGRES_USER: app\n",
            "      POSTGRES_USER: app\n      POSTGRES_PASSWORD: secret\n",
        )
    )
    assert a.services["db"].config_hash == b.services["db"].config_hash


def test_hash_changes_with_environment_but_not_with_healthcheck(make_desired):
    base = make_desired().services["db"].config_hash
    env = make_desired(STACK.replace("POSTGRES_USER: app", "POSTGRES_USER: other"))
    probe = make_desired(STACK.replace("user: app, password", "user: other, password"))
    assert env.services["db"].config_hash != base
    assert probe.services["db"].config_hash == base


def test_bind_mount_content_is_part_of_the_config(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text("project: d\nservices: {a: {image: x, volumes: ['./conf:/conf:ro']}}\n")
    loaded = load_stack([path], environ={})
    one = resolve(loaded, FakeContents(file="aaaa")).services["a"]
    two = resolve(loaded, FakeContents(file="bbbb")).services["a"]
    source = tmp_path / "conf"
    assert one.config["volumes"] == [f"bind:{source}:/conf:ro@aaaa"]
    assert one.config_hash != two.config_hash


def test_container_config_keys(make_desired):
    desired = make_desired()
    stack = desired.loaded.stack
    config = container_config(
        "demo",
        "cache",
        stack.services["cache"],
        Path("/x"),
        desired.networks,
        desired.volumes,
        FakeContents(),
    )
    assert set(config) == {
        "image",
        "command",
        "entrypoint",
        "environment",
        "ports",
        "volumes",
        "networks",
        "hostname",
        "user",
        "restart",
        "labels",
        "stop_grace_period",
    }
    assert config["image"] == "redis:7"


def test_config_changes_per_key():
    old = {"image": "a", "environment": {"FOO": "1", "GONE": "x"}, "ports": ["1"]}
    new = {"image": "b", "environment": {"FOO": "2", "NEW": "y"}, "ports": ["1"]}
    changes = {c.path: (c.old, c.new) for c in config_changes(old, new)}
    assert changes == {
        "environment.FOO": ("1", "2"),
        "environment.GONE": ("x", None),
        "environment.NEW": (None, "y"),
        "image": ("a", "b"),
    }


def test_config_changes_unknown_old_config():
    (change,) = config_changes(None, {"image": "a"})
    assert change.path == "(config)"
