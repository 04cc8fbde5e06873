"""`diff`: what `apply` (or with --destroy, `destroy`) would do. Strictly read-only.

Exit 0 when nothing would change, 2 when something would (also when apply would
refuse: the reasons are listed), 1 on an error.
"""

from __future__ import annotations

import argparse
import json

from provisioner.cli.commands.common import desired_state, load, selected, stack_path
from provisioner.cli.render import destroy_text, plan_json, plan_text
from provisioner.converge.engine import Engine
from provisioner.core.desired import DesiredState
from provisioner.core.plan import Kind, Plan, plan
from provisioner.core.teardown import plan_destroy
from provisioner.engine import docker_api
from provisioner.engine.docker_engine import DockerEngine
from provisioner.errors import MigrationError
from provisioner.stackfile.loader import LoadedStack


def run(args: argparse.Namespace) -> int:
    loaded = load(args, [])
    desired = desired_state(loaded)
    engine = DockerEngine(docker_api.connect())
    if args.destroy:
        teardown = plan_destroy(desired, engine.observe(desired), args.volumes)
        if args.json:
            print(json.dumps(_destroy_json(teardown), indent=2))
        else:
            print(destroy_text(teardown))
        return 0 if teardown.empty else 2
    only = selected(loaded, args.services)
    code, text, as_json = diff_outputs(loaded, desired, engine, only, args.show_secrets)
    print(as_json if args.json else text)
    return code


def diff_outputs(
    loaded: LoadedStack, desired: DesiredState, engine: Engine, only: set[str] | None, show: bool
) -> tuple[int, str, str]:
    current = plan(desired, engine.observe(desired), only)
    pending = _pending(loaded, database_running=_database_running(current, loaded))
    code = 2 if current.has_changes or current.blockers or any(pending.values()) else 0
    return code, plan_text(current, show, pending), plan_json(current, show, pending)


def _database_running(current: Plan, loaded: LoadedStack) -> bool:
    migrations = loaded.stack.migrations
    if migrations is None:
        return False
    action = current.for_service(migrations.service)
    return action is not None and action.kind is Kind.UNCHANGED


def _pending(loaded: LoadedStack, database_running: bool) -> dict[str, list[str]]:
    """Pending migrations and seeds, when the database answers; read-only."""
    migrations = loaded.stack.migrations
    if migrations is None or not database_running:
        return {}
    from provisioner.database.migrations import migration_status
    from provisioner.database.seeds import pending_seeds

    try:
        statuses = migration_status(migrations.database_url, stack_path(loaded, migrations.path))
        result = {
            "migration": [f"{s.version:06d}_{s.name}" for s in statuses if s.state == "pending"]
        }
        if loaded.stack.seeds:
            result["seed"] = pending_seeds(
                migrations.database_url,
                stack_path(loaded, loaded.stack.seeds.path),
                variables=loaded.stack.seeds.variables,
            )
        return result
    except MigrationError:
        return {}


def _destroy_json(teardown: object) -> dict[str, object]:
    from provisioner.core.teardown import DestroyPlan

    assert isinstance(teardown, DestroyPlan)
    return {
        "project": teardown.project,
        "remove_containers": [
            {"name": r.container.name, "service": r.container.service, "after": sorted(r.after)}
            for r in teardown.removals
        ],
        "remove_networks": list(teardown.networks),
        "delete_volumes": list(teardown.volumes),
        "kept_volumes": list(teardown.kept_volumes),
    }
