"""The objects a stack should have in the cluster: the export, owned and made re-runnable. Pure.

The manifests come from `provisioner export kubernetes` (one generator for both); here
they gain the owner labels and the namespace, and the migrations Job gets a name derived
from its content: a Job's pod template cannot change, and a finished Job stays, so the
same content means "already ran" and new content (new migrations in a new provisioner
image, a new database URL) a new Job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from provisioner.kube.ownership import with_ownership
from provisioner.stackfile.loader import LoadedStack

# The labels the export may put on an object to say which stack service it belongs to.
SERVICE_LABELS = (
    "org.provisioner/service",
    "app.kubernetes.io/name",
    "app.kubernetes.io/component",
)
# Kinds a stack never owns even if an export emits them: the namespace is the user's.
_NOT_OWNED = frozenset({"Namespace", "Kustomization"})
_MAX_NAME = 63
CONFIG_HASH = "org.provisioner/config-hash"


def desired_objects(
    loaded: LoadedStack, namespace: str, image_overrides: Mapping[str, str]
) -> list[dict[str, Any]]:
    from provisioner.export.kubernetes import manifests

    project = loaded.stack.project
    exported = [
        obj
        for obj in manifests(loaded, namespace=namespace, image_overrides=image_overrides)
        if obj.get("kind") not in _NOT_OWNED
    ]
    result = []
    for obj in with_config_hashes(exported):
        owned = with_ownership(obj, project)
        owned["metadata"]["namespace"] = namespace
        if owned["kind"] == "Job":
            owned = content_named(owned)
        result.append(owned)
    return result


def with_config_hashes(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workloads whose pod template carries a digest of the ConfigMaps and Secrets it reads.

    Pods read environment from them once, at start: without the digest, changing a
    value in stack.yaml would update the ConfigMap and leave the pods running the old
    value. With it, exactly the workloads that read the changed data roll.
    """
    data = {
        (o["kind"], o["metadata"]["name"]): {k: o.get(k) for k in ("data", "stringData")}
        for o in objects
        if o["kind"] in ("ConfigMap", "Secret")
    }
    result = []
    for obj in objects:
        template = (obj.get("spec") or {}).get("template")
        if not isinstance(template, dict):
            result.append(obj)
            continue
        refs = sorted(_config_refs(template.get("spec") or {}))
        if not refs:
            result.append(obj)
            continue
        payload = json.dumps([[*ref, data.get(ref)] for ref in refs], sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
        metadata = dict(template.get("metadata") or {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}), CONFIG_HASH: digest}
        spec = {**obj["spec"], "template": {**template, "metadata": metadata}}
        result.append({**obj, "spec": spec})
    return result


def _config_refs(pod: dict[str, Any]) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                refs.add(("ConfigMap", source["configMapRef"]["name"]))
            if "secretRef" in source:
                refs.add(("Secret", source["secretRef"]["name"]))
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            if "configMapKeyRef" in value_from:
                refs.add(("ConfigMap", value_from["configMapKeyRef"]["name"]))
            if "secretKeyRef" in value_from:
                refs.add(("Secret", value_from["secretKeyRef"]["name"]))
    for volume in pod.get("volumes") or []:
        if "configMap" in volume:
            refs.add(("ConfigMap", volume["configMap"]["name"]))
        if "secret" in volume:
            refs.add(("Secret", volume["secret"]["secretName"]))
    return refs


def content_named(job: dict[str, Any]) -> dict[str, Any]:
    """The Job named `<name>-<8 hex of its spec>`, kept after it finishes.

    Its existence is the record that this content ran, so no TTL deletes it (current
    clusters honour ttlSecondsAfterFinished, 1.20 ignores it); apply prunes old ones.
    """
    spec = {k: v for k, v in (job.get("spec") or {}).items() if k != "ttlSecondsAfterFinished"}
    job = {**job, "spec": spec}
    digest = hashlib.sha256(
        json.dumps(job.get("spec"), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:8]
    base = job["metadata"]["name"][: _MAX_NAME - 9].rstrip("-")
    return {**job, "metadata": {**job["metadata"], "name": f"{base}-{digest}"}}


def service_of(obj: dict[str, Any], services: Mapping[str, Any] | None = None) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for label in SERVICE_LABELS:
        if labels.get(label):
            return str(labels[label])
    name = (obj.get("metadata") or {}).get("name")
    if services is not None and name in services:
        return str(name)
    return None
