"""Progress lines per service: timestamps on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from provisioner.masking import mask_text


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = quiet
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._last_wait_note: dict[str, float] = {}
        self.width = 16

    def _color(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.tty else text

    def service(self, name: str, message: str, *, ok: bool | None = None) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        label = name.ljust(self.width)
        if ok is True:
            message = self._color(message, "32")
        elif ok is False:
            message = self._color(message, "31")
        with self._lock:
            print(f"[{elapsed:6.1f}s] {label} {mask_text(message)}", file=self.stream, flush=True)

    def waiting(self, name: str, waited: float, last_error: str) -> None:
        """Called on every failed probe; prints at most every 5 s per service."""
        previous = self._last_wait_note.get(name, 0.0)
        if waited - previous >= 5.0:
            self._last_wait_note[name] = waited
            self.service(name, f"still waiting for health ({waited:.0f}s): {last_error}")

    def note(self, message: str) -> None:
        if not self.quiet:
            with self._lock:
                print(mask_text(message), file=self.stream, flush=True)
