"""Run the app: one process for one worker, Sanic's worker manager for more."""

from __future__ import annotations

from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader
from sanic.worker.manager import WorkerManager

from .app import create_app
from .config import Settings
from .fastpath import FastPathProtocol


def _patch_early_shutdown() -> None:
    """Let SIGTERM during worker start-up stop the server at once.

    Two races in Sanic's manager when a container is stopped right after it
    started (seen in tests, 1 run in ~10):
    - it waits for every worker to acknowledge start-up before reading its
      shutdown message; workers it already terminated never acknowledge, so it
      waited 30 s and then SIGKILLed everything. "Shutting down" now counts as
      acknowledged.
    - SIGTERM between two worker starts terminated the first, then the second
      started anyway and the manager joined it forever. Before joining, any
      worker still alive after shutdown began is terminated.
    """
    if getattr(WorkerManager, "_mock_patched", False):
        return
    original_ack = WorkerManager._all_workers_ack
    original_join = WorkerManager.join

    def acked_or_stopping(self: WorkerManager) -> bool:
        return bool(getattr(self, "_shutting_down", False)) or original_ack(self)

    def join_after_stopping(self: WorkerManager) -> None:
        if getattr(self, "_shutting_down", False):
            for process in self.processes:
                if process.is_alive():
                    process.terminate()
        original_join(self)

    WorkerManager._all_workers_ack = acked_or_stopping  # type: ignore[method-assign]
    WorkerManager.join = join_after_stopping  # type: ignore[method-assign]
    WorkerManager._mock_patched = True  # type: ignore[attr-defined]


def run(settings: Settings) -> None:
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
        protocol=FastPathProtocol,
    )
    if single:
        Sanic.serve_single(primary=app)
    else:
        _patch_early_shutdown()
        Sanic.serve(primary=app, app_loader=loader)
