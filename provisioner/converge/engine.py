"""What converging needs from a container engine, and how it reports progress.

The converge package drives any `Engine`: the Docker edge implements it for real
runs, and the unit tests use an in-memory one, so the whole apply and destroy flow
(ordering, failures, Ctrl-C) is tested in milliseconds without Docker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.observed import ObservedState


class Engine(Protocol):
    def observe(self, desired: DesiredState) -> ObservedState: ...

    def build_image(self, desired: DesiredState, service: DesiredService) -> None: ...

    def pull_image(self, service: DesiredService) -> None: ...

    def create_network(self, desired: DesiredState, name: str) -> None: ...

    def create_volume(self, desired: DesiredState, name: str) -> None: ...

    def create_container(self, project: str, service: DesiredService) -> str: ...

    def start_container(self, service: str, container_id: str) -> None: ...

    def remove_container(self, container_id: str, grace: float) -> None: ...

    def remove_network(self, name: str) -> None: ...

    def remove_volume(self, name: str) -> None: ...

    def wait_healthy(
        self,
        service: DesiredService,
        container_id: str,
        cancelled: threading.Event,
        on_wait: Callable[[float, str], None],
    ) -> float:
        """Block until the service's probe passes; seconds waited. ServiceFailed if never."""
        ...


class Reporter(Protocol):
    """Where progress goes (the CLI's Progress in real runs)."""

    def service(self, name: str, message: str, *, ok: bool | None = None) -> None: ...

    def waiting(self, name: str, waited: float, last_error: str) -> None: ...

    def note(self, message: str) -> None: ...
