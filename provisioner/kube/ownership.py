"""The labels that mark what a stack owns in a namespace. Pure.

Every object the provisioner applies carries the managed-by label and its project's
label; list, prune and destroy select on both, so objects without them (someone
else's, or another stack's in the same namespace) are never read as ours.
"""

from __future__ import annotations

import copy
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "provisioner"
PROJECT = "org.provisioner/project"


def owner_labels(project: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, PROJECT: project}


def selector(project: str) -> dict[str, str]:
    """The label selector (as lightkube takes it) for everything one stack owns."""
    return owner_labels(project)


def with_ownership(obj: dict[str, Any], project: str) -> dict[str, Any]:
    """A copy of `obj` with the owner labels on it, its pod template and claim templates.

    Claim templates carry them so the PersistentVolumeClaims a StatefulSet creates are
    found (and kept, or deleted with --volumes) by label like everything else.
    """
    result = copy.deepcopy(obj)
    labels = owner_labels(project)
    _merge_labels(result.setdefault("metadata", {}), labels)
    spec = result.get("spec") or {}
    template = spec.get("template")
    if isinstance(template, dict):
        _merge_labels(template.setdefault("metadata", {}), labels)
    for claim in spec.get("volumeClaimTemplates") or []:
        _merge_labels(claim.setdefault("metadata", {}), labels)
    return result


def _merge_labels(metadata: dict[str, Any], labels: dict[str, str]) -> None:
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}


def is_owned(obj: dict[str, Any], project: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY) == MANAGER and labels.get(PROJECT) == project
