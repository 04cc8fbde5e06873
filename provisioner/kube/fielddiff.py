"""Field-by-field differences between a live object and what applying would make it. Pure.

Both sides come from the API server (the live object and a server-side dry run of the
apply), so defaults the server fills in appear on both and never show as changes; only
bookkeeping the server rewrites on every write is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Rewritten by the server on every write, or pure bookkeeping: never a change of ours.
_VOLATILE_METADATA = frozenset(
    {
        "resourceVersion",
        "generation",
        "uid",
        "creationTimestamp",
        "managedFields",
        "selfLink",
    }
)
_VOLATILE_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
    }
)
# List items keyed by these fields are matched by key, not position (containers, env,
# ports, volumes...), so a path reads `containers[name=app].env[name=MODE].value`.
_LIST_KEYS = ("name", "mountPath", "containerPort", "port")


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and the server's bookkeeping."""
    result = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if k not in _VOLATILE_ANNOTATIONS
    }
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    result["metadata"] = metadata
    return result


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    _walk(comparable(before), comparable(after), "", changes)
    return changes


def _walk(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            _walk(before.get(key, MISSING), after.get(key, MISSING), child, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        key = _list_key(before, after)
        if key is None:
            if all(not isinstance(x, dict | list) for x in before + after):
                if before != after:  # a list of scalars (args, command) is one value
                    out.append(FieldChange(path, before, after))
                return
            for index in range(max(len(before), len(after))):
                left = before[index] if index < len(before) else MISSING
                right = after[index] if index < len(after) else MISSING
                _walk(left, right, f"{path}[{index}]", out)
            return
        left_items = {item[key]: item for item in before}
        right_items = {item[key]: item for item in after}
        for name in list(left_items) + [n for n in right_items if n not in left_items]:
            _walk(
                left_items.get(name, MISSING),
                right_items.get(name, MISSING),
                f"{path}[{key}={name}]",
                out,
            )
        return
    if before != after:
        out.append(FieldChange(path, before, after))


def _list_key(before: list[Any], after: list[Any]) -> str | None:
    items = before + after
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _LIST_KEYS:
        if any(item.get(key) is None for item in items):
            continue
        left = [_hashable(item[key]) for item in before]
        right = [_hashable(item[key]) for item in after]
        if len(set(left)) == len(left) and len(set(right)) == len(right):
            return key
    return None


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else repr(value)
