"""The few cluster calls the commands make, on plain dicts, with failures as one paragraph.

Everything goes through lightkube's typed resources for the kinds the export produces;
callers see and return plain manifests (dicts), so the pure planning code never imports
lightkube.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lightkube import ApiError, codecs
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    Node,
    PersistentVolumeClaim,
    Pod,
    Secret,
    Service,
)

from provisioner.kube.connect import Target, api_failure, unreachable
from provisioner.kube.ownership import selector

KINDS: dict[str, Any] = {
    "ConfigMap": ConfigMap,
    "Secret": Secret,
    "PersistentVolumeClaim": PersistentVolumeClaim,
    "Service": Service,
    "StatefulSet": StatefulSet,
    "Deployment": Deployment,
    "Job": Job,
}
# Applied in this order (what pods mount and resolve first); deleted in reverse.
APPLY_ORDER = tuple(KINDS)
# What prune and destroy remove by label; claims only with --volumes.
OWNED_KINDS = ("Job", "Deployment", "StatefulSet", "Service", "ConfigMap", "Secret")


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def _call(target: Target, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ApiError as exc:
        raise api_failure(target, doing, exc) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore", "ssl")) or isinstance(
            exc, OSError
        ):
            raise unreachable(target, exc) from None
        raise


def get(target: Target, kind: str, name: str) -> dict[str, Any] | None:
    try:
        obj = target.client.get(KINDS[kind], name, namespace=target.namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise api_failure(target, f"read {kind} {name}", exc) from None
    except Exception as exc:
        if isinstance(exc, OSError) or type(exc).__module__.startswith(("httpx", "httpcore")):
            raise unreachable(target, exc) from None
        raise
    return _as_dict(obj, kind)


def list_owned(target: Target, kind: str, project: str) -> list[dict[str, Any]]:
    items = _call(
        target,
        f"list {kind}s",
        lambda: list(
            target.client.list(
                KINDS[kind], namespace=target.namespace, labels=dict(selector(project))
            )
        ),
    )
    return [_as_dict(item, kind) for item in items]


def list_pods(target: Target, labels: dict[str, str]) -> list[dict[str, Any]]:
    wanted: dict[str, Any] = dict(labels)
    items = _call(
        target,
        "list pods",
        lambda: list(target.client.list(Pod, namespace=target.namespace, labels=wanted)),
    )
    return [_as_dict(item, "Pod") for item in items]


def apply(target: Target, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
    resource = codecs.from_dict(obj)
    result = _call(
        target,
        f"apply {obj['kind']} {obj['metadata']['name']}",
        target.client.apply,
        resource,
        force=True,
        dry_run=dry_run,
    )
    return _as_dict(result, obj["kind"])


def delete(target: Target, kind: str, name: str) -> None:
    try:
        target.client.delete(KINDS[kind], name, namespace=target.namespace, cascade=_foreground())
    except ApiError as exc:
        if exc.status.code != 404:
            raise api_failure(target, f"delete {kind} {name}", exc) from None


def _foreground() -> Any:
    from lightkube.types import CascadeType

    return CascadeType.FOREGROUND


def ensure_namespace(target: Target) -> None:
    """Create the namespace when missing, as `helm --create-namespace` does; never delete it."""
    try:
        target.client.get(Namespace, target.namespace)
        return
    except ApiError as exc:
        if exc.status.code == 403:
            return  # no cluster-wide reads; the namespaced calls will say what is allowed
        if exc.status.code != 404:
            raise api_failure(target, "read the namespace", exc) from None
    namespace = codecs.from_dict(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target.namespace}}
    )
    _call(target, "create the namespace", target.client.create, namespace)


def node_images(target: Target) -> set[str] | None:
    """Every image name any node reports; None when nodes may not be listed."""
    try:
        nodes = list(target.client.list(Node))
    except ApiError:
        return None
    names: set[str] = set()
    for node in nodes:
        for image in (node.status.images if node.status else None) or []:
            names.update(image.names or [])
    return names


def pod_log_tail(target: Target, pod: str, lines: int = 20) -> str:
    try:
        return "".join(
            target.client.log(pod, namespace=target.namespace, tail_lines=lines)
        ).rstrip()
    except Exception:
        return "(no log available)"


def _as_dict(obj: Any, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    data.setdefault("kind", kind)
    return data


def owned_everything(target: Target, project: str) -> Iterator[dict[str, Any]]:
    for kind in OWNED_KINDS:
        yield from list_owned(target, kind, project)
