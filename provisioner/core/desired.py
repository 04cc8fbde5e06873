"""The desired state: each service resolved to the container it should be. Pure.

The resolved config is what we hash and store on the container as labels, so
later runs compare our own spec with our own spec, never with `docker inspect`
(whose image defaults would leak into the diff and recreate on every run).
Left out of the hash, as compose does: build, pull_policy, depends_on and the
health check (probes run from the provisioner, so changing one needs no
recreate). Put in: the content of bind-mounted files, so editing a mounted
config file recreates the service that reads it.

File contents reach this module only through an injected `ContentReader`, so the
core does no I/O of its own and tests give it whatever the files should hold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from provisioner.stackfile.graph import topological_order
from provisioner.stackfile.loader import LoadedStack
from provisioner.stackfile.spec import Build, Dependency, Service, service_image


class ContentReader(Protocol):
    """What the core may learn about files: resolved paths and content digests."""

    def resolve(self, path: Path) -> Path: ...

    def file_digest(self, path: Path) -> str | None: ...

    def folder_digest(
        self, folder: Path, salt: str, dockerfile: str = "Dockerfile"
    ) -> str | None: ...


@dataclass(frozen=True)
class BindSource:
    """A bind mount's source as written and as resolved on this machine."""

    written: str
    path: Path


@dataclass(frozen=True)
class DesiredService:
    name: str
    container_name: str
    image: str
    config: dict[str, Any]
    config_hash: str
    service: Service
    build_context: Path | None
    # Digest of the build context and settings: a change means the image is rebuilt.
    context_hash: str | None = None
    bind_sources: tuple[BindSource, ...] = ()
    depends_on: dict[str, Dependency] = field(default_factory=dict)

    @property
    def build(self) -> Build | None:
        return self.service.build


@dataclass(frozen=True)
class DesiredState:
    project: str
    services: dict[str, DesiredService]  # in dependency order
    networks: dict[str, str]  # stack name -> docker name
    volumes: dict[str, str]  # stack name -> docker name
    loaded: LoadedStack


def resource_name(project: str, name: str) -> str:
    return f"{project}_{name}"


def container_name(project: str, service: str) -> str:
    return f"{project}-{service}"


def resolve(loaded: LoadedStack, contents: ContentReader) -> DesiredState:
    stack = loaded.stack
    project = stack.project
    networks = {name: resource_name(project, name) for name in stack.networks}
    volumes = {name: resource_name(project, name) for name in stack.volumes}
    order = topological_order({n: set(s.depends_on) for n, s in stack.services.items()})
    services: dict[str, DesiredService] = {}
    for name in order:
        service = stack.services[name]
        config = container_config(
            project, name, service, loaded.project_dir, networks, volumes, contents
        )
        context = (
            contents.resolve(loaded.project_dir / service.build.context) if service.build else None
        )
        binds = tuple(
            BindSource(m.source, contents.resolve(loaded.project_dir / Path(m.source).expanduser()))
            for m in service.volumes
            if m.type == "bind"
        )
        services[name] = DesiredService(
            name=name,
            container_name=container_name(project, name),
            image=config["image"],
            config=config,
            config_hash=config_hash(config),
            service=service,
            build_context=context,
            context_hash=_context_hash(service.build, context, contents),
            bind_sources=binds,
            depends_on=dict(service.depends_on),
        )
    return DesiredState(project, services, networks, volumes, loaded)


def _context_hash(build: Build | None, context: Path | None, contents: ContentReader) -> str | None:
    if build is None or context is None:
        return None
    salt = repr((build.dockerfile, sorted(build.args.items())))
    return contents.folder_digest(context, salt, build.dockerfile)


def container_config(
    project: str,
    name: str,
    service: Service,
    project_dir: Path,
    networks: dict[str, str],
    volumes: dict[str, str],
    contents: ContentReader,
) -> dict[str, Any]:
    mounts = []
    for mount in service.volumes:
        if mount.type == "volume":
            source = volumes[mount.source]
            extra = ""
        else:
            path = contents.resolve(project_dir / Path(mount.source).expanduser())
            source = str(path)
            content = contents.file_digest(path)
            extra = f"@{content}" if content else ""
        mode = "ro" if mount.read_only else "rw"
        mounts.append(f"{mount.type}:{source}:{mount.target}:{mode}{extra}")
    ports = [f"{p.host_ip}:{p.published or ''}:{p.target}/{p.protocol}" for p in service.ports]
    return {
        "image": service_image(project, name, service),
        "command": service.command,
        "entrypoint": service.entrypoint,
        "environment": dict(sorted(service.environment.items())),
        "ports": sorted(ports),
        "volumes": sorted(mounts),
        "networks": sorted(networks[n] for n in service.networks),
        "hostname": service.hostname,
        "user": service.user,
        "restart": service.restart,
        "labels": dict(sorted(service.labels.items())),
        "stop_grace_period": service.stop_grace_period,
    }


def config_hash(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def config_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[FieldChange]:
    """Field-level differences: mappings per key (`environment.FOO`), the rest whole."""
    if old is None:
        return [FieldChange("(config)", None, "(unknown: container has no recorded config)")]
    changes: list[FieldChange] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            for sub in sorted(set(before) | set(after)):
                if before.get(sub) != after.get(sub):
                    changes.append(FieldChange(f"{key}.{sub}", before.get(sub), after.get(sub)))
        else:
            changes.append(FieldChange(key, before, after))
    return changes


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any
