"""The stack as a compose file that docker-compose 1.29 and the compose specification accept.

Image, port and secret values written with variables in stack.yaml stay variable
references (`${POSTGRES_PASSWORD:-dev_password}`), so the same file runs with other
images, ports and passwords; compose interpolates the same syntax the stack does.
Typed probes become in-container healthchecks (see probes.py), and migrations and
seeds run as a one-shot service from the provisioner image once the database is
healthy.
"""

from __future__ import annotations

from typing import Any

import yaml

from provisioner.export.common import (
    DEFAULT_DB_WAIT_S,
    PROVISIONER_IMAGE_SUFFIX,
    SEED_ENV_PREFIX,
    database_endpoint,
    format_duration,
    is_secret,
    job_name,
    replace_url_host,
    schema_dependants,
)
from provisioner.export.probes import (
    ATTEMPT_TIMEOUT_S,
    PROBE_PASSWORD_ENV,
    in_container_check,
    probe_password,
)
from provisioner.export.templates import (
    compose_text,
    escape,
    has_reference,
    raw_at,
    split_outside_braces,
    strict_references,
)
from provisioner.stackfile.loader import LoadedStack
from provisioner.stackfile.spec import Port, Service

NO_NEW_PRIVILEGES = "no-new-privileges:true"
_HEALTHY = {"started": "service_started", "healthy": "service_healthy"}


def compose_document(loaded: LoadedStack) -> dict[str, Any]:
    stack = loaded.stack
    services: dict[str, Any] = {}
    dependants = set(schema_dependants(stack))
    job = job_name(stack) if stack.migrations is not None else None
    for name, service in stack.services.items():
        entry = _service(loaded, name, service)
        if job is not None and name in dependants:
            entry.setdefault("depends_on", {})[job] = {
                "condition": "service_completed_successfully"
            }
        services[name] = entry
    if job is not None:
        services[job] = _migrate_job(loaded)
    document: dict[str, Any] = {"services": services}
    networks = _networks(loaded)
    if networks:
        document["networks"] = networks
    if stack.volumes:
        document["volumes"] = {
            name: ({"labels": dict(volume.labels)} if volume.labels else {})
            for name, volume in stack.volumes.items()
        }
    return document


def secret_variables(loaded: LoadedStack) -> list[str]:
    """The variables through which the compose file gets its secrets, for its header."""
    import re

    names: set[str] = set()
    for value in _walk_secret_templates(compose_document(loaded)):
        names.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", value))
    return sorted(names)


def render(loaded: LoadedStack, source: str = "stack.yaml") -> str:
    """The compose file as text, with a header saying where it comes from."""
    document = compose_document(loaded)
    variables = secret_variables(loaded)
    header = [
        f"# Generated from {source} by `python -m provisioner export compose`: edit {source}",
        "# and export again (a test fails when the two drift).",
        "#   docker-compose up -d      # or: make dev-up (the provisioner, same stack)",
        "# Images and ports are variables with the stack's defaults, e.g. for local stand-ins:",
        "#   docker-compose --env-file .ci/standin.env up -d",
    ]
    if variables:
        header += [
            "# Secrets are not written into this file: they stay variable references with the",
            "# stack's development defaults. To use others, set in the environment or .env:",
            "#   " + " ".join(variables),
        ]
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)
    return "\n".join(header) + "\n" + body


def _walk_secret_templates(document: dict[str, Any]) -> list[str]:
    found = []
    for service in document["services"].values():
        for key, value in service.get("environment", {}).items():
            if isinstance(value, str) and has_reference(value) and is_secret(key, value):
                found.append(value)
    return found


def _service(loaded: LoadedStack, name: str, service: Service) -> dict[str, Any]:
    at = ("services", name)
    entry: dict[str, Any] = {}
    if service.image is not None:
        entry["image"] = compose_text(loaded, service.image, *at, "image")
    if service.build is not None:
        build: dict[str, Any] = {"context": service.build.context}
        if service.build.dockerfile != "Dockerfile":
            build["dockerfile"] = service.build.dockerfile
        if service.build.args:
            build["args"] = {
                key: compose_text(loaded, value, *at, "build", "args", key)
                for key, value in service.build.args.items()
            }
        entry["build"] = build
    if service.pull_policy != "missing":
        entry["pull_policy"] = service.pull_policy
    for field in ("entrypoint", "command"):
        value = getattr(service, field)
        if value is not None:
            raw = raw_at(loaded, *at, field)
            entry[field] = (
                strict_references(raw) if has_reference(raw) else [escape(p) for p in value]
            )
    environment = {
        key: compose_text(loaded, value, *at, "environment", key)
        for key, value in service.environment.items()
    }
    if service.healthcheck is not None and in_container_check(service.healthcheck).needs_password:
        environment[PROBE_PASSWORD_ENV] = compose_text(
            loaded, probe_password(service.healthcheck) or "", *at, "healthcheck", "password"
        )
    if environment:
        entry["environment"] = environment
    if service.ports:
        entry["ports"] = [
            _port(loaded, port, *at, "ports", i) for i, port in enumerate(service.ports)
        ]
    if service.volumes:
        entry["volumes"] = [
            f"{m.source}:{m.target}" + (":ro" if m.read_only else "") for m in service.volumes
        ]
    if service.networks != ["default"]:
        entry["networks"] = list(service.networks)
    if service.depends_on:
        entry["depends_on"] = {
            dep: {"condition": _HEALTHY[d.condition]} for dep, d in service.depends_on.items()
        }
    if service.healthcheck is not None:
        entry["healthcheck"] = _healthcheck(service)
    if service.restart != "no":
        entry["restart"] = service.restart
    for field in ("hostname", "user"):
        value = getattr(service, field)
        if value is not None:
            entry[field] = compose_text(loaded, value, *at, field)
    if service.labels:
        entry["labels"] = {
            key: compose_text(loaded, value, *at, "labels", key)
            for key, value in service.labels.items()
        }
    if service.stop_grace_period != 10.0:
        entry["stop_grace_period"] = format_duration(service.stop_grace_period)
    entry["security_opt"] = [NO_NEW_PRIVILEGES]  # as `apply` creates every container
    return entry


