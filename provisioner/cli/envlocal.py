"""Write .env.local: the connection URLs of the stack, readable by its owner only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from provisioner.stackfile.envfile import read_env_file
from provisioner.stackfile.spec import Stack

HEADER = "# Written by `provisioner env` / `provisioner apply`; local development only.\n"


def env_values(stack: Stack, existing: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for service in stack.services.values():
        values.update(service.urls)
    if "DEV_API_KEY" in existing:  # only known once, when the seed created it: keep it
        values["DEV_API_KEY"] = existing["DEV_API_KEY"]
    return values


def write_env_file(path: Path, stack: Stack, dev_api_key: str | None = None) -> bool:
    """Write the file if its content changes; True when written."""
    existing = read_env_file(path, expand=False) if path.is_file() else {}
    values = env_values(stack, existing)
    if dev_api_key:
        values["DEV_API_KEY"] = dev_api_key
    text = HEADER + "".join(f"{k}={v}\n" for k, v in values.items())
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        os.chmod(path, 0o600)
        return False
    write_private_file(path, text)
    return True


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only.

    The file may hold the development API key, shown only once: a crash or a full disk
    midway must leave the old file whole, never a truncated one. mkstemp creates the
    temporary file with mode 0600 in the same folder (so the rename cannot cross file
    systems); fsync before the rename, then fsync the folder so the rename is durable.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
