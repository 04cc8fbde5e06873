"""Which images applying to a cluster must build: the stack's own and the provisioner's.

The provisioner image (the root Dockerfile) runs the migrations and seeds Job and the
init containers that wait for dependencies; it is
built on the same Python base image the stack's Python services use, as the compose
export's one-shot is. Keys are what the export's `image_overrides` takes: service
names, and the Job's name for the provisioner image.
"""

from __future__ import annotations

import os

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.kube.images import build_spec
from provisioner.stackfile.loader import LoadedStack

DEFAULT_PYTHON_IMAGE = "python:3.11-slim"


def built_images(loaded: LoadedStack, desired: DesiredState) -> dict[str, DesiredService]:
    from provisioner.export.common import JOB_NAME, PROVISIONER_IMAGE_SUFFIX

    stack = loaded.stack
    specs = {name: s for name, s in desired.services.items() if s.build is not None}
    # It runs the Job and every init container that waits for a dependency.
    needs_provisioner = stack.migrations is not None or any(
        s.depends_on for s in stack.services.values()
    )
    if needs_provisioner:
        specs[JOB_NAME] = build_spec(
            JOB_NAME,
            f"{stack.project}-{PROVISIONER_IMAGE_SUFFIX}",
            loaded.project_dir,
            args={"BASE_IMAGE": python_base_image(loaded)},
        )
    return specs


def python_base_image(loaded: LoadedStack) -> str:
    for service in loaded.stack.services.values():
        if service.build and "BASE_IMAGE" in service.build.args:
            return service.build.args["BASE_IMAGE"]
    return os.environ.get("PYTHON_IMAGE", DEFAULT_PYTHON_IMAGE)
