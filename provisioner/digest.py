"""Content digests of files and folders. Stdlib only: the no-op fast path uses it too."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path

_ALWAYS_IGNORED = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def ignore_patterns(folder: Path) -> list[str]:
    path = folder / ".dockerignore"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def folder_digest(folder: Path, extra: str = "") -> str | None:
    """Names, modes and content of every file below `folder` (honouring .dockerignore)."""
    if not folder.is_dir():
        return None
    patterns = ignore_patterns(folder)
    digest = hashlib.sha256(extra.encode())
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _ALWAYS_IGNORED)
        for name in sorted(files):
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if name.endswith(".pyc") or any(fnmatch.fnmatch(relative, p) for p in patterns):
                continue
            digest.update(relative.encode() + b"\0")
            digest.update(oct(path.stat().st_mode & 0o777).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def file_digest(path: Path) -> str | None:
    """sha256 of a regular file's content, else None."""
    try:
        if path.is_file() and path.stat().st_size <= 4 * 1024 * 1024:
            return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None
    return None


def path_digest(path: Path) -> str | None:
    return folder_digest(path) if path.is_dir() else file_digest(path)


class DiskContents:
    """The ContentReader the core is given in real runs: this machine's files."""

    def resolve(self, path: Path) -> Path:
        return path.resolve()

    def file_digest(self, path: Path) -> str | None:
        return file_digest(path)

    def folder_digest(self, folder: Path, salt: str) -> str | None:
        return folder_digest(folder, salt)
