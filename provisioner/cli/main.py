"""Command line: parse arguments, run a command, turn expected failures into one message.

Exit codes: 0 success (for `diff`: nothing would change), 2 `diff` found changes,
1 an expected failure (message on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from provisioner.errors import Interrupted, ProvisionerError
from provisioner.masking import mask_text


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
        help="run SERVICE from IMAGE (e.g. one pushed to the cluster's registry); repeatable",
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


def _seconds(text: str) -> float:
    from provisioner.stackfile.spec import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


_received: list[int] = []


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def _interrupted_status() -> int:
    """128 + the signal, as shells report it: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (docker stop, systemd, CI cancelling) and SIGHUP (terminal closed) take the
    # Ctrl-C path: threads drain, the lock is released, one message. An ignored signal
    # (nohup) stays ignored.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _stop_like_ctrl_c)
    try:
        return _run(argv)
    except KeyboardInterrupt:
        # Also a Ctrl-C during the fast path or the imports before a command runs.
        print("Interrupted.", file=sys.stderr)
        return _interrupted_status()


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.target == "kubernetes":
        return _run_kubernetes(args)
    if args.command in ("apply", "diff"):
        from provisioner.cli.fastpath import try_fast

        code = try_fast(args)
        if code is not None:
            return code
    from provisioner.cli import commands

    handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
    try:
        return int(handler(args) or 0)
    except ProvisionerError as exc:
        message = str(exc) if args.show_secrets else mask_text(str(exc))
        print(f"error: {message}", file=sys.stderr)
        return _interrupted_status() if isinstance(exc, Interrupted) else exc.exit_code
    except BrokenPipeError:
        return 0


def _run_kubernetes(args: argparse.Namespace) -> int:
    """The cluster path: lightkube is imported only here, never on the Docker path."""
    if args.command not in KUBE_COMMANDS:
        print(
            f"error: `{args.command}` does not take --target kubernetes; it acts on the local "
            f"stack only. On a cluster: {', '.join(KUBE_COMMANDS)}.",
            file=sys.stderr,
        )
        return 1
    try:
        from provisioner.kube import commands as kube_commands

        return int(getattr(kube_commands, f"cmd_{args.command}")(args) or 0)
    except ProvisionerError as exc:
        message = str(exc) if args.show_secrets else mask_text(str(exc))
        print(f"error: {message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
