"""One run at a time per project: an exclusive flock on a per-project file.

The engine is per host, so a host-wide lock file is the right scope. The lock
dies with the process (even on SIGKILL), so a crashed run never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioner.cli.progress import Progress
from provisioner.errors import LockedError


def lock_path(project: str) -> Path:
    base = Path(
        os.environ.get("PROVISIONER_LOCK_DIR") or Path(tempfile.gettempdir()) / "provisioner-locks"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base / f"{project}.lock"


@contextmanager
def project_lock(project: str, command: str, timeout: float, progress: Progress) -> Iterator[None]:
    path = lock_path(project)
    handle = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
    try:
        started = time.monotonic()
        deadline = started + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # The holder writes its pid just after taking the lock: an empty file
                # for a moment means it is about to, so name it once it has.
                written = path.read_text().strip()
                holder = written or "another run"
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"Project '{project}' is busy: {holder} holds {path}. Wait for it to "
                        "finish (or pass --lock-timeout SECONDS to wait longer)."
                    ) from None
                if not announced and (written or time.monotonic() - started > 1.0):
                    progress.note(f"Waiting for {holder} on project '{project}' to finish...")
                    announced = True
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({command})")
        handle.flush()
        yield
    finally:
        handle.close()


@contextmanager
def unless_busy(project: str) -> Iterator[bool]:
    """A shared hold on the project's lock while it is free: True inside when held.

    Read-only shortcuts (the no-op fast path) use it so they never answer while another
    run is changing the project, and no run starts changing it while they read.
    """
    path = lock_path(project)
    handle = open(path, "a+")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()
