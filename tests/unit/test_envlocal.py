"""`.env.local`: replaced atomically, owner-only from the first byte."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from provisioner.cli.envlocal import write_env_file
from provisioner.stackfile.loader import load_stack

STACK = """\
project: demo
services:
  db:
    image: postgres:15
    urls: {DATABASE_URL: "postgres://app:secret@127.0.0.1:5432/app"}
"""


@pytest.fixture
def stack(write):
    return load_stack([write("stack.yaml", STACK)], environ={}).stack


class _DiskFull:
    """Wraps a text file: writes half of what it is given, then fails as a full disk."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, text):
        self._handle.write(text[: len(text) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, stack, monkeypatch):
    path = tmp_path / ".env.local"
    write_env_file(path, stack, dev_api_key="key-shown-once")
    before = path.read_text(encoding="utf-8")

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _DiskFull(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left"):
        write_env_file(path, stack, dev_api_key="a-new-key")
    monkeypatch.undo()

    assert path.read_text(encoding="utf-8") == before
    assert "DEV_API_KEY=key-shown-once" in before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env.local", "stack.yaml"]


def test_written_owner_only_even_with_a_permissive_umask(tmp_path, stack):
    path = tmp_path / ".env.local"
    path.write_text("OLD=1\n", encoding="utf-8")
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        assert write_env_file(path, stack, dev_api_key="k")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "DEV_API_KEY=k" in path.read_text(encoding="utf-8")
    assert not write_env_file(path, stack)  # unchanged content: not rewritten, key kept