def _healthcheck(service: Service) -> dict[str, Any]:
    probe = service.healthcheck
    assert probe is not None
    check = in_container_check(probe)
    test = ["CMD", *map(escape, check.argv)] if check.argv is not None else None
    if check.script is not None:
        test = ["CMD-SHELL", escape(check.script)]
    return {
        "test": test,
        "interval": format_duration(check.interval_s),
        "timeout": format_duration(ATTEMPT_TIMEOUT_S),
        "retries": 3,
        # Failures before this do not count, and the first success ends it: the stack's
        # whole wait for this service.
        "start_period": format_duration(probe.timeout),
    }


def _port(loaded: LoadedStack, port: Port, *path: Any) -> str:
    """'IP:PUBLISHED:TARGET[/udp]' with the published part as written (maybe a variable)."""
    published = str(port.published) if port.published else ""
    raw = raw_at(loaded, *path)
    if isinstance(raw, str) and has_reference(raw):
        parts = split_outside_braces(
            raw.split("/")[0] if "/" in raw.rsplit("}", 1)[-1] else raw, ":"
        )
        if len(parts) >= 2:
            published = strict_references(parts[-2])
    host_ip = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip
    suffix = "/udp" if port.protocol == "udp" else ""
    return f"{host_ip}:{published}:{port.target}{suffix}"


def _networks(loaded: LoadedStack) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, network in loaded.stack.networks.items():
        settings: dict[str, Any] = {}
        if network.driver != "bridge":
            settings["driver"] = network.driver
        if network.internal:
            settings["internal"] = True
        if name != "default" or settings:
            result[name] = settings
    return result


def _migrate_job(loaded: LoadedStack) -> dict[str, Any]:
    stack = loaded.stack
    migrations = stack.migrations
    assert migrations is not None
    endpoint = database_endpoint(loaded)
    assert endpoint is not None
    url = compose_text(loaded, migrations.database_url, "migrations", "database_url")
    environment = {"DATABASE_URL": replace_url_host(url, endpoint.service, endpoint.target)}
    if stack.seeds is not None:
        for key, value in stack.seeds.variables.items():
            environment[f"{SEED_ENV_PREFIX}{key}"] = compose_text(
                loaded, value, "seeds", "variables", key
            )
    database = stack.services[endpoint.service]
    wait = database.healthcheck.timeout if database.healthcheck else DEFAULT_DB_WAIT_S
    project = compose_text(loaded, stack.project, "project")
    return {
        "build": {
            "context": ".",
            "args": {"BASE_IMAGE": _python_image(loaded)},
        },
        "image": f"{project}-{PROVISIONER_IMAGE_SUFFIX}",
        "command": [
            "python",
            "-m",
            "provisioner",
            "bootstrap-db",
            "--migrations",
            f"/app/{_relative(migrations.path)}",
            *(["--seeds", f"/app/{_relative(stack.seeds.path)}"] if stack.seeds else []),
            "--wait",
            format_duration(wait),
        ],
        "environment": environment,
        "depends_on": {endpoint.service: {"condition": "service_healthy"}},
        "restart": "no",
        "security_opt": [NO_NEW_PRIVILEGES],
    }


def _python_image(loaded: LoadedStack) -> str:
    """The base image the stack builds Python services on, so the job runs on it too."""
    for name, service in loaded.stack.services.items():
        if service.build and "BASE_IMAGE" in service.build.args:
            return compose_text(
                loaded,
                service.build.args["BASE_IMAGE"],
                "services",
                name,
                "build",
                "args",
                "BASE_IMAGE",
            )
    return "${PYTHON_IMAGE:-python:3.11-slim}"


def _relative(path: str) -> str:
    return path.removeprefix("./").rstrip("/")
