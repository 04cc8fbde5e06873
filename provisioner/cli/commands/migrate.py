"""`migrate up|down|status|new`: the database schema by hand."""

from __future__ import annotations

import argparse
import time

from provisioner.cli.commands.common import load, stack_path
from provisioner.cli.lock import project_lock
from provisioner.cli.progress import Progress
from provisioner.cli.render import table
from provisioner.errors import SpecError


def run(args: argparse.Namespace) -> int:
    from provisioner.database import migrations as engine

    loaded = load(args)
    config = loaded.stack.migrations
    if config is None:
        raise SpecError(f"{loaded.files[0]}: no 'migrations' section is declared.")
    directory = stack_path(loaded, config.path)
    if args.migrate_command == "new":
        up, down = engine.new_migration(directory, args.name)
        print(f"Created {up}\nCreated {down}")
        return 0
    if args.migrate_command == "status":
        rows = [
            [f"{s.version:06d}", s.name, s.state, str(s.applied_at or "")]
            for s in engine.migration_status(config.database_url, directory)
        ]
        print(table(rows, ["VERSION", "NAME", "STATE", "APPLIED AT"]))
        return 0
    progress = Progress()
    from provisioner.cli.fastpath import forget

    forget(args)  # the database changes under the recorded no-op answer
    with project_lock(loaded.stack.project, f"migrate {args.migrate_command}", 300, progress):
        if args.migrate_command == "up":
            started = time.monotonic()
            report = engine.migrate_up(
                config.database_url, directory, to=args.to, accept_changed=args.accept_changed
            )
            for migration in report.applied:
                print(f"applied {migration.version:06d}_{migration.name}")
            print(
                f"{len(report.applied)} migration(s) applied in {time.monotonic() - started:.2f}s."
            )
        else:
            reverted = engine.migrate_down(config.database_url, directory, steps=args.steps)
            for migration in reverted:
                print(f"reverted {migration.version:06d}_{migration.name}")
            print(f"{len(reverted)} migration(s) reverted.")
    return 0
