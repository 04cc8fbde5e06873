"""A ContentReader for the pure tests: no file reads."""

from __future__ import annotations

import os
from pathlib import Path


class FakeContents:
    """A ContentReader with fixed answers: paths as written, digests as given."""

    def __init__(self, file: str | None = None, folder: str | None = "ctx") -> None:
        self.file, self.folder = file, folder

    def resolve(self, path: Path) -> Path:
        return Path(os.path.normpath(path))

    def file_digest(self, path: Path) -> str | None:
        return self.file

    def folder_digest(self, folder: Path, salt: str, dockerfile: str = "Dockerfile") -> str | None:
        return self.folder
