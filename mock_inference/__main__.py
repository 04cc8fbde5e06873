"""`python -m mock_inference [--host H] [--port P] [--workers N]`."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from .app import create_app
from .config import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mock_inference", description="Mock OpenAI-compatible inference server"
    )
    parser.add_argument("--host", default=os.environ.get("MOCK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MOCK_PORT", "8000")))
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("MOCK_WORKERS", "1")),
        help="worker processes; 1 runs in a single process",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env().with_overrides(
            host=args.host, port=args.port, workers=args.workers
        )
        settings.check()
    except ValueError as exc:
        print(f"mock_inference: configuration error: {exc}", file=sys.stderr)
        return 2
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    single = settings.workers == 1
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        single_process=single,
        access_log=False,
        motd=False,
    )
    if single:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
