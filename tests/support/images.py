"""The locally built stand-in images (see .ci/images/build.sh)."""

from __future__ import annotations

import os

STANDIN_PREFIX = os.environ.get("STANDIN_PREFIX", "provisioner-standin")


def standin_image(name: str) -> str:
    """Name of a locally built stand-in image."""
    return f"{STANDIN_PREFIX}/{name}:latest"


# What users run: the stand-in for timescale/timescaledb:latest-pg15.
POSTGRES = standin_image("timescaledb")
REDIS = standin_image("redis")
RABBITMQ = standin_image("rabbitmq")
PYTHON = standin_image("python")
