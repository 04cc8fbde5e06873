"""Helpers for the pure unit tests: write stack files into a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.fake_contents import FakeContents
from tests.support.stacks import DEMO_STACK


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> Path; the text is dedented so tests can indent YAML inline."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def make_desired(tmp_path: Path):
    """make_desired(text=DEMO_STACK, contents=FakeContents()) -> DesiredState, no file reads."""
    from provisioner.core.desired import resolve
    from provisioner.stackfile.loader import load_stack

    def _make(
        text: str = DEMO_STACK, name: str = "stack.yaml", contents: FakeContents | None = None
    ):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return resolve(load_stack([path], environ={}), contents or FakeContents())

    return _make
