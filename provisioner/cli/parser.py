"""The command line's shape: global options, commands and their flags. Stdlib only."""

from __future__ import annotations

import argparse
import re
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
    _target_options(parser)
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

    images = sub.add_parser(
        "images", help="images the stack needs and which are present; save/load a bundle"
    )
    image_actions = images.add_subparsers(dest="images_command", metavar="ACTION")
    save = image_actions.add_parser("save", help="write every image the stack needs to one file")
    save.add_argument("file", type=Path)
    load = image_actions.add_parser("load", help="check a bundle's checksums, then load its images")
    load.add_argument("file", type=Path)
    _export_parsers(sub)
    return parser


def _export_parsers(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export", help="write the stack as a compose file or Kubernetes manifests"
    )
    esub = export.add_subparsers(dest="export_target", required=True, metavar="TARGET")
    compose = esub.add_parser("compose", help="a docker-compose.yml (stdout unless -o)")
    compose.add_argument("-o", "--output", type=Path, default=None, metavar="FILE")
    kube = esub.add_parser("kubernetes", help="manifests and a kustomization.yaml in a folder")
    kube.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    kube.add_argument("-n", "--namespace", default=None, help="namespace for every object")
    kube.add_argument(
        "--image",
        action="append",
        metavar="SERVICE=IMAGE",
        help="run SERVICE from IMAGE (e.g. one pushed to the cluster's registry); "
        "db-migrate names the provisioner image; repeatable",
    )
    wait = sub.add_parser(
        "wait-for",
        help="poll a typed probe against HOST until healthy (Kubernetes init containers)",
    )
    wait.add_argument("host")
    wait.add_argument("probe", help='the probe as JSON, e.g. \'{"type": "redis", "port": 6379}\'')
    wait.add_argument("--timeout", type=_seconds, default=None, metavar="DURATION")
    boot = sub.add_parser(
        "bootstrap-db",
        help="wait for the database, run migrations and seeds, exit (the image's command)",
    )
    boot.add_argument(
        "--database-url", default=None, help="default: $DATABASE_URL, else the stack's"
    )
    boot.add_argument("--migrations", type=Path, default=None, metavar="DIR")
    boot.add_argument("--seeds", type=Path, default=None, metavar="DIR")
    boot.add_argument(
        "--wait",
        type=_seconds,
        default=120.0,
        metavar="DURATION",
        help="how long to wait for the database to answer (default 120s)",
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


KUBE_COMMANDS = ("apply", "diff", "destroy", "status")


def _target_options(parser: argparse.ArgumentParser) -> None:
    """Where apply, diff, destroy and status act: Docker (default) or a Kubernetes cluster."""
    group = parser.add_argument_group("target (named as kubectl names them)")
    group.add_argument(
        "--target",
        choices=("docker", "kubernetes"),
        default="docker",
        help="converge the local Docker engine (default) or a Kubernetes cluster",
    )
    group.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        metavar="FILE",
        help="kubeconfig (default: the first file in $KUBECONFIG, else ~/.kube/config)",
    )
    group.add_argument(
        "--context", default=None, metavar="NAME", help="kubeconfig context (default: current)"
    )
    group.add_argument(
        "--namespace",
        default=None,
        metavar="NS",
        help="namespace (default: the context's, else 'default'); created by apply if missing",
    )
    group.add_argument(
        "--registry",
        default=None,
        metavar="HOST[:PORT]",
        help="push the images the stack builds here; the cluster pulls them from it",
    )
    group.add_argument(
        "--load-images-with",
        default=None,
        metavar="CMD",
        help="load images into the cluster with `CMD IMAGE...` (e.g. 'kind load docker-image')",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long apply and destroy wait on the cluster (default 300)",
    )


def _seconds(text: str) -> float:
    """'500ms', '30s', '2m' or seconds, as in stack.yaml (here without pydantic, which
    the fast path must not load)."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as '30s' or '2m'")
    return float(match.group(1)) * _UNITS[match.group(2)]
