"""An in-memory Engine for the converge flow: records every call, fails where told."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.observed import ObservedContainer, ObservedImage, ObservedState
from provisioner.errors import ServiceFailed


@dataclass
class FakeEngine:
    containers: dict[str, ObservedContainer] = field(default_factory=dict)  # id -> container
    networks: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)
    unhealthy: set[str] = field(default_factory=set)  # services whose probe never passes
    health_delay: dict[str, float] = field(default_factory=dict)
    busy_ports: dict[tuple[str, int, str], str] = field(default_factory=dict)
    on_health_wait: Callable[[str], None] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _record(self, what: str, subject: str) -> None:
        with self._lock:
            self.calls.append((what, subject))

    def observe(self, desired: DesiredState) -> ObservedState:
        return ObservedState(
            containers=list(self.containers.values()),
            networks={n: n for n in self.networks},
            volumes=set(self.volumes),
            project_volumes=set(self.volumes),
            images={ref: ObservedImage(f"sha256:{ref}", "ctx") for ref in self.images},
            busy_ports=dict(self.busy_ports),
        )

    def build_image(self, desired: DesiredState, service: DesiredService) -> None:
        self._record("build", service.name)
        self.images.add(service.image)

    def pull_image(self, service: DesiredService) -> None:
        self._record("pull", service.name)
        self.images.add(service.image)

    def create_network(self, desired: DesiredState, name: str) -> None:
        self._record("create_network", name)
        self.networks.add(name)

    def create_volume(self, desired: DesiredState, name: str) -> None:
        self._record("create_volume", name)
        self.volumes.add(name)

    def create_container(self, project: str, service: DesiredService) -> str:
        self._record("create", service.name)
        container_id = f"c{next(self._ids)}"
        self.containers[container_id] = ObservedContainer(
            id=container_id,
            name=service.container_name,
            service=service.name,
            status="created",
            config_hash=service.config_hash,
            config=service.config,
            image_id=f"sha256:{service.image}",
        )
        return container_id

    def start_container(self, service: str, container_id: str) -> None:
        self._record("start", service)
        old = self.containers[container_id]
        self.containers[container_id] = ObservedContainer(**{**old.__dict__, "status": "running"})

    def remove_container(self, container_id: str, grace: float) -> None:
        self._record("remove", self.containers[container_id].service)
        del self.containers[container_id]

    def remove_network(self, name: str) -> None:
        self._record("remove_network", name)
        self.networks.discard(name)

    def remove_volume(self, name: str) -> None:
        self._record("remove_volume", name)
        self.volumes.discard(name)

    def wait_healthy(
        self,
        service: DesiredService,
        container_id: str,
        cancelled: threading.Event,
        on_wait: Callable[[float, str], None],
    ) -> float:
        if self.on_health_wait:
            self.on_health_wait(service.name)
        deadline = time.monotonic() + self.health_delay.get(service.name, 0.0)
        while time.monotonic() < deadline:
            if cancelled.wait(0.005):
                from provisioner.errors import Interrupted

                raise Interrupted(f"Stopped waiting for '{service.name}'.")
        if service.name in self.unhealthy:
            raise ServiceFailed(f"Service '{service.name}' did not become healthy.")
        self._record("healthy", service.name)
        return 0.0


class SilentReporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def service(self, name: str, message: str, *, ok: bool | None = None) -> None:
        self.lines.append(f"{name}: {message}")

    def waiting(self, name: str, waited: float, last_error: str) -> None:
        pass

    def note(self, message: str) -> None:
        self.lines.append(message)
