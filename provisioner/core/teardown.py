"""Planning `destroy`: which containers go in which order, and what else goes. Pure.

Dependents stop before what they depend on (the app before its database), each
wave in parallel; networks follow; volumes only when asked, and only those this
project created (an adopted volume is someone else's data).
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.core.desired import DesiredState
from provisioner.core.observed import ObservedContainer, ObservedState


@dataclass(frozen=True)
class Removal:
    container: ObservedContainer
    after: frozenset[str]  # container names that must be gone first (its dependents)


@dataclass(frozen=True)
class DestroyPlan:
    project: str
    removals: tuple[Removal, ...]
    networks: tuple[str, ...]
    volumes: tuple[str, ...]  # deleted
    kept_volumes: tuple[str, ...]  # left with their data

    @property
    def empty(self) -> bool:
        return not (self.removals or self.networks or self.volumes)


def plan_destroy(
    desired: DesiredState, observed: ObservedState, delete_volumes: bool
) -> DestroyPlan:
    dependents: dict[str, set[str]] = {name: set() for name in desired.services}
    for name, service in desired.services.items():
        for dependency in service.depends_on:
            dependents.setdefault(dependency, set()).add(name)
    containers_of: dict[str, list[str]] = {}
    for container in observed.containers:
        containers_of.setdefault(container.service, []).append(container.name)
    removals = tuple(
        Removal(
            container,
            frozenset(
                other
                for dependent in dependents.get(container.service, set())
                for other in containers_of.get(dependent, [])
            ),
        )
        for container in observed.containers
    )
    volumes = sorted(observed.project_volumes)
    return DestroyPlan(
        project=desired.project,
        removals=removals,
        networks=tuple(sorted(observed.networks)),
        volumes=tuple(volumes) if delete_volumes else (),
        kept_volumes=() if delete_volumes else tuple(volumes),
    )
