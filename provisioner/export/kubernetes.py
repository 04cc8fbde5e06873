"""The stack as Kubernetes manifests (apps/v1, batch/v1, v1: in 1.20 and current releases).

One workload per service: a StatefulSet with volumeClaimTemplates when it owns named
volumes, a Deployment otherwise; a ClusterIP Service for every service (headless when
it has no port at all) plus a headless one per StatefulSet; readiness and startup
probes from the typed probes (liveness only when the stack asks); every value the
masking rules call secret in a Secret read through secretKeyRef, the rest in a
ConfigMap; depends_on as init containers running the same probes from the provisioner
image; migrations and seeds as a plain Job (no Helm hooks). Deterministic: objects
come sorted by kind and name, keys in a fixed order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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
    Probe,
    in_container_check,
    probe_password,
)
from provisioner.masking import mask_value
from provisioner.stackfile.loader import LoadedStack
from provisioner.stackfile.spec import ExecProbe, HttpProbe, Service, TcpProbe, service_image

STARTUP_PERIOD_S = 2
READINESS_PERIOD_S = 5
LIVENESS_PERIOD_S = 10
DEFAULT_VOLUME_SIZE = "1Gi"
CLAIM_SUBPATH = "data"
JOB_BACKOFF_LIMIT = 4
JOB_TTL_S = 600
# The user the provisioner image runs as (Dockerfile: USER 10001).
PROVISIONER_UID = 10001
_KIND_ORDER = ["ConfigMap", "Secret", "Service", "StatefulSet", "Deployment", "Job"]
_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "build": "IfNotPresent"}
LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"


def k8s_name(name: str) -> str:
    """A DNS-1123 name: stack names allow '_', Kubernetes names do not."""
    return name.replace("_", "-").lower()


def provisioner_image(loaded: LoadedStack, overrides: Mapping[str, str]) -> str:
    job = job_name(loaded.stack) if loaded.stack.migrations else "db-migrate"
    return overrides.get(job) or f"{loaded.stack.project}-{PROVISIONER_IMAGE_SUFFIX}"


def manifests(
    loaded: LoadedStack,
    *,
    namespace: str | None = None,
    image_overrides: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every object, sorted by kind (ConfigMap, Secret, Service, workloads, Job) and name."""
    overrides = dict(image_overrides or {})
    stack = loaded.stack
    objects: list[dict[str, Any]] = []
    job_env = _job_environment(loaded) if stack.migrations else None
    dependants = set(schema_dependants(stack))
    for name, service in stack.services.items():
        objects.extend(_service_objects(loaded, name, service, overrides, job_env, dependants))
    if stack.migrations is not None and job_env is not None:
        objects.extend(_job_objects(loaded, overrides, job_env))
    if namespace:
        for obj in objects:
            obj["metadata"]["namespace"] = namespace
    objects.sort(key=lambda o: (_KIND_ORDER.index(o["kind"]), o["metadata"]["name"]))
    return objects


# ---- per service ------------------------------------------------------------------------


def _labels(loaded: LoadedStack, app: str) -> dict[str, str]:
    return {
        LABEL_NAME: app,
        LABEL_PART_OF: loaded.stack.project,
        LABEL_MANAGED_BY: "provisioner",
    }


def _meta(loaded: LoadedStack, name: str, app: str) -> dict[str, Any]:
    return {"name": name, "labels": _labels(loaded, app)}


def container_ports(service: Service) -> list[int]:
    """Container ports a Service exposes: the published targets and the probe's port."""
    ports = {p.target for p in service.ports if p.protocol == "tcp"}
    probe_port = getattr(service.healthcheck, "port", None)
    if probe_port:
        ports.add(probe_port)
    return sorted(ports)


def secret_free_argv(argv: list[str], what: str, secrets: dict[str, str]) -> list[str]:
    """`argv` with every item the masking rules hide (the value after `--requirepass`, a
    `--password=x`) replaced by a `$(VAR)` reference the kubelet expands from a Secret;
    a literal `$(` is escaped as `$$(` so the kubelet leaves it alone."""
    masked = mask_value(what, list(argv))
    result = []
    for item, shown in zip(argv, masked, strict=True):
        if shown != item:
            variable = f"{what}_SECRET_{len(secrets) + 1}"
            secrets[variable] = item
            result.append(f"$({variable})")
        else:
            result.append(item.replace("$(", "$$("))
    return result


