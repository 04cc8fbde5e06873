"""Acting on a plan: images, networks, volumes, then services in dependency order.

Services whose dependencies are met run in parallel, one thread each; a
dependent starts once what it depends on is started (or healthy, when its
condition says so). A failure stops only the services that depend on it; the
healthy ones stay up. Ctrl-C sets `cancelled`: threads stop at the next step
boundary, so what is left is a state the next `apply` resumes from.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from provisioner.cli.progress import Progress
from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.observed import ObservedState
from provisioner.core.plan import ADOPTED, Action, Kind, Plan, plan
from provisioner.engine import docker_api, images
from provisioner.engine.health import wait_until_healthy
from provisioner.engine.ports import PortRequest, port_holder, port_is_free
from provisioner.errors import ConflictError, Interrupted, ProvisionerError, ServiceFailed


class DependencyFailed(ServiceFailed):
    """A service was skipped because something it depends on failed."""


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


def context_hashes(desired: DesiredState, only: set[str] | None = None) -> dict[str, str]:
    hashes = {}
    for name, service in desired.services.items():
        if only is not None and name not in only:
            continue
        digest = images.context_hash(service)
        if digest:
            hashes[name] = digest
    return hashes


def check_blockers(client: docker.DockerClient, current: Plan, desired: DesiredState) -> None:
    """Conflicts, image problems and busy ports: found before anything is changed."""
    messages: list[str] = []
    for conflict in current.conflicts:
        messages.append(
            f"'{conflict.name}' already exists and belongs to {conflict.owner}; it was left alone. "
            "Remove or rename it, or give this stack another project name."
        )
    messages.extend(p + "." for p in current.problems)
    messages.extend(docker_socket_mounts(current, desired))
    messages.extend(busy_ports(client, current, desired))
    if messages:
        raise ConflictError("Nothing was changed:\n  - " + "\n  - ".join(messages))


def _docker_sockets() -> set[Path]:
    paths = {Path("/var/run/docker.sock"), Path("/run/docker.sock")}
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        paths.add(Path(host[len("unix://") :]))
    return {p.resolve() for p in paths}


def docker_socket_mounts(current: Plan, desired: DesiredState) -> list[str]:
    """Bind mounts that would hand a container the Docker socket: the socket itself under
    another name (a symlink), or a folder holding it (`/var/run`, `/`)."""
    sockets = _docker_sockets()
    messages = []
    for action in current.actions:
        if action.kind is Kind.REMOVE:
            continue
        service = desired.services[action.service]
        for mount in service.service.volumes:
            if mount.type != "bind":
                continue
            source = (desired.loaded.project_dir / Path(mount.source).expanduser()).resolve()
            exposed = sorted(str(s) for s in sockets if s == source or s.is_relative_to(source))
            if exposed:
                messages.append(
                    f"service '{action.service}' bind-mounts '{mount.source}' ({source}), which "
                    f"gives it the Docker socket {exposed[0]}; a container with the Docker socket "
                    "controls the whole host, so this is not allowed. Mount only what it needs."
                )
    return messages


def busy_ports(client: docker.DockerClient, current: Plan, desired: DesiredState) -> list[str]:
    requests: list[PortRequest] = []
    ours: set[tuple[str, int]] = set()
    for action in current.actions:
        if action.container is not None:
            for bindings in action.container.published.values():
                ours.update((ip, port) for ip, port in bindings)
    for action in current.actions:
        if action.kind in (Kind.REMOVE, Kind.UNCHANGED):
            continue
        for spec in desired.services[action.service].service.ports:
            if spec.published and (spec.host_ip, spec.published) not in ours:
                requests.append(
                    PortRequest(action.service, spec.host_ip, spec.published, spec.protocol)
                )
    messages = []
    for request in requests:
        if port_is_free(request.host_ip, request.port, request.protocol):
            continue
        holder = _docker_holder(client, request.port) or port_holder(request.port)
        messages.append(
            f"service '{request.service}' publishes {request.host_ip}:{request.port}/"
            f"{request.protocol}, which is already in use"
            + (f" by {holder}" if holder else "")
            + "; stop that, or change the host port in the stack file (or its variable)."
        )
    return messages


def _docker_holder(client: docker.DockerClient, port: int) -> str | None:
    for row in docker_api.call(client.api.containers):
        for binding in row.get("Ports") or []:
            if binding.get("PublicPort") == port:
                name = (row.get("Names") or ["?"])[0].lstrip("/")
                return f"container '{name}'"
    return None


def ensure_images(
    client: docker.DockerClient,
    desired: DesiredState,
    current: Plan,
    hashes: dict[str, str],
    progress: Progress,
) -> bool:
    """Build or pull what the plan needs, in parallel. True when anything was done."""
    work = [
        (a.service, a.image)
        for a in current.actions
        if a.kind is not Kind.REMOVE and (a.image.build or a.image.pull)
    ]
    if not work:
        return False

    def one(name: str, build: bool, reason: str) -> None:
        service = desired.services[name]
        started = time.monotonic()
        if build:
            progress.service(name, f"building image {service.image} ({reason})")
            images.build_image(
                client,
                desired.project,
                service,
                hashes.get(name),
                lambda t: progress.service(name, t),
            )
        else:
            progress.service(name, f"pulling image {service.image} ({reason})")
            images.pull_image(client, service, lambda t: progress.service(name, t))
        progress.service(name, f"image ready ({time.monotonic() - started:.1f}s)")

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        futures = [pool.submit(one, name, w.build, w.reason) for name, w in work]
        wait(futures)
    # Every image that cannot be had, not only the first (offline, that is all of them).
    failures = [f.exception() for f in futures if f.exception() is not None]
    if len(failures) > 1 and all(isinstance(e, ProvisionerError) for e in failures):
        raise ServiceFailed("\n\n".join(str(e) for e in failures))
    for future in futures:
        future.result()
    return True


def converge(
    client: docker.DockerClient,
    desired: DesiredState,
    progress: Progress,
    cancelled: threading.Event,
    only: set[str] | None = None,
    on_healthy: Callable[[str], None] | None = None,
) -> ApplyResult:
    started = time.monotonic()
    hashes = context_hashes(desired, only)
    observed = docker_api.observe(client, desired)
    current = plan(desired, observed, hashes, only)
    check_blockers(client, current, desired)
    if ensure_images(client, desired, current, hashes, progress):
        refreshed = docker_api.observe(client, desired)
        current = plan(desired, refreshed, hashes, only)
        observed = refreshed
    result = ApplyResult(current)

    for network in current.create_networks:
        docker_api.create_network(client, desired, network)
    for volume in current.create_volumes:
        progress.note(f"creating volume {volume}")
        docker_api.create_volume(client, desired, volume)
    for volume in current.adopted_volumes:
        progress.note(f"warning: volume {volume} {ADOPTED}")
    _remove(client, current.removals, observed, progress, result)
    _run_services(client, desired, current, progress, cancelled, result, on_healthy)
    result.elapsed = time.monotonic() - started
    return result


def _remove(
    client: docker.DockerClient,
    removals: list[Action],
    observed: ObservedState,
    progress: Progress,
    result: ApplyResult,
) -> None:
    def one(action: Action) -> None:
        assert action.container is not None
        grace = (action.container.config or {}).get("stop_grace_period", 10)
        progress.service(action.service, f"removing {action.container.name} ({action.reason})")
        docker_api.remove_container(client, action.container.id, grace)
        result.removed.append(action.container.name)

    if removals:
        with ThreadPoolExecutor(max_workers=len(removals)) as pool:
            for future in [pool.submit(one, a) for a in removals]:
                future.result()


def _run_services(
    client: docker.DockerClient,
    desired: DesiredState,
    current: Plan,
    progress: Progress,
    cancelled: threading.Event,
    result: ApplyResult,
    on_healthy: Callable[[str], None] | None,
) -> None:
    actions = {a.service: a for a in current.actions if a.kind is not Kind.REMOVE}
    started = {name: threading.Event() for name in actions}
    finished = {name: threading.Event() for name in actions}
    errors: dict[str, BaseException] = {}

    def wait_for(name: str, dep: str, condition: str) -> None:
        if dep not in actions:
            return  # not part of this run (limited apply); assumed running
        # `finished` is set once the dependency is healthy (and migrated) or has failed.
        event = started[dep] if condition == "started" else finished[dep]
        while not event.wait(0.05):
            if cancelled.is_set():
                raise Interrupted(f"Stopped before starting '{name}'.")
        if dep in errors:
            raise DependencyFailed(f"Service '{name}' was not started because '{dep}' failed.")

    def run(name: str) -> None:
        action = actions[name]
        service = desired.services[name]
        outcome = ServiceOutcome(name, action.kind, action.reason)
        result.outcomes[name] = outcome
        try:
            for dep, spec in service.depends_on.items():
                wait_for(name, dep, spec.condition)
            if cancelled.is_set():
                raise Interrupted(f"Stopped before starting '{name}'.")
            container_id = _act(client, desired, service, action, progress)
            started[name].set()
            outcome.seconds = _wait_healthy(
                client, service, container_id, action, progress, cancelled
            )
            outcome.healthy = True
            if on_healthy:
                on_healthy(name)
        except BaseException as exc:
            errors[name] = exc
            outcome.error = str(exc)
            raise
        finally:
            started[name].set()
            finished[name].set()

    pool = ThreadPoolExecutor(max_workers=max(1, len(actions)))
    futures: dict[Future, str] = {}
    try:
        # Submitting is inside the guard too: a Ctrl-C between two submits must still
        # wait for the threads already running, or they would act after we report.
        with signals_deferred():
            for name in actions:
                futures[pool.submit(run, name)] = name
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.2)
    except KeyboardInterrupt:
        cancelled.set()
        progress.note("Interrupted: finishing the Docker call in progress, then stopping...")
        _drain(pool)
        raise Interrupted(
            "Interrupted. Nothing is left half-made: run `apply` again to finish converging."
        ) from None
    pool.shutdown(wait=True)
    failures = [errors[n] for n in actions if n in errors]
    if cancelled.is_set() and failures:
        raise Interrupted("Interrupted. Run `apply` again to finish converging.")
    # Report the root causes; "not started because X failed" only when nothing else.
    primary = [e for e in failures if not isinstance(e, DependencyFailed)] or failures
    if primary:
        first = primary[0]
        if isinstance(first, ProvisionerError):
            if len(primary) > 1:
                raise type(first)("\n\n".join(str(e) for e in primary))
            raise first
        raise first


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while threads are handed their work.

    Interrupted inside ThreadPoolExecutor.submit (between starting a thread and
    registering it), a thread runs on unregistered and shutdown(wait=True) does not
    wait for it: it went on changing Docker after "Interrupted" was printed (seen in
    CI). A signal that arrives meanwhile is delivered again right after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(sig)
        if callable(handler):  # only handlers that raise in Python; default/ignore stay
            previous[sig] = handler
            signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])


def _drain(pool: ThreadPoolExecutor) -> None:
    """Wait for the worker threads to stop; a second Ctrl-C does not cut this short, so the
    project lock is never released while a thread still changes Docker."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def _act(
    client: docker.DockerClient,
    desired: DesiredState,
    service: DesiredService,
    action: Action,
    progress: Progress,
) -> str:
    name = service.name
    if action.kind is Kind.CREATE:
        progress.service(name, "creating container")
        container_id = docker_api.create_container(client, desired.project, service)
        docker_api.start_container(client, name, container_id)
        progress.service(name, "started")
        return container_id
    assert action.container is not None
    if action.kind is Kind.RECREATE:
        fields = ", ".join(c.path for c in action.changes) or action.reason
        progress.service(name, f"recreating ({fields})")
        old_grace = (action.container.config or {}).get("stop_grace_period", 10)
        docker_api.remove_container(client, action.container.id, old_grace)
        container_id = docker_api.create_container(client, desired.project, service)
        docker_api.start_container(client, name, container_id)
        progress.service(name, "started")
        return container_id
    if action.kind is Kind.START:
        progress.service(name, f"starting ({action.reason})")
        docker_api.start_container(client, name, action.container.id)
        return action.container.id
    return action.container.id


def _wait_healthy(
    client: docker.DockerClient,
    service: DesiredService,
    container_id: str,
    action: Action,
    progress: Progress,
    cancelled: threading.Event,
) -> float:
    probe = service.service.healthcheck
    quiet = action.kind is Kind.UNCHANGED
    if probe is not None and not quiet:
        progress.service(service.name, f"waiting for health ({probe.type} probe)")
    waited = wait_until_healthy(
        client,
        service.name,
        container_id,
        probe,
        cancelled,
        on_wait=lambda elapsed, last: progress.waiting(service.name, elapsed, last),
    )
    if not quiet:
        what = "healthy" if probe is not None else "running"
        progress.service(service.name, f"{what} after {waited:.1f}s", ok=True)
    return waited
