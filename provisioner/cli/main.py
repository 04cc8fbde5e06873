"""Command line: parse arguments, run a command, turn expected failures into one message.

Exit codes: 0 success (for `diff`: nothing would change), 2 `diff` found changes,
1 an expected failure (message on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable

from provisioner.cli.parser import KUBE_COMMANDS, build_parser
from provisioner.errors import Interrupted, ProvisionerError
from provisioner.masking import mask_text

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
    args.debug = args.debug or os.environ.get("PROVISIONER_DEBUG", "") not in ("", "0")
    if args.target == "kubernetes":
        return _run_kubernetes(args)
    if args.command in ("apply", "diff"):
        from provisioner.cli.fastpath import try_fast

        code = try_fast(args)
        if code is not None:
            return code
    # Imported by name, not by an import statement: the fast path above must not load
    # the commands' heavy dependencies (pydantic, the Docker SDK, psycopg), and the
    # import-linter contract that guards it follows import statements.
    module = args.command.replace("-", "_")  # bootstrap-db, wait-for
    command = importlib.import_module(f"provisioner.cli.commands.{module}")
    return _reported(command.run, args)


def _run_kubernetes(args: argparse.Namespace) -> int:
    """The cluster path. Imported by name, like the commands: lightkube loads only here."""
    if args.command not in KUBE_COMMANDS:
        print(
            f"error: `{args.command}` does not take --target kubernetes; it acts on the local "
            f"stack only. On a cluster: {', '.join(KUBE_COMMANDS)}.",
            file=sys.stderr,
        )
        return 1
    commands = importlib.import_module("provisioner.cli.kube_commands")
    return _reported(getattr(commands, f"cmd_{args.command}"), args)


def _reported(handler: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command; an expected failure is one message on stderr and its exit status."""
    try:
        return int(handler(args) or 0)
    except ProvisionerError as exc:
        message = str(exc) if args.show_secrets else mask_text(str(exc))
        print(f"error: {message}", file=sys.stderr)
        if args.debug:
            _print_chain(exc)
        return _interrupted_status() if isinstance(exc, Interrupted) else exc.exit_code
    except BrokenPipeError:
        return 0


def _print_chain(exc: BaseException) -> None:
    """--debug: the error and every exception behind it, with tracebacks. Messages are
    raised `from None` for users; the chain is still on `__context__`, so walk it."""
    import traceback  # only here: it costs the fast path a few milliseconds

    print("\ndebug: the error and what caused it, outermost first:", file=sys.stderr)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        print("".join(traceback.format_exception(current, chain=False)), file=sys.stderr)
        current = current.__cause__ or current.__context__