def _env_split(environment: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    plain = {k: v for k, v in environment.items() if not is_secret(k, v)}
    secret = {k: v for k, v in environment.items() if is_secret(k, v)}
    return plain, secret


def _secret_data(service: Service) -> dict[str, str]:
    _, secret = _env_split(service.environment)
    if service.healthcheck is not None and probe_password(service.healthcheck):
        secret[PROBE_PASSWORD_ENV] = probe_password(service.healthcheck) or ""
    return secret


def _service_objects(
    loaded: LoadedStack,
    name: str,
    service: Service,
    overrides: Mapping[str, str],
    job_env: dict[str, dict[str, str]] | None,
    dependants: set[str],
) -> list[dict[str, Any]]:
    app = k8s_name(name)
    objects: list[dict[str, Any]] = []
    container: dict[str, Any] = {
        "name": app,
        "image": overrides.get(name) or service_image(loaded.stack.project, name, service),
        "imagePullPolicy": _PULL[service.pull_policy],
    }
    argv_secrets: dict[str, str] = {}
    if service.entrypoint is not None:
        container["command"] = secret_free_argv(service.entrypoint, "ENTRYPOINT", argv_secrets)
    if service.command is not None:
        container["args"] = secret_free_argv(service.command, "COMMAND", argv_secrets)
    plain, _ = _env_split(service.environment)
    secret = {**_secret_data(service), **argv_secrets}
    env_from: list[dict[str, Any]] = []
    if plain:
        objects.append(_config_map(loaded, f"{app}-env", app, plain))
        env_from.append({"configMapRef": {"name": f"{app}-env"}})
    env = [_secret_env(key, f"{app}-secrets", key) for key in secret]
    if secret:
        objects.append(_secret(loaded, f"{app}-secrets", app, secret))
    if env:
        container["env"] = env
    if env_from:
        container["envFrom"] = env_from
    ports = container_ports(service)
    if ports:
        container["ports"] = [
            {"name": _port_name(p), "containerPort": p, "protocol": "TCP"} for p in ports
        ]
    claims = [m for m in service.volumes if m.type == "volume"]
    # A fresh block-storage claim holds `lost+found`, which makes images that insist on
    # an empty data folder (postgres' initdb) refuse to start: mount a subfolder.
    mounts = [
        {"name": k8s_name(m.source), "mountPath": m.target, "subPath": CLAIM_SUBPATH}
        | ({"readOnly": True} if m.read_only else {})
        for m in claims
    ]
    binds = [m for m in service.volumes if m.type == "bind"]
    mounts += [
        {"name": f"bind-{i}", "mountPath": m.target} | ({"readOnly": True} if m.read_only else {})
        for i, m in enumerate(binds)
    ]
    if mounts:
        container["volumeMounts"] = mounts
    if service.healthcheck is not None:
        container.update(_probes(service.healthcheck))
    if service.resources is not None:
        resources = _resources(service)
        if resources:
            container["resources"] = resources
    container["securityContext"] = _security_context(service)

    init = _init_containers(loaded, name, service, overrides)
    if job_env is not None and name in dependants:
        init.append(_schema_init_container(loaded, overrides, job_env))
    pod: dict[str, Any] = {}
    if init:
        pod["initContainers"] = init
    pod["containers"] = [container]
    pod["terminationGracePeriodSeconds"] = math.ceil(service.stop_grace_period)
    if binds:
        # A host folder does not exist on a cluster's nodes: an empty folder stands in
        # (the export prints a note), so the manifests still apply.
        pod["volumes"] = [{"name": f"bind-{i}", "emptyDir": {}} for i in range(len(binds))]
    # The stack's services do not talk to the Kubernetes API.
    pod["automountServiceAccountToken"] = False
    selector = {LABEL_NAME: app, LABEL_PART_OF: loaded.stack.project}
    template = {"metadata": {"labels": _labels(loaded, app)}, "spec": pod}

    service_ports = [
        {"name": _port_name(p), "port": p, "targetPort": p, "protocol": "TCP"} for p in ports
    ]
    objects.append(_k8s_service(loaded, app, app, selector, service_ports, headless=not ports))
    if claims:
        objects.append(
            _k8s_service(loaded, f"{app}-headless", app, selector, service_ports, headless=True)
        )
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": _meta(loaded, app, app),
                "spec": {
                    "serviceName": f"{app}-headless",
                    "replicas": 1,
                    "selector": {"matchLabels": selector},
                    "template": template,
                    "volumeClaimTemplates": [
                        _claim_template(loaded, m.source) for m in _unique_sources(claims)
                    ],
                },
            }
        )
    else:
        if service.hostname:
            pod["hostname"] = service.hostname
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta(loaded, app, app),
                "spec": {
                    "replicas": 1,
                    # One writer at a time, as with a local container: no surge pod.
                    "strategy": {"type": "Recreate"},
                    "selector": {"matchLabels": selector},
                    "template": template,
                },
            }
        )
    return objects


