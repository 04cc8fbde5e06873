"""The stack.yaml model (pydantic v2). Pure: no I/O here.

Short forms that compose users know (port strings, `name:/path` volumes, lists
of `KEY=VALUE`, a bare build context) are accepted and normalised into one
long form, so everything downstream sees a single shape. Unknown keys are
rejected everywhere.
"""

from __future__ import annotations

import math
import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

NAME_RE = r"^[a-z0-9][a-z0-9_-]*$"
DOCKER_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
# Binding one of these folders hands the container the socket inside it.
DOCKER_SOCKET_FOLDERS = ("/", "/var", "/var/run", "/run")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- small value parsers ----------------------------------------------------------

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """'500ms', '30s', '2m', '1h' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '2m' or a number of seconds")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError("the duration is too long") from None
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError(
                f"'{value}' is not a duration; use e.g. '500ms', '30s', '2m' or a number of seconds"
            )
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not math.isfinite(seconds):
        raise ValueError(f"'{value}' is not a finite duration")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _scalar_to_str(value: Any, what: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    kind = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else None
    raise ValueError(
        f"{what} must be a string, number or boolean, not {kind or type(value).__name__}"
    )


def _key_value_mapping(value: Any, what: str) -> dict[str, str]:
    """A mapping, or a list of 'KEY=VALUE' strings (compose's two forms)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): _scalar_to_str(v, f"{what} '{k}'") for k, v in value.items()}
    if isinstance(value, list):
        result: dict[str, str] = {}
        for item in value:
            if not isinstance(item, str) or "=" not in item:
                raise ValueError(f"each {what} list item must be 'KEY=VALUE', got {item!r}")
            key, _, val = item.partition("=")
            result[key.strip()] = val
        return result
    raise ValueError(f"{what} must be a mapping or a list of 'KEY=VALUE' strings")


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split command: {exc}") from None
    if isinstance(value, list) and all(isinstance(p, str | int | float) for p in value):
        return [str(p) for p in value]
    raise ValueError("must be a string or a list of strings")


Command = Annotated[list[str] | None, BeforeValidator(_command)]


# ---- ports --------------------------------------------------------------------------


class Port(Strict):
    target: int = Field(ge=1, le=65535, description="container port")
    published: int | None = Field(default=None, ge=0, le=65535, description="host port")
    host_ip: str = "127.0.0.1"
    protocol: Literal["tcp", "udp"] = "tcp"

    @field_validator("host_ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        import ipaddress

        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            raise ValueError(f"'{value}' is not an IP address") from None


_PORT_RE = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?P<published>\d+)?:)?"
    r"(?P<target>\d+)(?:/(?P<proto>tcp|udp))?$"
)


