"""The workers: N (default 1) single-process Sanic servers sharing one socket.

The main process binds the socket (listener.py), forks the workers (the pre-fork
model of gunicorn and uvicorn) and supervises them: SIGTERM/SIGINT are passed on
(held while a worker is forked, so one landing then is not lost), and repeated if a
worker dropped it; a worker that dies takes the others down; the
exit status says whether every worker stopped cleanly. It never imports Sanic, so a
stop during start-up is handled at once. Sanic's own worker manager is not used: it
raced on SIGTERM during and after start-up (about one stop in twenty exited 1 or hung).
"""

from __future__ import annotations

import multiprocessing
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .config import Settings
from .counters import shared_counters
from .peers import Peers

_STOP_GRACE = 10.0  # seconds a worker gets after SIGTERM before it is killed


@dataclass(slots=True)
class StopSchedule:
    """When to repeat a SIGTERM and when to kill, as a function of time since the stop.

    Sanic drops a SIGTERM that lands while a worker finishes start-up (its stop() is a
    no-op until the server is marked serving; ~1 stop in 40 here). A worker still
    alive `resend_after` seconds after the stop is told once more; one still alive
    after `kill_after` is killed. Pure, so it is tested with made-up clocks.
    """

    resend_after: float
    kill_after: float
    stopped_at: float | None = None
    resent: bool = False

    def due(self, now: float) -> Literal["wait", "resend", "kill"]:
        if self.stopped_at is None:
            self.stopped_at = now
            return "wait"
        waited = now - self.stopped_at
        if not self.resent and waited > self.resend_after:
            self.resent = True
            return "resend"
        if waited > self.kill_after:
            return "kill"
        return "wait"


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def worker_signals() -> None:
    """A fresh worker's signal handling until Sanic installs its own."""
    # Ctrl-C reaches the whole process group; the supervisor turns it into SIGTERM,
    # so a worker still importing must not die of it with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Forked with the stop signals held (_start); a SIGTERM already sent lands now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _run_worker(target: Callable[..., None], *args: Any) -> None:
    """Every worker's first step: its own signal handling, then the worker itself."""
    worker_signals()
    target(*args)


def serve_worker(
    settings: Settings, sock: socket.socket, counters: Any, peers: Peers | None
) -> None:
    from .server import serve  # the web stack is imported in workers only

    serve(settings, sock, counters, peers)


def _start(worker: multiprocessing.process.BaseProcess) -> None:
    """Fork one worker with SIGTERM/SIGINT held. A stop arriving while the worker is
    forked waits until start() returns and the worker's pid is known, so the stop
    reaches it; otherwise only the repeated SIGTERM would, a second later."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        worker.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def run_workers(
    settings: Settings, sock: socket.socket, target: Callable[..., None] | None = None
) -> int:
    """Serve until stopped; the exit status. `target` replaces the worker in tests."""
    # fork, not spawn: this process holds no threads and no Sanic, so a fork is a clean
    # start; it also needs no resource-tracker process (~30 MiB) and passes the socket
    # and the shared counters by inheritance.
    ctx = multiprocessing.get_context("fork")
    counters = shared_counters()  # "fail the first N" counts once for all workers
    n = settings.workers
    # With several workers, a private folder for their sockets (peers.py): metrics and
    # stored Responses are asked for there.
    folder = tempfile.mkdtemp(prefix="mock_inference-") if n > 1 else None
    workers = [
        ctx.Process(
            target=_run_worker,
            args=(
                target or serve_worker,
                settings,
                sock,
                counters,
                Peers(folder, i, n) if folder else None,
            ),
            name=f"mock-worker-{i}",
        )
        for i in range(n)
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        # Never runs in a worker: they are forked with the stop signals held and
        # replace this handler before taking them (worker_signals).
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        if stopping:
            break
        _start(worker)
    sock.close()  # the workers hold it now
    print(f"mock_inference: {len(workers)} workers on {settings.host}:{settings.port}", flush=True)

    failed: list[str] = []
    schedule = StopSchedule(settings.graceful_shutdown_seconds + 1.0, _STOP_GRACE)
    while any(w.pid is not None and w.is_alive() for w in workers):
        if not stopping:
            dead = [w for w in workers if w.pid is not None and not w.is_alive()]
            # A stop handled while looking (the handler runs between any two lines)
            # explains those exits: they are not failures.
            if dead and not stopping:
                failed += [f"{w.name} exited with status {w.exitcode}" for w in dead]
            if failed:
                print(f"mock_inference: {'; '.join(failed)}; stopping the others", file=sys.stderr)
                stop(signal.SIGTERM, None)
            time.sleep(0.05)
            continue
        due = schedule.due(time.monotonic())
        if due == "resend":
            alive = [w.name for w in workers if w.pid is not None and w.is_alive()]
            print(
                f"mock_inference: {', '.join(alive)} still running; repeating SIGTERM",
                file=sys.stderr,
                flush=True,
            )
            stop(signal.SIGTERM, None)
        elif due == "kill":
            for worker in workers:
                if worker.pid is not None and worker.is_alive():
                    print(
                        f"mock_inference: {worker.name} did not stop; killing it", file=sys.stderr
                    )
                    worker.kill()
                    worker.join()
                    failed.append(f"{worker.name} killed")
        time.sleep(0.05)
    for worker in workers:
        if worker.pid is None:
            continue
        worker.join()
        if worker.exitcode not in (0, -signal.SIGTERM) and not failed:
            failed.append(f"{worker.name} exited with status {worker.exitcode}")
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0
