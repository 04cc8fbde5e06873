"""What Docker and the host have for this project, as plain data. Pure.

Filled by the Docker edge's `observe`: everything `apply` could refuse for is observed
here, up front, so that `plan` can turn it into problems and `diff` shows them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    service: str
    status: str  # created, running, paused, restarting, exited, dead
    config_hash: str | None
    config: dict[str, Any] | None
    image_id: str
    published: dict[str, list[tuple[str, int]]] = field(
        default_factory=dict
    )  # "5432/tcp" -> [(ip, port)]

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass(frozen=True)
class ObservedImage:
    id: str
    context_hash: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A container that is not ours but holds a name we need."""

    name: str
    id: str
    owner: str  # "no labels" or "project X"


# (host ip, port, protocol) as a service publishes it.
HostPort = tuple[str, int, str]


@dataclass
class ObservedState:
    containers: list[ObservedContainer] = field(default_factory=list)
    networks: dict[str, str] = field(default_factory=dict)  # docker name -> id
    volumes: set[str] = field(default_factory=set)
    # Volumes with one of our names that this project did not create (compose warns too).
    foreign_volumes: set[str] = field(default_factory=set)
    images: dict[str, ObservedImage] = field(default_factory=dict)  # image ref -> local image
    conflicts: list[Conflict] = field(default_factory=list)
    # Volumes labelled with this project (what `destroy --volumes` may delete).
    project_volumes: set[str] = field(default_factory=set)
    # Host ports the stack publishes that something other than this project holds:
    # port -> who holds it ("" when that cannot be told).
    busy_ports: dict[HostPort, str] = field(default_factory=dict)
    # The Docker engine's socket(s), resolved: no container may be handed them.
    docker_sockets: frozenset[Path] = frozenset()

    def for_service(self, service: str) -> list[ObservedContainer]:
        return [c for c in self.containers if c.service == service]