def parse_port(value: Any) -> Any:
    """'8000', '8000:8000', '127.0.0.1:8000:8000', '53:53/udp' or the long mapping form."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"target": value}
    if isinstance(value, str):
        match = _PORT_RE.match(value.strip())
        if not match:
            raise ValueError(
                f"'{value}' is not a port; use 'HOST:CONTAINER', 'IP:HOST:CONTAINER' or "
                "'CONTAINER' (optionally with '/udp')"
            )
        result: dict[str, Any] = {"target": int(match.group("target"))}
        if match.group("published"):
            result["published"] = int(match.group("published"))
        if match.group("ip"):
            result["host_ip"] = match.group("ip")
        if match.group("proto"):
            result["protocol"] = match.group("proto")
        return result
    return value


PortSpec = Annotated[Port, BeforeValidator(parse_port)]


# ---- volumes ----------------------------------------------------------------------------


class Mount(Strict):
    type: Literal["volume", "bind"]
    source: str
    target: str
    read_only: bool = False

    @field_validator("target")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"the container path '{value}' must be absolute")
        return value

    @model_validator(mode="after")
    def _no_docker_socket(self) -> Mount:
        source = self.source.rstrip("/") or "/"
        if self.type == "bind" and source in DOCKER_SOCKET_PATHS:
            raise ValueError("mounting the Docker socket into a container is not allowed")
        if self.type == "bind" and source in DOCKER_SOCKET_FOLDERS:
            raise ValueError(
                f"binding {source} would give the container the Docker socket inside it; "
                "mount a narrower folder"
            )
        if not self.source:
            raise ValueError("the volume source is empty")
        return self


def parse_mount(value: Any) -> Any:
    """'name:/path[:ro]', './dir:/path', '/abs:/path' or the long mapping form."""
    if not isinstance(value, str):
        return value
    parts = value.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(
            f"'{value}' is not a volume; use 'VOLUME:/container/path', "
            "'./host/path:/container/path' or add ':ro'"
        )
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"'{value}': the mode must be 'ro' or 'rw', not '{mode}'")
    source = parts[0]
    is_path = source.startswith(("/", ".", "~"))
    return {
        "type": "bind" if is_path else "volume",
        "source": source,
        "target": parts[1],
        "read_only": mode == "ro",
    }


MountSpec = Annotated[Mount, BeforeValidator(parse_mount)]


# ---- health checks -------------------------------------------------------------------


class ProbeBase(Strict):
    timeout: Duration = Field(default=120.0, description="total time to wait for healthy")
    liveness: bool = Field(
        default=False,
        description="exports only: also restart the container when the probe fails "
        "(Kubernetes livenessProbe); off by default, as restarts lose a database's logs",
    )


class TcpProbe(ProbeBase):
    type: Literal["tcp"]
    port: int = Field(ge=1, le=65535)


class HttpProbe(ProbeBase):
    type: Literal["http"]
    port: int = Field(ge=1, le=65535)
    path: str = "/"
    status: int = Field(default=200, ge=100, le=599)
    body: str | None = Field(default=None, description="substring the body must contain")


class PostgresProbe(ProbeBase):
    type: Literal["postgres"]
    port: int = Field(default=5432, ge=1, le=65535)
    user: str = "postgres"
    password: str = ""
    database: str | None = None


class RedisProbe(ProbeBase):
    type: Literal["redis"]
    port: int = Field(default=6379, ge=1, le=65535)
    password: str | None = None


class AmqpProbe(ProbeBase):
    type: Literal["amqp"]
    port: int = Field(default=5672, ge=1, le=65535)
    user: str = "guest"
    password: str = "guest"
    vhost: str = "/"


class ExecProbe(ProbeBase):
    type: Literal["exec"]
    command: Command

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str]:
        if not value:
            raise ValueError("the exec probe needs a command")
        return value


HealthCheck = Annotated[
    TcpProbe | HttpProbe | PostgresProbe | RedisProbe | AmqpProbe | ExecProbe,
    Field(discriminator="type"),
]


# ---- resources (used by `export kubernetes`) ----------------------------------------

# Kubernetes quantities: '500m', '0.5', '256Mi', '1G'.
_QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def _quantity(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a quantity such as '500m', '256Mi' or a number")
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str) and not _QUANTITY_RE.match(value):
        raise ValueError(
            f"'{value}' is not a quantity; use e.g. '500m' or '1' (CPU), '256Mi' or '1Gi' (memory)"
        )
    return value


Quantity = Annotated[str, BeforeValidator(_quantity)]


class ResourceAmounts(Strict):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(Strict):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


# ---- services ----------------------------------------------------------------------------


class Build(Strict):
    context: str
    dockerfile: str = "Dockerfile"
    args: Annotated[
        dict[str, str], BeforeValidator(lambda v: _key_value_mapping(v, "build arg"))
    ] = {}


def _build(value: Any) -> Any:
    return {"context": value} if isinstance(value, str) else value


class Dependency(Strict):
    condition: Literal["started", "healthy"] = "started"

    @field_validator("condition", mode="before")
    @classmethod
    def _compose_names(cls, value: Any) -> Any:
        # Accept compose's spelling too.
        if not isinstance(value, str):
            return value  # a list or mapping is not hashable; let the Literal check report it
        return {"service_started": "started", "service_healthy": "healthy"}.get(value, value)


def _depends_on(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"depends_on list items must be service names, got {item!r}")
        return {name: {} for name in value}
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    raise ValueError("depends_on must be a list of service names or a mapping")


class Service(Strict):
    image: str | None = None
    build: Annotated[Build | None, BeforeValidator(_build)] = None
    pull_policy: Literal["missing", "always", "never", "build"] = "missing"
    command: Command = None
    entrypoint: Command = None
    environment: Annotated[
        dict[str, str], BeforeValidator(lambda v: _key_value_mapping(v, "environment"))
    ] = {}
    ports: list[PortSpec] = []
    volumes: list[MountSpec] = []
    networks: list[str] = ["default"]
    depends_on: Annotated[dict[str, Dependency], BeforeValidator(_depends_on)] = {}
    healthcheck: HealthCheck | None = None
    restart: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    labels: Annotated[
        dict[str, str], BeforeValidator(lambda v: _key_value_mapping(v, "label"))
    ] = {}
    hostname: str | None = None
    user: str | None = None
    stop_grace_period: Duration = 10.0
    resources: Resources | None = Field(
        default=None, description="exports only: Kubernetes requests and limits"
    )
    urls: dict[str, str] = Field(
        default={}, description="connection URLs for the host, e.g. DATABASE_URL; go to .env.local"
    )

    @field_validator("restart", mode="before")
    @classmethod
    def _restart(cls, value: Any) -> Any:
        return "no" if value is False else value  # YAML reads a bare `no` as false

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            raise ValueError(f"'{value}' is not an image name")
        return value

    @field_validator("environment", "labels")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key or "=" in key or any(c.isspace() for c in key):
                raise ValueError(f"'{key}' is not a valid variable name")
        return value

    @field_validator("networks")
    @classmethod
    def _networks_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a network is listed twice")
        return value

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.image is None and self.build is None:
            raise ValueError("a service needs 'image' or 'build' (or both)")
        targets = [m.target for m in self.volumes]
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"container path {duplicates[0]} is mounted twice")
        return self


class Network(Strict):
    driver: str = "bridge"
    internal: bool = False


class Volume(Strict):
    labels: Annotated[
        dict[str, str], BeforeValidator(lambda v: _key_value_mapping(v, "label"))
    ] = {}
    # Exports only: the Kubernetes PersistentVolumeClaim of the StatefulSet that owns it.
    size: Quantity | None = Field(default=None, description="claim size, default 1Gi")
    storage_class: str | None = Field(default=None, description="default: the cluster's")


class Migrations(Strict):
    service: str
    path: str = "./migrations"
    database_url: str


class Seeds(Strict):
    path: str = "./seeds"
    variables: Annotated[
        dict[str, str], BeforeValidator(lambda v: _key_value_mapping(v, "seed variable"))
    ] = {}


def _none_to_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return {} if value is None else value


class Stack(Strict):
    project: str = Field(pattern=NAME_RE, max_length=48)
    services: dict[str, Service]
    networks: Annotated[dict[str, Network], BeforeValidator(_none_to_empty)] = {}
    volumes: Annotated[dict[str, Volume], BeforeValidator(_none_to_empty)] = {}
    migrations: Migrations | None = None
    seeds: Seeds | None = None

    @field_validator("services")
    @classmethod
    def _service_names(cls, value: dict[str, Service]) -> dict[str, Service]:
        if not value:
            raise ValueError("declare at least one service")
        for name in value:
            if not re.match(NAME_RE, str(name)):
                raise ValueError(
                    f"service name '{name}' must be lowercase letters, digits, '-' or '_'"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_network(cls, data: Any) -> Any:
        if isinstance(data, dict):
            networks = data.get("networks")
            if networks is None or (isinstance(networks, dict) and "default" not in networks):
                data = dict(data)
                data["networks"] = {"default": {}, **(networks or {})}
        return data


def check_references(stack: Stack) -> None:
    """Cross-references a field validator cannot see; raises ReferenceProblem with a path."""
    for name, service in stack.services.items():
        for dep in service.depends_on:
            if dep not in stack.services:
                raise ReferenceProblem(
                    ("services", name, "depends_on", dep),
                    f"service '{name}' depends on '{dep}', which is not declared"
                    + did_you_mean(dep, stack.services),
                )
            if dep == name:
                raise ReferenceProblem(
                    ("services", name, "depends_on", dep),
                    f"service '{name}' depends on itself",
                )
        for index, network in enumerate(service.networks):
            if network not in stack.networks:
                raise ReferenceProblem(
                    ("services", name, "networks", index),
                    f"service '{name}' uses network '{network}', which is not declared "
                    "under top-level 'networks'" + did_you_mean(network, stack.networks),
                )
        for index, mount in enumerate(service.volumes):
            if mount.type == "volume" and mount.source not in stack.volumes:
                raise ReferenceProblem(
                    ("services", name, "volumes", index),
                    f"service '{name}' mounts volume '{mount.source}', which is not declared "
                    "under top-level 'volumes'" + did_you_mean(mount.source, stack.volumes),
                )
    if stack.migrations and stack.migrations.service not in stack.services:
        raise ReferenceProblem(
            ("migrations", "service"),
            f"migrations run against service '{stack.migrations.service}', which is not "
            "declared" + did_you_mean(stack.migrations.service, stack.services),
        )
    _check_host_ports(stack)


class ReferenceProblem(Exception):
    """A cross-reference error that knows which path of the document it is about."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _check_host_ports(stack: Stack) -> None:
    seen: dict[tuple[str, int, str], str] = {}
    for name, service in stack.services.items():
        for index, port in enumerate(service.ports):
            if not port.published:
                continue
            key = (port.host_ip, port.published, port.protocol)
            wildcard = ("0.0.0.0", port.published, port.protocol)
            clash = seen.get(key) or (seen.get(wildcard) if port.host_ip != "0.0.0.0" else None)
            if clash:
                raise ReferenceProblem(
                    ("services", name, "ports", index),
                    f"host port {port.host_ip}:{port.published}/{port.protocol} of service "
                    f"'{name}' is already published by service '{clash}'",
                )
            seen[key] = name


def did_you_mean(word: str, choices: Any) -> str:
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def service_image(project: str, name: str, service: Service) -> str:
    """The image a service runs: its `image`, or a project-local name for a build."""
    return service.image or f"{project}-{name}:local"
