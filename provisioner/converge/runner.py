"""One dependency-ordered parallel runner for apply, destroy and image work.

Each step runs in its own thread as soon as what it needs is reached: another step
*started* (it called `mark_started`) or *done* (it finished without error). A failed
step stops only the steps that need it; the others go on. Ctrl-C (or SIGTERM/SIGHUP,
which the CLI turns into Ctrl-C) sets `cancelled`, lets the Docker call in progress
finish, waits for every thread, then raises Interrupted: the project lock is never
released while a thread still changes anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from provisioner.converge.signals import signals_deferred
from provisioner.errors import Interrupted, ProvisionerError

Need = Literal["started", "done"]


class DependencyFailed(ProvisionerError):
    """A step that did not run because a step it needs failed."""


@dataclass(frozen=True)
class Step:
    name: str
    needs: Mapping[str, Need] = field(default_factory=dict)


# work(name, mark_started): does the step; calls mark_started() once dependents that
# only need it started may go.
Work = Callable[[str, Callable[[], None]], None]


def run_steps(
    steps: Sequence[Step],
    work: Work,
    cancelled: threading.Event,
    on_interrupt: Callable[[], None] = lambda: None,
    command: str = "apply",
) -> dict[str, BaseException]:
    """Run every step; return the errors by step name (DependencyFailed for skipped ones)."""
    if not steps:
        return {}
    names = {s.name for s in steps}
    started = {s.name: threading.Event() for s in steps}
    finished = {s.name: threading.Event() for s in steps}
    errors: dict[str, BaseException] = {}
    really_started: set[str] = set()  # `started` is also set when a step ends early

    def mark(name: str) -> Callable[[], None]:
        def mark_started() -> None:
            really_started.add(name)
            started[name].set()

        return mark_started

    def wait_for(step: Step) -> None:
        for other, need in step.needs.items():
            if other not in names:
                continue  # not part of this run (a limited apply): assumed in place
            event = started[other] if need == "started" else finished[other]
            while not event.wait(0.05):
                if cancelled.is_set():
                    raise Interrupted(f"Stopped before '{step.name}'.")
            if other in errors and (need == "done" or other not in really_started):
                raise DependencyFailed(f"'{step.name}' was not started because '{other}' failed.")

    def run(step: Step) -> None:
        try:
            wait_for(step)
            if cancelled.is_set():
                raise Interrupted(f"Stopped before '{step.name}'.")
            work(step.name, mark(step.name))
        except BaseException as exc:
            errors[step.name] = exc
            raise
        finally:
            started[step.name].set()
            finished[step.name].set()

    pool = ThreadPoolExecutor(max_workers=len(steps))
    futures: list[Future[None]] = []
    try:
        # Submitting is inside the guard too: a Ctrl-C between two submits must still
        # wait for the threads already running, or they would act after we report.
        with signals_deferred():
            futures.extend(pool.submit(run, step) for step in steps)
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.2)
    except KeyboardInterrupt:
        cancelled.set()
        on_interrupt()
        _drain(pool)
        raise Interrupted(
            f"Interrupted. Nothing is left half-made: run `{command}` again to finish."
        ) from None
    pool.shutdown(wait=True)
    return {s.name: errors[s.name] for s in steps if s.name in errors}


def raise_first(
    errors: Mapping[str, BaseException], cancelled: threading.Event, command: str = "apply"
) -> None:
    """Raise the root causes; "not started because X failed" only when nothing else."""
    failures = list(errors.values())
    if not failures:
        return
    if cancelled.is_set():
        raise Interrupted(f"Interrupted. Run `{command}` again to finish.")
    primary = [e for e in failures if not isinstance(e, DependencyFailed)] or failures
    first = primary[0]
    if isinstance(first, ProvisionerError) and len(primary) > 1:
        raise type(first)("\n\n".join(str(e) for e in primary))
    raise first


def _drain(pool: ThreadPoolExecutor) -> None:
    """Wait for the worker threads to stop; a second Ctrl-C does not cut this short."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue
