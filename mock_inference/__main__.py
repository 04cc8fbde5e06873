"""`python -m mock_inference [--host H] [--port P] [--workers N]`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys

from .config import Settings
from .cpus import parse_workers
from .listener import listen


def _workers(raw: str) -> int:
    try:
        return parse_workers(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mock_inference", description="Mock OpenAI-compatible inference server"
    )
    parser.add_argument("--host", default=os.environ.get("MOCK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=os.environ.get("MOCK_PORT", "8000"))
    parser.add_argument(
        "--workers",
        type=_workers,
        # A string default: argparse converts it, so a bad MOCK_WORKERS is a usage error.
        default=os.environ.get("MOCK_WORKERS", "").strip() or "1",
        help="worker processes, forked and supervised by this one; 'auto': one per CPU "
        "this process may use (cgroup quota and affinity), at most 8",
    )
    return parser.parse_args(argv)


# What a worker imports (module name, package to install); see requirements.txt.
_RUNTIME = (("sanic", "sanic"), ("orjson", "orjson"), ("httptools", "httptools"),
            ("yaml", "pyyaml"))  # fmt: skip


def missing_dependencies() -> list[str]:
    """Packages to install before the workers can start; found without importing them
    (the supervisor stays free of Sanic)."""
    missing = []
    for module, package in _RUNTIME:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(package)
    return missing


def _exit_cleanly(signum: int, frame: object) -> None:
    # Nothing serves yet, so there is nothing to drain; raising SystemExit here could
    # land inside an import and come out as a traceback.
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    # Until Sanic installs its own handlers, SIGTERM/SIGINT mean "stop now, cleanly".
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    args = parse_args(argv)
    missing = missing_dependencies()
    if missing:
        print(
            f"mock_inference: missing {', '.join(missing)}; install with "
            "`pip install 'provisioner[mock]'` or `pip install -r mock_inference/requirements.txt`",
            file=sys.stderr,
        )
        return 1
    try:
        settings = Settings.from_env().with_overrides(
            host=args.host, port=args.port, workers=args.workers
        )
        settings.check()
        if settings.reply_mode == "script" and settings.script_file:
            # Read once here so a broken file is one line, not a traceback per worker.
            from .scripts import load

            load(settings.script_file)
    except ValueError as exc:
        print(f"mock_inference: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        print(
            f"mock_inference: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    # Even one worker runs under the supervisor: it alone can repeat a SIGTERM that
    # Sanic dropped during start-up (see supervisor.py). It never imports Sanic.
    from .supervisor import run_workers

    return run_workers(settings, sock)


if __name__ == "__main__":
    sys.exit(main())
