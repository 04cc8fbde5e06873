"""The Docker edge: connect, observe, and the few calls the executor makes.

Everything here goes through the low-level API so one observation is a handful
of list calls. Transient API failures (a dropped socket, a 5xx that is not one
of the known permanent ones) are retried with tenacity; the rest surface as
ProvisionerErrors with a message a user can act on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount
from tenacity import (
    Retrying as _Retrying,
)
from tenacity import (
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from provisioner.core.desired import DesiredService, DesiredState
from provisioner.core.observed import Conflict, ObservedContainer, ObservedImage, ObservedState
from provisioner.errors import ConflictError, DockerUnavailable, ServiceFailed
from provisioner.labels import (
    LABEL_CONFIG,
    LABEL_CONTEXT_HASH,
    LABEL_HASH,
    LABEL_NETWORK,
    LABEL_PROJECT,
    LABEL_SERVICE,
    LABEL_VOLUME,
)

T = TypeVar("T")
API_TIMEOUT_S = 120

DOCKER_HINT = (
    "Start the Docker engine (e.g. `sudo systemctl start docker`, or `sudo dockerd &` where "
    "there is no systemd) and check that DOCKER_HOST, if set, points at it; then run the "
    "command again."
)


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=API_TIMEOUT_S)
        client.api.ping()
        return client
    except DockerException as exc:
        raise DockerUnavailable(
            f"Cannot reach the Docker engine ({_short(exc)}). {DOCKER_HINT}"
        ) from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


_PERMANENT = (
    "port is already allocated",
    "address already in use",
    "No such",
    "Conflict",
    "not found",
    "invalid",
    "manifest unknown",
    "pull access denied",
)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return True
    if isinstance(exc, APIError) and not isinstance(exc, NotFound):
        status = exc.status_code or 0
        return status >= 500 and not any(p in str(exc) for p in _PERMANENT)
    return False


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """One Docker API call, retried on transient failures; engine gone -> DockerUnavailable."""
    try:
        for attempt in _Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(4),
            wait=wait_exponential(multiplier=0.1, max=2),
            reraise=True,
        ):
            with attempt:
                return fn(*args, **kwargs)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise DockerUnavailable(
            f"Lost the connection to the Docker engine ({_short(exc)}). {DOCKER_HINT}"
        ) from None
    raise AssertionError("unreachable")


# ---- observe ------------------------------------------------------------------------------


def observe(client: docker.DockerClient, desired: DesiredState) -> ObservedState:
    api = client.api
    project = desired.project
    state = ObservedState()
    wanted_names = {s.container_name: s.name for s in desired.services.values()}
    for row in call(api.containers, all=True):
        labels = row.get("Labels") or {}
        names = [n.lstrip("/") for n in row.get("Names") or []]
        if labels.get(LABEL_PROJECT) == project and LABEL_SERVICE in labels:
            state.containers.append(_container_from_row(row, labels, names))
        else:
            for name in names:
                if name in wanted_names:
                    owner = labels.get(LABEL_PROJECT) or labels.get("com.docker.compose.project")
                    state.conflicts.append(
                        Conflict(
                            name,
                            row["Id"],
                            f"project '{owner}'" if owner else "no provisioner labels",
                        )
                    )
    for net in call(api.networks):
        if (
            net["Name"] in desired.networks.values()
            or (net.get("Labels") or {}).get(LABEL_PROJECT) == project
        ):
            if (net.get("Labels") or {}).get(LABEL_PROJECT) == project:
                state.networks[net["Name"]] = net["Id"]
            else:
                state.conflicts.append(
                    Conflict(net["Name"], net["Id"], "a network not made by this project")
                )
    volumes = call(api.volumes).get("Volumes") or []
    state.volumes = {v["Name"] for v in volumes}
    state.project_volumes = {
        v["Name"] for v in volumes if (v.get("Labels") or {}).get(LABEL_PROJECT) == project
    }
    ours = set(desired.volumes.values())
    state.foreign_volumes = {
        v["Name"]
        for v in volumes
        if v["Name"] in ours and (v.get("Labels") or {}).get(LABEL_PROJECT) != project
    }
    for image in {s.image for s in desired.services.values()}:
        info = inspect_image(client, image)
        if info is not None:
            state.images[image] = info
    return state


def inspect_image(client: docker.DockerClient, ref: str) -> ObservedImage | None:
    try:
        data = call(client.api.inspect_image, ref)
    except (ImageNotFound, NotFound):
        return None
    labels = (data.get("Config") or {}).get("Labels") or {}
    return ObservedImage(data["Id"], labels.get(LABEL_CONTEXT_HASH))


def _container_from_row(row: dict, labels: dict, names: list[str]) -> ObservedContainer:
    try:
        config = json.loads(labels.get(LABEL_CONFIG, "null"))
    except ValueError:
        config = None
    published: dict[str, list[tuple[str, int]]] = {}
    for port in row.get("Ports") or []:
        if port.get("PublicPort"):
            key = f"{port['PrivatePort']}/{port.get('Type', 'tcp')}"
            published.setdefault(key, []).append((port.get("IP", ""), port["PublicPort"]))
    return ObservedContainer(
        id=row["Id"],
        name=names[0] if names else row["Id"][:12],
        service=labels[LABEL_SERVICE],
        status=row.get("State", "unknown"),
        config_hash=labels.get(LABEL_HASH),
        config=config,
        image_id=row.get("ImageID", ""),
        published=published,
    )


def inspect_container(client: docker.DockerClient, container_id: str) -> dict | None:
    try:
        return call(client.api.inspect_container, container_id)
    except NotFound:
        return None


def published_ports(inspect: dict) -> dict[str, list[tuple[str, int]]]:
    result: dict[str, list[tuple[str, int]]] = {}
    for key, bindings in ((inspect.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for binding in bindings or []:
            result.setdefault(key, []).append((binding["HostIp"], int(binding["HostPort"])))
    return result


def container_ip(inspect: dict) -> str | None:
    for net in ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    return None


def engine_alive() -> bool:
    """Whether the engine answers a ping on a new connection (a pooled keep-alive one can
    still be served by an engine that is shutting down)."""
    try:
        fresh = docker.from_env(timeout=5)
        try:
            fresh.api.ping()
        finally:
            fresh.close()
    except (DockerException, requests.exceptions.RequestException):
        return False
    return True


def lost_engine(doing: str) -> DockerUnavailable:
    return DockerUnavailable(f"Lost the connection to the Docker engine {doing}. {DOCKER_HINT}")


def log_tail(client: docker.DockerClient, container_id: str, lines: int = 20) -> str:
    try:
        data = client.api.logs(container_id, tail=lines, stdout=True, stderr=True)
    except requests.exceptions.ConnectionError:
        if not engine_alive():
            raise lost_engine("while reading a container's log") from None
        return "(no log available)"
    except (APIError, requests.exceptions.RequestException):
        return "(no log available)"
    text = data.decode("utf-8", errors="replace").rstrip()
    return text or "(the container printed nothing)"


# ---- act -----------------------------------------------------------------------------------


def create_network(client: docker.DockerClient, desired: DesiredState, name: str) -> None:
    stack_name = next(k for k, v in desired.networks.items() if v == name)
    spec = desired.loaded.stack.networks[stack_name]
    call(
        client.api.create_network,
        name,
        driver=spec.driver,
        internal=spec.internal,
        labels={LABEL_PROJECT: desired.project, LABEL_NETWORK: stack_name},
        check_duplicate=True,
    )


def create_volume(client: docker.DockerClient, desired: DesiredState, name: str) -> None:
    stack_name = next(k for k, v in desired.volumes.items() if v == name)
    spec = desired.loaded.stack.volumes[stack_name]
    call(
        client.api.create_volume,
        name,
        labels={**spec.labels, LABEL_PROJECT: desired.project, LABEL_VOLUME: stack_name},
    )


def create_container(client: docker.DockerClient, project: str, service: DesiredService) -> str:
    api = client.api
    config = service.config
    port_bindings: dict[str, list[tuple[str, ...]]] = {}
    exposed = []
    for spec in service.service.ports:
        key = f"{spec.target}/{spec.protocol}"
        binding: tuple[str, ...] = (
            (spec.host_ip, spec.published) if spec.published else (spec.host_ip,)  # type: ignore[assignment]
        )
        port_bindings.setdefault(key, []).append(binding)
        exposed.append((spec.target, spec.protocol))
    mounts = []
    for entry in config["volumes"]:
        kind, source, target, mode = entry.split("@", 1)[0].split(":", 3)
        mounts.append(Mount(target=target, source=source, type=kind, read_only=mode == "ro"))
    restart = None if config["restart"] == "no" else {"Name": config["restart"]}
    host_config = api.create_host_config(
        port_bindings=port_bindings,
        mounts=mounts,
        restart_policy=restart,
        # Containers never gain privileges beyond what they start with.
        security_opt=["no-new-privileges=true"],
    )
    networks = config["networks"]
    networking = api.create_networking_config(
        {networks[0]: api.create_endpoint_config(aliases=[service.name])}
    )
    labels = {
        **config["labels"],
        LABEL_PROJECT: project,
        LABEL_SERVICE: service.name,
        LABEL_HASH: service.config_hash,
        LABEL_CONFIG: json.dumps(config, sort_keys=True, separators=(",", ":")),
    }
    try:
        created = call(
            api.create_container,
            service.image,
            command=config["command"],
            entrypoint=config["entrypoint"],
            environment=config["environment"],
            name=service.container_name,
            hostname=config["hostname"],
            user=config["user"],
            labels=labels,
            ports=exposed,
            host_config=host_config,
            networking_config=networking,
            stop_timeout=int(round(config["stop_grace_period"])),
        )
    except APIError as exc:
        if exc.status_code == 409:
            raise ConflictError(
                f"Service '{service.name}': a container named '{service.container_name}' already "
                "exists and is not managed by this project; it was left alone. Rename or remove "
                "it, or change the project name."
            ) from None
        raise ServiceFailed(
            f"Service '{service.name}': cannot create its container: {exc.explanation or exc}"
        ) from None
    for extra in networks[1:]:
        call(api.connect_container_to_network, created["Id"], extra, aliases=[service.name])
    return created["Id"]


def start_container(client: docker.DockerClient, service: str, container_id: str) -> None:
    try:
        info = inspect_container(client, container_id)
        if info and info["State"].get("Paused"):
            call(client.api.unpause, container_id)
            return
        call(client.api.start, container_id)
    except APIError as exc:
        text = str(exc.explanation or exc)
        if "port is already allocated" in text or "address already in use" in text:
            raise ConflictError(
                f"Service '{service}': a host port it publishes is already in use ({text})."
            ) from None
        raise ServiceFailed(f"Service '{service}': cannot start its container: {text}") from None


def stop_container(client: docker.DockerClient, container_id: str, timeout: float) -> None:
    with contextlib.suppress(NotFound):
        call(client.api.stop, container_id, timeout=int(round(timeout)))


def remove_container(client: docker.DockerClient, container_id: str, timeout: float) -> None:
    stop_container(client, container_id, timeout)
    try:
        # v=True: the anonymous volumes an image's VOLUME lines made go too (they are no
        # one's data: a new container never gets them back). Named volumes are kept.
        call(client.api.remove_container, container_id, force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise


def remove_networks(client: docker.DockerClient, names: Iterable[str]) -> None:
    for name in names:
        with contextlib.suppress(NotFound):
            call(client.api.remove_network, name)


def project_volumes(client: docker.DockerClient, project: str) -> list[str]:
    data = call(client.api.volumes, filters={"label": f"{LABEL_PROJECT}={project}"})
    return sorted(v["Name"] for v in data.get("Volumes") or [])


def project_networks(client: docker.DockerClient, project: str) -> list[str]:
    return sorted(
        n["Name"]
        for n in call(client.api.networks, filters={"label": f"{LABEL_PROJECT}={project}"})
    )


def remove_volume(client: docker.DockerClient, name: str) -> None:
    with contextlib.suppress(NotFound):
        call(client.api.remove_volume, name)
