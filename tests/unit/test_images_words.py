"""Image references for the pull API, pull errors that say what to do, the closing note."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.cli.closing import closing_note
from provisioner.core.desired import resolve
from provisioner.engine.images import _pull_message, split_reference
from provisioner.stackfile.loader import load_stack
from tests.support.fake_contents import FakeContents


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("redis:7-alpine", ("redis", "7-alpine")),
        ("redis", ("redis", "latest")),
        ("127.0.0.1:5001/redis", ("127.0.0.1:5001/redis", "latest")),
        (
            "127.0.0.1:5001/timescale/timescaledb:latest-pg15",
            ("127.0.0.1:5001/timescale/timescaledb", "latest-pg15"),
        ),
        ("host:5000/a/b@sha256:" + "ab" * 32, ("host:5000/a/b", "sha256:" + "ab" * 32)),
    ],
)
def test_split_reference(image, expected):
    assert split_reference(image) == expected


class _Service:
    name = "cache"
    image = "127.0.0.1:5001/redis:7"


@pytest.mark.parametrize(
    ("detail", "says"),
    [
        (
            'Get "http://127.0.0.1:5001/v2/": dial tcp 127.0.0.1:5001: connect: connection refused',
            "cannot be reached",
        ),
        (
            'Head "http://127.0.0.1:5001/v2/x/manifests/7": no basic auth credentials',
            "docker login",
        ),
        ("manifest for 127.0.0.1:5001/redis:7 not found: manifest unknown", "Check the image name"),
    ],
)
def test_pull_messages_say_what_to_do(detail, says):
    message = _pull_message(_Service(), detail)  # type: ignore[arg-type]
    assert message.startswith("Service 'cache': cannot pull image '127.0.0.1:5001/redis:7': ")
    assert says in message


def test_closing_note(tmp_path: Path):
    (tmp_path / "stack.yaml").write_text(
        """
project: demo
services:
  rabbitmq:
    image: rabbitmq
    environment: {RABBITMQ_DEFAULT_USER: dev, RABBITMQ_DEFAULT_PASS: hunter2}
    urls: {RABBITMQ_MANAGEMENT_URL: "http://localhost:15672"}
"""
    )
    desired = resolve(load_stack([tmp_path / "stack.yaml"], environ={}), FakeContents())
    note = closing_note(desired, tmp_path / ".env.local", False, ["-f", "my stack.yaml"])
    assert "RabbitMQ management UI: http://localhost:15672  login dev / " in note
    assert "hunter2" not in note
    assert f"{tmp_path / '.env.local'}" in note
    assert "provisioner -f 'my stack.yaml' logs -f [SERVICE]" in note
    shown = closing_note(desired, tmp_path / ".env.local", True, [])
    assert "login dev / hunter2" in shown
