"""Which images applying to a cluster must build: the stack's own and the provisioner's.

The provisioner image (the root Dockerfile) runs the migrations and seeds Job and the
init containers that wait for dependencies; it is
built on the same Python base image the stack's Python services use, as the compose
export's one-shot is. Keys are what the export's `image_overrides` takes: service
names, and the Job's name for the provisioner image.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.digest import folder_digest, path_digest
from provisioner.kube.images import build_spec
from provisioner.stackfile.loader import LoadedStack

DEFAULT_PYTHON_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class BuildItem:
    spec: DesiredService
    digest: str | None  # of what the build reads: a changed digest means a rebuild


def built_images(loaded: LoadedStack, desired: DesiredState) -> dict[str, BuildItem]:
    from provisioner.export.common import JOB_NAME, PROVISIONER_IMAGE_SUFFIX

    stack = loaded.stack
    items = {
        name: BuildItem(s, s.context_hash)
        for name, s in desired.services.items()
        if s.build is not None
    }
    # It runs the Job and every init container that waits for a dependency.
    needs_provisioner = stack.migrations is not None or any(
        s.depends_on for s in stack.services.values()
    )
    if needs_provisioner:
        base = python_base_image(loaded)
        spec = build_spec(
            JOB_NAME,
            f"{stack.project}-{PROVISIONER_IMAGE_SUFFIX}",
            loaded.project_dir,
            args={"BASE_IMAGE": base},
        )
        items[JOB_NAME] = BuildItem(spec, provisioner_digest(loaded, base))
    return items


def provisioner_digest(loaded: LoadedStack, base_image: str) -> str:
    """What the root Dockerfile copies: the package, pyproject.toml, migrations, seeds.

    Hashed here rather than through .dockerignore, whose `*` + `!keep` form the
    context digest does not read: new migrations must mean a new image.
    """
    root = loaded.project_dir
    parts: list[Path] = [root / "Dockerfile", root / "pyproject.toml", root / "provisioner"]
    if loaded.stack.migrations is not None:
        parts.append(root / loaded.stack.migrations.path)
    if loaded.stack.seeds is not None:
        parts.append(root / loaded.stack.seeds.path)
    digest = hashlib.sha256(base_image.encode())
    for part in parts:
        found = folder_digest(part) if part.is_dir() else path_digest(part)
        digest.update(f"{part.name}:{found}\0".encode())
    return digest.hexdigest()[:24]


def python_base_image(loaded: LoadedStack) -> str:
    for service in loaded.stack.services.values():
        if service.build and "BASE_IMAGE" in service.build.args:
            return service.build.args["BASE_IMAGE"]
    return os.environ.get("PYTHON_IMAGE", DEFAULT_PYTHON_IMAGE)