def _unique_sources(mounts: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for mount in mounts:
        seen.setdefault(mount.source, mount)
    return list(seen.values())


def _claim_template(loaded: LoadedStack, volume_name: str) -> dict[str, Any]:
    volume = loaded.stack.volumes[volume_name]
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": volume.size or DEFAULT_VOLUME_SIZE}},
    }
    if volume.storage_class:
        spec["storageClassName"] = volume.storage_class
    labels = dict(volume.labels)
    metadata: dict[str, Any] = {"name": k8s_name(volume_name)}
    if labels:
        metadata["labels"] = labels
    return {"metadata": metadata, "spec": spec}


def _k8s_service(
    loaded: LoadedStack,
    name: str,
    app: str,
    selector: dict[str, str],
    ports: list[dict[str, Any]],
    *,
    headless: bool,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "ClusterIP", "selector": selector}
    if headless:
        spec["clusterIP"] = "None"
        # The StatefulSet's stable DNS names exist before the pod is ready.
        spec["publishNotReadyAddresses"] = True
    if ports:
        spec["ports"] = ports
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(loaded, name, app),
        "spec": spec,
    }


def _port_name(port: int) -> str:
    return f"tcp-{port}"


def _config_map(loaded: LoadedStack, name: str, app: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(loaded, name, app),
        "data": dict(sorted(data.items())),
    }


def _secret(loaded: LoadedStack, name: str, app: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(loaded, name, app),
        "type": "Opaque",
        "stringData": dict(sorted(data.items())),
    }


def _secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _resources(service: Service) -> dict[str, Any]:
    assert service.resources is not None
    result: dict[str, Any] = {}
    for kind in ("requests", "limits"):
        amounts = getattr(service.resources, kind)
        values = {k: v for k, v in (("cpu", amounts.cpu), ("memory", amounts.memory)) if v}
        if values:
            result[kind] = values
    return result


def _security_context(service: Service) -> dict[str, Any]:
    """What the local stack sets (no-new-privileges), plus non-root when the stack names a
    numeric non-root user. Images such as postgres start as root and drop privileges
    themselves, so non-root is not forced on them."""
    context: dict[str, Any] = {"allowPrivilegeEscalation": False}
    user = (service.user or "").split(":")[0]
    if user.isdigit() and int(user) != 0:
        context["runAsNonRoot"] = True
        context["runAsUser"] = int(user)
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context


# ---- probes ------------------------------------------------------------------------------


def probe_handler(probe: Probe) -> dict[str, Any]:
    """The kubelet's handler meaning the same as the typed probe."""
    if isinstance(probe, TcpProbe):
        return {"tcpSocket": {"port": probe.port}}
    if isinstance(probe, HttpProbe) and probe.body is None and probe.status == 200:
        # The kubelet accepts any 2xx/3xx; other statuses and body checks take the exact
        # in-container form below.
        return {"httpGet": {"path": probe.path, "port": probe.port}}
    check = in_container_check(probe)
    if check.argv is not None:
        return {"exec": {"command": list(check.argv)}}
    return {"exec": {"command": ["sh", "-c", check.script]}}


