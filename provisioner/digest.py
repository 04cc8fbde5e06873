"""Content digests of files and folders. Stdlib only: the no-op fast path uses it too."""

from __future__ import annotations

import hashlib
from pathlib import Path

from provisioner.dockerignore import context_files

# Not worth a rebuild: caches that tools write into the source tree (Docker would send them).
_CACHE_DIRS = frozenset({"__pycache__", ".git", ".pytest_cache", ".ruff_cache", ".mypy_cache"})


def folder_digest(folder: Path, extra: str = "", dockerfile: str = "Dockerfile") -> str | None:
    """Names, modes and content of the files Docker would send from `folder` as a build
    context (`.dockerignore` honoured, `dockerfile` always kept), less tool caches."""
    if not folder.is_dir():
        return None
    digest = hashlib.sha256(extra.encode())
    for relative in sorted(context_files(folder, dockerfile, skip=_CACHE_DIRS)):
        if relative.endswith(".pyc"):
            continue
        path = folder / relative
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

    def folder_digest(self, folder: Path, salt: str, dockerfile: str = "Dockerfile") -> str | None:
        return folder_digest(folder, salt, dockerfile)
