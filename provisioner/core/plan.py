"""Planning: (desired, observed) -> ordered actions, each with its reason. Pure.

Everything `apply` would refuse for (containers that are not ours, images it cannot
get, busy host ports, the Docker socket handed to a container) is a problem of the
plan, so `diff` shows exactly what `apply` would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provisioner.core.desired import DesiredService, DesiredState, FieldChange, config_changes
from provisioner.core.observed import Conflict, ObservedContainer, ObservedState


class Kind(StrEnum):
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    REMOVE = "remove"
    UNCHANGED = "unchanged"


SYMBOLS = {
    Kind.CREATE: "+",
    Kind.RECREATE: "-/+",
    Kind.START: "~",
    Kind.REMOVE: "-",
    Kind.UNCHANGED: " ",
}


@dataclass(frozen=True)
class ImageWork:
    """What must happen to a service's image before its container can be made."""

    build: bool = False
    pull: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Action:
    kind: Kind
    service: str
    reason: str
    changes: tuple[FieldChange, ...] = ()
    container: ObservedContainer | None = None  # the container acted on (start/recreate/remove)
    image: ImageWork = ImageWork()


ADOPTED = (
    "exists but was not created by this project; it is used as it is (with its data), "
    "and `destroy --volumes` leaves it"
)


@dataclass(frozen=True)
class Plan:
    project: str
    actions: tuple[Action, ...]
    create_networks: tuple[str, ...] = ()
    create_volumes: tuple[str, ...] = ()
    adopted_volumes: tuple[str, ...] = ()  # exist, not made by us: used as they are
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def blockers(self) -> list[str]:
        """Why `apply` must refuse this plan, one sentence each; empty when it may go on."""
        messages = [
            f"'{c.name}' already exists and belongs to {c.owner}; it was left alone. "
            "Remove or rename it, or give this stack another project name."
            for c in self.conflicts
        ]
        return messages + [p + "." for p in self.problems]

    @property
    def has_changes(self) -> bool:
        return bool(self.create_networks or self.create_volumes) or any(
            a.kind is not Kind.UNCHANGED or a.image.build or a.image.pull for a in self.actions
        )

    def for_service(self, name: str) -> Action | None:
        return next(
            (a for a in self.actions if a.service == name and a.kind is not Kind.REMOVE), None
        )

    @property
    def removals(self) -> list[Action]:
        return [a for a in self.actions if a.kind is Kind.REMOVE]


def image_work(service: DesiredService, observed: ObservedState) -> tuple[ImageWork, str | None]:
    """Whether to build or pull, and a problem message if neither can help."""
    local = observed.images.get(service.image)
    policy = service.service.pull_policy
    if service.build is not None:
        if local is None:
            return ImageWork(build=True, reason="image not built yet"), None
        if policy == "build":
            return ImageWork(build=True, reason="pull_policy is build"), None
        if service.context_hash is not None and local.context_hash != service.context_hash:
            return ImageWork(build=True, reason="build context changed"), None
        return ImageWork(), None
    if policy == "always":
        return ImageWork(pull=True, reason="pull_policy is always"), None
    if local is None:
        if policy == "never":
            return ImageWork(), (
                f"service '{service.name}': image '{service.image}' is not present locally and "
                "pull_policy is 'never'"
            )
        return ImageWork(pull=True, reason="image not present locally"), None
    return ImageWork(), None


def _pick(containers: list[ObservedContainer], desired: DesiredService) -> ObservedContainer:
    """The container to keep when several claim one service (e.g. after an interrupted run)."""

    def rank(c: ObservedContainer) -> tuple[bool, bool, bool]:
        return (c.config_hash == desired.config_hash, c.running, c.name == desired.container_name)

    return max(containers, key=rank)