def _probes(probe: Probe) -> dict[str, Any]:
    handler = probe_handler(probe)
    # As often as the compose healthcheck runs it: RabbitMQ's CLI is slow to start.
    period = max(STARTUP_PERIOD_S, in_container_check(probe).interval_s)
    probes: dict[str, Any] = {
        # The stack's whole wait: failureThreshold x periodSeconds covers its timeout.
        "startupProbe": {
            **handler,
            "periodSeconds": period,
            "timeoutSeconds": ATTEMPT_TIMEOUT_S,
            "failureThreshold": max(1, math.ceil(probe.timeout / period)),
        },
        "readinessProbe": {
            **handler,
            "periodSeconds": READINESS_PERIOD_S,
            "timeoutSeconds": ATTEMPT_TIMEOUT_S,
            "failureThreshold": 3,
        },
    }
    if probe.liveness:
        probes["livenessProbe"] = {
            **handler,
            "periodSeconds": LIVENESS_PERIOD_S,
            "timeoutSeconds": ATTEMPT_TIMEOUT_S,
            "failureThreshold": 3,
        }
    return probes


# ---- init containers -------------------------------------------------------------------


def wait_probe(dependency: Service, condition: str = "healthy") -> Probe | None:
    """What an init container checks for a dependency: for `healthy`, its own typed probe
    over the network; for an exec probe (which only runs inside that pod) and for
    `started`, a TCP connect to its Service, which answers once a pod is ready."""
    probe = dependency.healthcheck
    if condition == "healthy" and probe is not None and not isinstance(probe, ExecProbe):
        return probe
    ports = container_ports(dependency)
    if ports:
        timeout = probe.timeout if probe is not None else 120.0
        return TcpProbe(type="tcp", port=ports[0], timeout=timeout)
    return None


def _wait_container(
    loaded: LoadedStack, overrides: Mapping[str, str], dependency: str, condition: str = "healthy"
) -> dict[str, Any] | None:
    service = loaded.stack.services[dependency]
    probe = wait_probe(service, condition)
    if probe is None:
        return None
    fields = probe.model_dump(mode="json", exclude={"password", "liveness", "timeout"})
    container: dict[str, Any] = {
        "name": f"wait-for-{k8s_name(dependency)}",
        "image": provisioner_image(loaded, overrides),
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "python",
            "-m",
            "provisioner",
            "wait-for",
            k8s_name(dependency),
            json.dumps(fields, sort_keys=True, separators=(",", ":")),
            "--timeout",
            format_duration(probe.timeout),
        ],
    }
    if probe_password(probe):
        container["env"] = [
            _secret_env(PROBE_PASSWORD_ENV, f"{k8s_name(dependency)}-secrets", PROBE_PASSWORD_ENV)
        ]
    container["securityContext"] = _provisioner_security_context()
    return container


def _init_containers(
    loaded: LoadedStack, name: str, service: Service, overrides: Mapping[str, str]
) -> list[dict[str, Any]]:
    """`depends_on` in the stack's order. `healthy` waits with the dependency's probe;
    `started` has no readiness meaning, but the pod still waits for the dependency's
    port to accept connections, the nearest thing Kubernetes can observe."""
    result = []
    for dependency, spec in service.depends_on.items():
        container = _wait_container(loaded, overrides, dependency, spec.condition)
        if container is not None:
            result.append(container)
    return result


def _provisioner_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": PROVISIONER_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# ---- migrations and seeds ---------------------------------------------------------------


def _job_environment(loaded: LoadedStack) -> dict[str, dict[str, str]]:
    """The job's variables split into plain (ConfigMap) and secret (Secret)."""
    stack = loaded.stack
    assert stack.migrations is not None
    endpoint = database_endpoint(loaded)
    assert endpoint is not None
    values = {
        "DATABASE_URL": replace_url_host(
            stack.migrations.database_url, k8s_name(endpoint.service), endpoint.target
        )
    }
    if stack.seeds is not None:
        for key, value in stack.seeds.variables.items():
            values[f"{SEED_ENV_PREFIX}{key}"] = value
    plain, secret = _env_split(values)
    return {"plain": plain, "secret": secret}


def _bootstrap_container(
    loaded: LoadedStack, overrides: Mapping[str, str], job_env: dict[str, dict[str, str]], name: str
) -> dict[str, Any]:
    stack = loaded.stack
    assert stack.migrations is not None
    job = job_name(stack)
    database = stack.services[stack.migrations.service]
    wait = database.healthcheck.timeout if database.healthcheck else DEFAULT_DB_WAIT_S
    container: dict[str, Any] = {
        "name": name,
        "image": provisioner_image(loaded, overrides),
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "python",
            "-m",
            "provisioner",
            "bootstrap-db",
            "--migrations",
            f"/app/{stack.migrations.path.removeprefix('./').rstrip('/')}",
            *(
                ["--seeds", f"/app/{stack.seeds.path.removeprefix('./').rstrip('/')}"]
                if stack.seeds
                else []
            ),
            "--wait",
            format_duration(wait),
        ],
    }
    if job_env["secret"]:
        container["env"] = [_secret_env(k, f"{job}-secrets", k) for k in job_env["secret"]]
    if job_env["plain"]:
        container["envFrom"] = [{"configMapRef": {"name": f"{job}-env"}}]
    container["securityContext"] = _provisioner_security_context()
    return container


