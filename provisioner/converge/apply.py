"""`apply`: observe, plan, refuse what cannot be done, then act and wait for health.

Nothing is changed before the whole plan is known to be possible: conflicts, images
that cannot be had, busy host ports and Docker-socket mounts are plan problems, found
from one observation. Then images are built or pulled, networks and volumes made,
stale containers removed, and services started in dependency order, each waiting for
what it depends on (started or healthy) and then for its own health.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioner.converge.engine import Engine, Reporter
from provisioner.converge.runner import Step, raise_first, run_steps
from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.plan import ADOPTED, Action, Kind, Plan, plan
from provisioner.errors import ConflictError, Interrupted


@dataclass
class ServiceOutcome:
    name: str
    kind: Kind
    reason: str
    seconds: float = 0.0
    healthy: bool = False
    error: str | None = None


@dataclass
class ApplyResult:
    plan: Plan
    outcomes: dict[str, ServiceOutcome] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def changed(self) -> bool:
        return self.plan.has_changes


def refuse_blockers(current: Plan) -> None:
    blockers = current.blockers
    if blockers:
        raise ConflictError("Nothing was changed:\n  - " + "\n  - ".join(blockers))


def converge(
    engine: Engine,
    desired: DesiredState,
    progress: Reporter,
    cancelled: threading.Event,
    only: set[str] | None = None,
    on_healthy: Callable[[str], None] | None = None,
) -> ApplyResult:
    started = time.monotonic()
    current = plan(desired, engine.observe(desired), only)
    refuse_blockers(current)
    if _ensure_images(engine, desired, current, progress, cancelled):
        # Built or pulled images can turn "unchanged" into "recreate": plan again.
        current = plan(desired, engine.observe(desired), only)
    result = ApplyResult(current)
    for network in current.create_networks:
        engine.create_network(desired, network)
    for volume in current.create_volumes:
        progress.note(f"creating volume {volume}")
        engine.create_volume(desired, volume)
    for volume in current.adopted_volumes:
        progress.note(f"warning: volume {volume} {ADOPTED}")
    _remove(engine, current.removals, progress, cancelled, result)
    _run_services(engine, desired, current, progress, cancelled, result, on_healthy)
    result.elapsed = time.monotonic() - started
    return result


def _ensure_images(
    engine: Engine,
    desired: DesiredState,
    current: Plan,
    progress: Reporter,
    cancelled: threading.Event,
) -> bool:
    """Build or pull what the plan needs, in parallel. True when anything was done."""
    work = {
        a.service: a.image
        for a in current.actions
        if a.kind is not Kind.REMOVE and (a.image.build or a.image.pull)
    }

    def one(name: str, mark_started: Callable[[], None]) -> None:
        service, image = desired.services[name], work[name]
        began = time.monotonic()
        if image.build:
            progress.service(name, f"building image {service.image} ({image.reason})")
            engine.build_image(desired, service, lambda text: progress.service(name, text))
        else:
            progress.service(name, f"pulling image {service.image} ({image.reason})")
            engine.pull_image(service, lambda text: progress.service(name, text))
        progress.service(name, f"image ready ({time.monotonic() - began:.1f}s)")

    errors = run_steps([Step(name) for name in work], one, cancelled, _interrupt_note(progress))
    raise_first(errors, cancelled)
    return bool(work)


def _remove(
    engine: Engine,
    removals: list[Action],
    progress: Reporter,
    cancelled: threading.Event,
    result: ApplyResult,
) -> None:
    by_name = {a.container.name: a for a in removals if a.container is not None}

    def one(name: str, mark_started: Callable[[], None]) -> None:
        action = by_name[name]
        assert action.container is not None
        progress.service(action.service, f"removing {name} ({action.reason})")
        engine.remove_container(action.container.id, _grace(action))
        result.removed.append(name)

    errors = run_steps([Step(n) for n in by_name], one, cancelled, _interrupt_note(progress))
    raise_first(errors, cancelled)


def _run_services(
    engine: Engine,
    desired: DesiredState,
    current: Plan,
    progress: Reporter,
    cancelled: threading.Event,
    result: ApplyResult,
    on_healthy: Callable[[str], None] | None,
) -> None:
    actions = {a.service: a for a in current.actions if a.kind is not Kind.REMOVE}
    steps = [
        Step(
            name,
            {
                dep: "started" if spec.condition == "started" else "done"
                for dep, spec in desired.services[name].depends_on.items()
            },
        )
        for name in start_order(desired, list(actions))
    ]

    def run(name: str, mark_started: Callable[[], None]) -> None:
        action, service = actions[name], desired.services[name]
        outcome = ServiceOutcome(name, action.kind, action.reason)
        result.outcomes[name] = outcome
        try:
            container_id = _act(engine, desired, service, action, progress)
            mark_started()
            outcome.seconds = _wait_healthy(
                engine, service, container_id, action, progress, cancelled
            )
            outcome.healthy = True
            if on_healthy:
                on_healthy(name)  # migrations run here, so "healthy" dependents get a schema
        except BaseException as exc:
            outcome.error = str(exc)
            raise

    errors = run_steps(steps, run, cancelled, _interrupt_note(progress))
    for name, error in errors.items():
        if name not in result.outcomes:
            result.outcomes[name] = ServiceOutcome(name, actions[name].kind, actions[name].reason)
        result.outcomes[name].error = str(error)
    if cancelled.is_set() and errors:
        raise Interrupted("Interrupted. Run `apply` again to finish converging.")
    raise_first(errors, cancelled)


# How long a service of each probe type usually takes to be ready, in rough order: the
# engine serves concurrent creates one after another, so the slowest (RabbitMQ's AMQP,
# then PostgreSQL's init) is handed its create first. A cold apply can be no faster
# than its slowest service; this keeps that service from starting third.
_START_RANK = {"amqp": 3, "postgres": 2, "http": 1}


def start_order(desired: DesiredState, names: list[str]) -> list[str]:
    """The order services are handed to the runner: slowest kind first, else as declared."""

    def rank(name: str) -> int:
        probe = desired.services[name].service.healthcheck
        return _START_RANK.get(probe.type, 0) if probe is not None else 0

    return sorted(names, key=rank, reverse=True)


def _interrupt_note(progress: Reporter) -> Callable[[], None]:
    return lambda: progress.note(
        "Interrupted: finishing the Docker call in progress, then stopping..."
    )


def _grace(action: Action) -> float:
    config = action.container.config if action.container is not None else None
    return float((config or {}).get("stop_grace_period", 10))


def _act(
    engine: Engine,
    desired: DesiredState,
    service: DesiredService,
    action: Action,
    progress: Reporter,
) -> str:
    name = service.name
    if action.kind is Kind.CREATE:
        progress.service(name, "creating container")
        container_id = engine.create_container(desired.project, service)
        engine.start_container(name, container_id)
        progress.service(name, "started")
        return container_id
    assert action.container is not None
    if action.kind is Kind.RECREATE:
        fields = ", ".join(c.path for c in action.changes) or action.reason
        progress.service(name, f"recreating ({fields})")
        engine.remove_container(action.container.id, _grace(action))
        container_id = engine.create_container(desired.project, service)
        engine.start_container(name, container_id)
        progress.service(name, "started")
        return container_id
    if action.kind is Kind.START:
        progress.service(name, f"starting ({action.reason})")
        engine.start_container(name, action.container.id)
    return action.container.id


def _wait_healthy(
    engine: Engine,
    service: DesiredService,
    container_id: str,
    action: Action,
    progress: Reporter,
    cancelled: threading.Event,
) -> float:
    probe = service.service.healthcheck
    quiet = action.kind is Kind.UNCHANGED
    if probe is not None and not quiet:
        progress.service(service.name, f"waiting for health ({probe.type} probe)")
    waited = engine.wait_healthy(
        service,
        container_id,
        cancelled,
        lambda elapsed, last: progress.waiting(service.name, elapsed, last),
    )
    if not quiet:
        what = "healthy" if probe is not None else "running"
        progress.service(service.name, f"{what} after {waited:.1f}s", ok=True)
    return waited
