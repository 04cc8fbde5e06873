"""The cluster tests' clients image installs the client SDKs as pyproject.toml allows them."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_clients_image_requirements_are_pyprojects():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    allowed = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    lines = (REPO / ".ci" / "images" / "clients" / "requirements.txt").read_text().splitlines()
    wanted = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert wanted, "no requirements"
    assert [w for w in wanted if w not in allowed] == []
