"""Helpers for the pure unit tests: write stack files into a temporary directory."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> Path; the text is dedented so tests can indent YAML inline."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


STACK = """
project: demo
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: secret
      POSTGRES_USER: app
    ports: ["5432:5432"]
    volumes: [data:/var/lib/postgresql/data]
    healthcheck: {type: postgres, user: app, password: secret}
  web:
    build: ./web
    depends_on:
      db: {condition: service_healthy}
    ports: ["8000:8000"]
  cache:
    image: redis:7
volumes:
  data:
"""


class FakeContents:
    """A ContentReader with fixed answers: paths as written, digests as given."""

    def __init__(self, file: str | None = None, folder: str | None = "ctx") -> None:
        self.file, self.folder = file, folder

    def resolve(self, path: Path) -> Path:
        return Path(os.path.normpath(path))

    def file_digest(self, path: Path) -> str | None:
        return self.file

    def folder_digest(self, folder: Path, salt: str) -> str | None:
        return self.folder


@pytest.fixture
def make_desired(tmp_path: Path):
    """make_desired(text=STACK, contents=FakeContents()) -> DesiredState, no file reads."""
    from provisioner.core.desired import resolve
    from provisioner.stackfile.loader import load_stack

    def _make(text: str = STACK, name: str = "stack.yaml", contents: FakeContents | None = None):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return resolve(load_stack([path], environ={}), contents or FakeContents())

    return _make
