"""The command line's shape: global options, commands and their flags. Stdlib only."""

from __future__ import annotations

import argparse
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provisioner",
        description="Converge the local Docker stack to stack.yaml.",
    )
    parser.add_argument(
        "-f",
        "--file",
        action="append",
        type=Path,
        dest="files",
        default=[],
        help="stack file; repeat to merge overrides in order (default stack.yaml)",
    )
    parser.add_argument(
        "--env-file",
        action="append",
        type=Path,
        dest="env_files",
        default=[],
        help="variables for ${VAR} (default .env beside the stack file); the "
        "process environment wins",
    )
    parser.add_argument("-p", "--project-name", help="override the stack's project name")
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print passwords and tokens instead of masking them",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="say why the no-op fast path was not taken, and show the exceptions behind an "
        "error (also PROVISIONER_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    apply = sub.add_parser("apply", help="converge Docker to the stack, migrate and seed")
    apply.add_argument("services", nargs="*", help="only these services (and their dependencies)")
    apply.add_argument("--skip-migrations", action="store_true")
    apply.add_argument("--skip-seeds", action="store_true")
    apply.add_argument(
        "--lock-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for another run on this project (default 300)",
    )

    diff = sub.add_parser("diff", help="show what apply would do; exit 0 none, 2 changes")
    diff.add_argument("services", nargs="*")
    diff.add_argument("--json", action="store_true", help="machine-readable plan")
    diff.add_argument("--destroy", action="store_true", help="show what destroy would do")
    diff.add_argument(
        "--volumes", action="store_true", help="with --destroy: as `destroy --volumes`"
    )

    destroy = sub.add_parser("destroy", help="remove the project's containers and network")
    destroy.add_argument(
        "--volumes", action="store_true", help="also delete the project's volumes (asks first)"
    )
    destroy.add_argument(
        "-y", "--yes", action="store_true", help="do not ask before deleting volumes"
    )
    destroy.add_argument("--lock-timeout", type=float, default=300.0)

    status = sub.add_parser("status", help="what runs, its health, ports and URLs")
    status.add_argument("--json", action="store_true")

    logs = sub.add_parser("logs", help="services' logs (all services when none is named)")
    logs.add_argument("services", nargs="*", metavar="SERVICE")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("--tail", type=int, default=100, metavar="N")

    env = sub.add_parser("env", help="write .env.local with the stack's connection URLs")
    env.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="file to write (default .env.local beside the stack file)",
    )

    sub.add_parser("config", help="print the resolved stack (after variables and overrides)")

    migrate = sub.add_parser("migrate", help="database migrations")
    msub = migrate.add_subparsers(dest="migrate_command", required=True, metavar="ACTION")
    up = msub.add_parser("up", help="apply pending migrations")
    up.add_argument("--to", type=int, metavar="VERSION")
    up.add_argument(
        "--accept-changed",
        type=int,
        nargs="+",
        default=[],
        metavar="VERSION",
        help="accept edited applied migrations (their new checksum is recorded)",
    )
    down = msub.add_parser("down", help="revert migrations with their .down.sql files")
    down.add_argument("--steps", type=int, default=1)
    msub.add_parser("status", help="applied, pending and changed migrations")
    new = msub.add_parser("new", help="create the next pair of migration files")
    new.add_argument("name")
    return parser