def _schema_init_container(
    loaded: LoadedStack, overrides: Mapping[str, str], job_env: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """For pods that need the schema: run the (idempotent, locked) bootstrap themselves,
    which returns at once when the Job has already done it."""
    return _bootstrap_container(loaded, overrides, job_env, "wait-for-schema")


def _job_objects(
    loaded: LoadedStack, overrides: Mapping[str, str], job_env: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    stack = loaded.stack
    assert stack.migrations is not None
    job = job_name(stack)
    objects: list[dict[str, Any]] = []
    if job_env["plain"]:
        objects.append(_config_map(loaded, f"{job}-env", job, job_env["plain"]))
    if job_env["secret"]:
        objects.append(_secret(loaded, f"{job}-secrets", job, job_env["secret"]))
    init = [c for c in [_wait_container(loaded, overrides, stack.migrations.service)] if c]
    pod: dict[str, Any] = {}
    if init:
        pod["initContainers"] = init
    pod["containers"] = [_bootstrap_container(loaded, overrides, job_env, job)]
    pod["automountServiceAccountToken"] = False
    pod["restartPolicy"] = "Never"  # failed pods stay for `kubectl logs`; backoffLimit retries
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta(loaded, job, job),
            "spec": {
                "backoffLimit": JOB_BACKOFF_LIMIT,
                "ttlSecondsAfterFinished": JOB_TTL_S,
                "template": {"metadata": {"labels": _labels(loaded, job)}, "spec": pod},
            },
        }
    )
    return objects


# ---- files and notes ----------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """No `&id001` anchors where two probes share a handler: each manifest reads alone."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def file_name(obj: dict[str, Any]) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def render_files(objects: list[dict[str, Any]], *, namespace: str | None = None) -> dict[str, str]:
    """One file per object plus kustomization.yaml listing them, in a fixed order."""
    files = {file_name(obj): dump(obj) for obj in objects}
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
    }
    if namespace:
        kustomization["namespace"] = namespace
    kustomization["resources"] = list(files)
    header = (
        "# Generated by `python -m provisioner export kubernetes`; apply with kubectl apply -k .\n"
    )
    files["kustomization.yaml"] = header + dump(kustomization)
    return files


def port_forward_notes(loaded: LoadedStack, *, namespace: str | None = None) -> str:
    """The `kubectl port-forward` commands that give the same localhost URLs as .env.local."""
    ns = f" -n {namespace}" if namespace else ""
    lines = ["# Same localhost URLs as .env.local (each command keeps running):"]
    for name, service in loaded.stack.services.items():
        pairs = [
            f"{p.published}:{p.target}"
            for p in service.ports
            if p.published and p.protocol == "tcp"
        ]
        if pairs:
            lines.append(f"kubectl{ns} port-forward service/{k8s_name(name)} {' '.join(pairs)} &")
    urls = [
        f"#   {key}={value}"
        for s in loaded.stack.services.values()
        for key, value in s.urls.items()
    ]
    if urls:
        lines.append("# then:")
        lines.extend(urls)
    return "\n".join(lines)


def export_notes(loaded: LoadedStack) -> list[str]:
    """What does not carry over to a cluster, one sentence each."""
    notes = []
    for name, service in loaded.stack.services.items():
        for mount in service.volumes:
            if mount.type == "bind":
                notes.append(
                    f"service '{name}': the bind mount {mount.source}:{mount.target} has no "
                    "equivalent on a cluster; an empty folder stands in (use a ConfigMap or "
                    "an image that contains the files)."
                )
        if service.build is not None and name:
            notes.append(
                f"service '{name}' is built locally: load its image into the cluster "
                f"(kind load docker-image {service_image(loaded.stack.project, name, service)}) "
                "or push it and pass --image."
            )
    return notes
