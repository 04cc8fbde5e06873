"""Plans and status as text (like `terraform plan`) or JSON. Pure; secrets masked."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from provisioner.core.desired import FieldChange
from provisioner.core.plan import ADOPTED, SYMBOLS, Kind, Plan
from provisioner.core.teardown import DestroyPlan
from provisioner.masking import mask_value


def _value(change: FieldChange, value: Any, show: bool) -> str:
    key = change.path.rsplit(".", 1)[-1]
    if value is None:
        return "(none)"
    return json.dumps(mask_value(key, value, show))


def plan_text(
    plan: Plan,
    show_secrets: bool = False,
    pending: dict[str, list[str]] | None = None,
) -> str:
    lines: list[str] = []
    for action in plan.actions:
        if action.kind is Kind.UNCHANGED and not (action.image.build or action.image.pull):
            continue
        symbol = SYMBOLS[action.kind] if action.kind is not Kind.UNCHANGED else "~"
        what = action.kind.value if action.kind is not Kind.UNCHANGED else "update image"
        lines.append(f"  {symbol:>3} {action.service}  ({what}: {action.reason})")
        if action.image.build:
            lines.append(f"        build image ({action.image.reason})")
        if action.image.pull:
            lines.append(f"        pull image ({action.image.reason})")
        for change in action.changes:
            lines.append(
                f"        ~ {change.path}: {_value(change, change.old, show_secrets)}"
                f" -> {_value(change, change.new, show_secrets)}"
            )
    for network in plan.create_networks:
        lines.append(f"  {'+':>3} network {network}")
    for volume in plan.create_volumes:
        lines.append(f"  {'+':>3} volume {volume}")
    for volume in plan.adopted_volumes:
        lines.append(f"  {'!':>3} volume {volume}: {ADOPTED}")
    for kind, names in (pending or {}).items():
        for name in names:
            lines.append(f"  {'+':>3} {kind} {name}")
    for conflict in plan.conflicts:
        lines.append(
            f"  {'!':>3} {conflict.name}: exists, belongs to {conflict.owner} "
            "(left alone; apply will refuse)"
        )
    for problem in plan.problems:
        lines.append(f"  {'!':>3} {problem}")
    counts = Counter(a.kind for a in plan.actions)
    summary = ", ".join(
        f"{counts[k]} to {k.value}"
        for k in (Kind.CREATE, Kind.RECREATE, Kind.START, Kind.REMOVE)
        if counts[k]
    )
    unchanged = counts[Kind.UNCHANGED]
    pending_count = sum(len(v) for v in (pending or {}).values())
    if not plan.has_changes and not pending_count and not plan.blockers:
        notes = "".join(f"\n  {'!':>3} volume {v}: {ADOPTED}" for v in plan.adopted_volumes)
        return (
            f"No changes. Project '{plan.project}' matches the stack file "
            f"({unchanged} service(s) up to date).{notes}"
        )
    extra = f", {pending_count} migration/seed file(s) pending" if pending_count else ""
    head = f"Project '{plan.project}': apply would perform these actions:\n"
    refusal = (
        f"\napply would refuse and change nothing: {len(plan.blockers)} problem(s) marked !."
        if plan.blockers
        else ""
    )
    return (
        head + "\n".join(lines) + f"\n\nPlan: {summary or 'no container changes'}, "
        f"{unchanged} unchanged{extra}.{refusal}"
    )


def destroy_text(teardown: DestroyPlan) -> str:
    """The destroy plan, in the order it runs: dependents before what they depend on."""
    if teardown.empty:
        kept = (
            f" Volumes kept: {', '.join(teardown.kept_volumes)}." if teardown.kept_volumes else ""
        )
        return f"Nothing to destroy for project '{teardown.project}'.{kept}"
    lines = [f"Project '{teardown.project}': destroy would perform these actions:"]
    for removal in teardown.removals:
        after = f" (after {', '.join(sorted(removal.after))})" if removal.after else ""
        lines.append(f"  {'-':>3} container {removal.container.name}{after}")
    lines.extend(f"  {'-':>3} network {n}" for n in teardown.networks)
    lines.extend(f"  {'-':>3} volume {v} (and all data in it)" for v in teardown.volumes)
    lines.extend(
        f"      volume {v} is kept (use --volumes to delete it)" for v in teardown.kept_volumes
    )
    return "\n".join(lines)


def plan_json(
    plan: Plan, show_secrets: bool = False, pending: dict[str, list[str]] | None = None
) -> str:
    def change(c: FieldChange) -> dict[str, Any]:
        key = c.path.rsplit(".", 1)[-1]
        return {
            "path": c.path,
            "old": mask_value(key, c.old, show_secrets),
            "new": mask_value(key, c.new, show_secrets),
        }

    data = {
        "project": plan.project,
        "changes": plan.has_changes or any(pending.values() if pending else ()),
        "actions": [
            {
                "service": a.service,
                "action": a.kind.value,
                "reason": a.reason,
                "container": a.container.name if a.container else None,
                "changes": [change(c) for c in a.changes],
                "image": {"build": a.image.build, "pull": a.image.pull, "reason": a.image.reason},
            }
            for a in plan.actions
        ],
        "create_networks": list(plan.create_networks),
        "create_volumes": list(plan.create_volumes),
        "adopted_volumes": list(plan.adopted_volumes),
        "conflicts": [{"name": c.name, "owner": c.owner} for c in plan.conflicts],
        "problems": list(plan.problems),
        "pending": pending or {},
    }
    return json.dumps(data, indent=2)


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])
