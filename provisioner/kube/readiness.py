"""Is a workload ready, and is a pod stuck in a way waiting will not fix? Pure.

Ready means what `kubectl rollout status` and `kubectl wait` mean: the controller saw
the latest spec, every replica runs it and passes its readiness probe; a Deployment is
Available; a claim is Bound; a Job has succeeded.
"""

from __future__ import annotations

from typing import Any

# Waiting reasons no amount of waiting fixes: fail at once, naming the image.
IMAGE_PROBLEMS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
)


def ready(obj: dict[str, Any]) -> tuple[bool, str]:
    """(ready?, a short state such as '0/1 ready' or 'Bound')."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    seen = status.get("observedGeneration", 0) >= generation
    if kind == "StatefulSet":
        want = spec.get("replicas", 1)
        have = status.get("readyReplicas", 0)
        rolled = status.get("updateRevision") in (None, status.get("currentRevision")) or (
            status.get("updatedReplicas", 0) == want
        )
        return (seen and rolled and have == want and status.get("replicas", 0) == want), (
            f"{have}/{want} ready"
        )
    if kind == "Deployment":
        want = spec.get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        available = status.get("availableReplicas", 0)
        done = (
            seen
            and updated == want
            and available == want
            and status.get("replicas", 0) == want
            and _condition(status, "Available")
        )
        return done, f"{available}/{want} available"
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase", "Pending")
        return phase == "Bound", phase
    if kind == "Job":
        if status.get("succeeded", 0) >= (spec.get("completions") or 1):
            return True, "complete"
        if job_failed(obj):
            return False, "failed"
        return False, "running" if status.get("active") else "pending"
    return True, "applied"


def job_failed(obj: dict[str, Any]) -> bool:
    return _condition(obj.get("status") or {}, "Failed")


def _condition(status: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or []
    )


def pod_problem(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when a container cannot get its image; None otherwise."""
    status = pod.get("status") or {}
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in IMAGE_PROBLEMS:
            return waiting["reason"], f"{container.get('image')}: {waiting.get('message', '')}"
    return None


def pod_note(pod: dict[str, Any]) -> str:
    """Why a pod is not ready yet, in a few words, for the live progress."""
    status = pod.get("status") or {}
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        state = container.get("state") or {}
        if "waiting" in state:
            reason = state["waiting"].get("reason", "waiting")
            restarts = container.get("restartCount", 0)
            more = f", {restarts} restarts" if restarts else ""
            return f"{container.get('name')}: {reason}{more}"
        if "running" in state and not container.get("ready"):
            return f"{container.get('name')}: running, not ready"
    return status.get("phase", "Pending")
