"""The Docker edge as the converge package's `Engine`: the SDK calls, probes and host checks."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import docker

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.observed import HostPort, ObservedState
from provisioner.engine import docker_api, images
from provisioner.engine.health import wait_until_healthy
from provisioner.engine.ports import port_holder, port_is_free


class DockerEngine:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    # ---- observe ----

    def observe(self, desired: DesiredState) -> ObservedState:
        state = docker_api.observe(self.client, desired)
        state.docker_sockets = docker_sockets()
        state.busy_ports = self._busy_ports(desired, state)
        return state

    def _busy_ports(self, desired: DesiredState, state: ObservedState) -> dict[HostPort, str]:
        """The stack's host ports that something other than this project holds."""
        ours = {
            (ip, port)
            for c in state.containers
            for bindings in c.published.values()
            for ip, port in bindings
        }
        busy: dict[HostPort, str] = {}
        for service in desired.services.values():
            for spec in service.service.ports:
                if not spec.published or (spec.host_ip, spec.published) in ours:
                    continue
                if port_is_free(spec.host_ip, spec.published, spec.protocol):
                    continue
                holder = self._container_holding(spec.published) or port_holder(spec.published)
                busy[(spec.host_ip, spec.published, spec.protocol)] = holder or ""
        return busy

    def _container_holding(self, port: int) -> str | None:
        for row in docker_api.call(self.client.api.containers):
            for binding in row.get("Ports") or []:
                if binding.get("PublicPort") == port:
                    name = (row.get("Names") or ["?"])[0].lstrip("/")
                    return f"container '{name}'"
        return None

    # ---- act ----

    def build_image(self, desired: DesiredState, service: DesiredService) -> None:
        images.build_image(self.client, desired.project, service, service.context_hash)

    def pull_image(self, service: DesiredService) -> None:
        images.pull_image(self.client, service)

    def create_network(self, desired: DesiredState, name: str) -> None:
        docker_api.create_network(self.client, desired, name)

    def create_volume(self, desired: DesiredState, name: str) -> None:
        docker_api.create_volume(self.client, desired, name)

    def create_container(self, project: str, service: DesiredService) -> str:
        return docker_api.create_container(self.client, project, service)

    def start_container(self, service: str, container_id: str) -> None:
        docker_api.start_container(self.client, service, container_id)

    def remove_container(self, container_id: str, grace: float) -> None:
        docker_api.remove_container(self.client, container_id, grace)

    def remove_network(self, name: str) -> None:
        docker_api.remove_networks(self.client, [name])

    def remove_volume(self, name: str) -> None:
        docker_api.remove_volume(self.client, name)

    def wait_healthy(
        self,
        service: DesiredService,
        container_id: str,
        cancelled: threading.Event,
        on_wait: Callable[[float, str], None],
    ) -> float:
        return wait_until_healthy(
            self.client, service.name, container_id, service.service.healthcheck, cancelled, on_wait
        )


def docker_sockets() -> frozenset[Path]:
    """Where the engine's socket is on this machine, symlinks resolved."""
    paths = {Path("/var/run/docker.sock"), Path("/run/docker.sock")}
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        paths.add(Path(host[len("unix://") :]))
    return frozenset(p.resolve() for p in paths)