def plan(desired: DesiredState, observed: ObservedState, only: set[str] | None = None) -> Plan:
    """Compute the actions that take `observed` to `desired`.

    `only` limits the plan to some services (their dependencies must be in it too);
    undeclared containers are removed only when the whole stack is planned.
    """
    actions: list[Action] = []
    problems: list[str] = []

    # Removals first: they free names and host ports the rest may need.
    if only is None:
        for container in observed.containers:
            if container.service not in desired.services:
                actions.append(
                    Action(
                        Kind.REMOVE,
                        container.service,
                        "service no longer declared",
                        container=container,
                    )
                )
    for name, service in desired.services.items():
        if only is not None and name not in only:
            continue
        containers = observed.for_service(name)
        keep = _pick(containers, service) if containers else None
        for extra in containers:
            if extra is not keep:
                actions.append(
                    Action(
                        Kind.REMOVE, name, "duplicate container of this service", container=extra
                    )
                )
        work, problem = image_work(service, observed)
        if problem:
            problems.append(problem)
        action = _service_action(service, keep, work, observed)
        actions.append(action)
        problems.extend(socket_mounts(service, observed))
        if action.kind is not Kind.UNCHANGED:
            problems.extend(busy_ports(service, observed))

    wanted_networks = {
        net
        for name, s in desired.services.items()
        if only is None or name in only
        for net in s.config["networks"]
    }
    wanted_volumes = {
        desired.volumes[m.source]
        for name, s in desired.services.items()
        if only is None or name in only
        for m in s.service.volumes
        if m.type == "volume"
    }
    return Plan(
        project=desired.project,
        actions=tuple(actions),
        create_networks=tuple(sorted(wanted_networks - set(observed.networks))),
        create_volumes=tuple(sorted(wanted_volumes - observed.volumes)),
        adopted_volumes=tuple(sorted(wanted_volumes & observed.foreign_volumes)),
        conflicts=tuple(
            c
            for c in observed.conflicts
            if only is None
            or any(
                c.name == desired.services[s].container_name for s in only if s in desired.services
            )
        ),
        problems=tuple(problems),
    )


def _service_action(
    service: DesiredService,
    container: ObservedContainer | None,
    work: ImageWork,
    observed: ObservedState,
) -> Action:
    name = service.name
    if container is None:
        return Action(Kind.CREATE, name, "not created yet", image=work)
    if container.config_hash != service.config_hash:
        changes = tuple(config_changes(container.config, service.config))
        return Action(Kind.RECREATE, name, "configuration changed", changes, container, work)
    local = observed.images.get(service.image)
    if work.build:
        change = FieldChange("image", container.image_id[:19], f"rebuild ({work.reason})")
        return Action(Kind.RECREATE, name, "image will be rebuilt", (change,), container, work)
    if local is not None and local.id != container.image_id and not work.pull:
        change = FieldChange("image", container.image_id[:19], local.id[:19])
        return Action(Kind.RECREATE, name, "a newer local image exists", (change,), container, work)
    if container.status in ("exited", "created", "dead"):
        return Action(
            Kind.START, name, f"container is {container.status}", container=container, image=work
        )
    if container.status == "paused":
        return Action(Kind.START, name, "container is paused", container=container, image=work)
    return Action(
        Kind.UNCHANGED, name, f"container is {container.status}", container=container, image=work
    )


def busy_ports(service: DesiredService, observed: ObservedState) -> list[str]:
    """Host ports this service would publish that something else already holds."""
    problems = []
    for spec in service.service.ports:
        if not spec.published:
            continue
        holder = observed.busy_ports.get((spec.host_ip, spec.published, spec.protocol))
        if holder is None:
            continue
        problems.append(
            f"service '{service.name}' publishes {spec.host_ip}:{spec.published}/{spec.protocol}"
            ", which is already in use"
            + (f" by {holder}" if holder else "")
            + "; stop that, or change the host port in the stack file (or its variable)"
        )
    return problems


def socket_mounts(service: DesiredService, observed: ObservedState) -> list[str]:
    """Bind mounts that would hand the container the Docker socket: the socket itself under
    another name (a symlink), or a folder holding it (`/var/run`, `/`)."""
    problems = []
    for bind in service.bind_sources:
        exposed = sorted(
            str(s) for s in observed.docker_sockets if s == bind.path or s.is_relative_to(bind.path)
        )
        if exposed:
            problems.append(
                f"service '{service.name}' bind-mounts '{bind.written}' ({bind.path}), which "
                f"gives it the Docker socket {exposed[0]}; a container with the Docker socket "
                "controls the whole host, so this is not allowed. Mount only what it needs"
            )
    return problems
