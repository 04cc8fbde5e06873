"""Write .env.local: the connection URLs of the stack, readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

from provisioner.stackfile.interpolate import parse_env_file
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
    existing = parse_env_file(path) if path.is_file() else {}
    values = env_values(stack, existing)
    if dev_api_key:
        values["DEV_API_KEY"] = dev_api_key
    text = HEADER + "".join(f"{k}={v}\n" for k, v in values.items())
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        os.chmod(path, 0o600)
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
    return True
