"""What applying would do to each object, and how to show it. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioner.kube.fielddiff import MISSING, FieldChange, field_changes
from provisioner.masking import mask_text

Action = Literal["create", "update", "unchanged", "delete"]
_SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class ObjectPlan:
    kind: str
    name: str
    service: str | None
    action: Action
    changes: tuple[FieldChange, ...] = field(default=())


def plan_object(
    desired: dict[str, Any], live: dict[str, Any] | None, after: dict[str, Any], service: str | None
) -> ObjectPlan:
    """`after` is the server's dry run of applying `desired` onto `live`."""
    kind, name = desired["kind"], desired["metadata"]["name"]
    if live is None:
        return ObjectPlan(kind, name, service, "create")
    changes = tuple(field_changes(live, after))
    return ObjectPlan(kind, name, service, "update" if changes else "unchanged", changes)


def removals(
    desired_keys: set[tuple[str, str]], owned: list[dict[str, Any]], service_of: Any
) -> list[ObjectPlan]:
    """Objects the stack owns that it no longer declares (a removed service, an old Job)."""
    return [
        ObjectPlan(o["kind"], o["metadata"]["name"], service_of(o), "delete")
        for o in owned
        if (o["kind"], o["metadata"]["name"]) not in desired_keys
    ]


def has_changes(plans: list[ObjectPlan]) -> bool:
    return any(p.action != "unchanged" for p in plans)


def _shown(value: Any, secret: bool, show: bool) -> str:
    if value is MISSING:
        return "(none)"
    if secret and not show:
        return "(secret)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if show else mask_text(text)


def _is_secret_field(plan: ObjectPlan, change: FieldChange) -> bool:
    return plan.kind == "Secret" and change.path.startswith(_SECRET_FIELDS)


def render_text(plans: list[ObjectPlan], namespace: str, project: str, show: bool) -> str:
    symbols = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}
    lines: list[str] = []
    for plan in plans:
        if plan.action == "unchanged":
            continue
        lines.append(f"{symbols[plan.action]} {plan.kind}/{plan.name} ({plan.action})")
        for change in plan.changes:
            secret = _is_secret_field(plan, change)
            lines.append(
                f"    {change.path}: {_shown(change.before, secret, show)} -> "
                f"{_shown(change.after, secret, show)}"
            )
    if not lines:
        return (
            f"No changes: project '{project}' in namespace '{namespace}' matches the stack "
            f"({len(plans)} object(s))."
        )
    counts = {a: sum(p.action == a for p in plans) for a in ("create", "update", "delete")}
    head = (
        f"Project '{project}' in namespace '{namespace}': {counts['create']} to create, "
        f"{counts['update']} to update, {counts['delete']} to delete."
    )
    return "\n".join([head, *lines])


def render_json(plans: list[ObjectPlan], namespace: str, project: str, show: bool) -> str:
    return json.dumps(
        {
            "project": project,
            "namespace": namespace,
            "changes": has_changes(plans),
            "objects": [
                {
                    "kind": p.kind,
                    "name": p.name,
                    "service": p.service,
                    "action": p.action,
                    "fields": [
                        {
                            "path": c.path,
                            "before": _shown(c.before, _is_secret_field(p, c), show),
                            "after": _shown(c.after, _is_secret_field(p, c), show),
                        }
                        for c in p.changes
                    ],
                }
                for p in plans
            ],
        },
        indent=2,
    )
