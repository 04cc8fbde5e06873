"""A live view of apply/destroy on a terminal, in the spirit of `docker compose up`:
one line per service with a spinner, its state and elapsed time, redrawn in place.

`progress_for` picks it only when stdout and stderr are terminals and CI is not set;
otherwise the plain line-per-event `Progress`. `rich` is imported only here, and only
then, so neither the no-op fast path nor piped runs pay for it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from provisioner.cli.progress import Progress
from provisioner.core.desired import DesiredState
from provisioner.core.probe_words import in_words
from provisioner.masking import mask_text

SLOW_WAIT_S = 5.0  # the probe's last error shows only once a wait takes this long


def wants_live_view() -> bool:
    return (
        sys.stdout.isatty()
        and sys.stderr.isatty()
        and not os.environ.get("CI")
        and os.environ.get("TERM", "") not in ("", "dumb")
    )


def live_or_plain(desired: DesiredState, command: str) -> Progress:
    """The live view on a terminal, plain lines otherwise. Use as a context manager."""
    types = {n: getattr(s.service.healthcheck, "type", None) for n, s in desired.services.items()}
    return progress_for(types, command)


def cli_prefix(args: argparse.Namespace) -> list[str]:
    """The global options this run was given, to repeat in suggested commands."""
    prefix = [arg for path in args.files for arg in ("-f", str(path))]
    prefix += [arg for path in args.env_files for arg in ("--env-file", str(path))]
    return prefix + (["-p", args.project_name] if args.project_name else [])


def progress_for(probe_types: dict[str, str | None], command: str) -> Progress:
    """The live view on a terminal, plain lines otherwise. Use as a context manager."""
    if wants_live_view():
        return LiveProgress(probe_types, command)
    return Progress()


@dataclass
class _Row:
    started: float
    state: str
    done: bool = False
    ok: bool | None = None
    ended: float | None = None
    slow_note: str = ""
    order: int = 0


class LiveProgress(Progress):
    def __init__(self, probe_types: dict[str, str | None], command: str) -> None:
        super().__init__(sys.stderr)
        from rich.console import Console
        from rich.live import Live

        self.probe_types = probe_types
        self.command = command
        self.rows: dict[str, _Row] = {}
        self._rows_lock = threading.Lock()
        self.console = Console(file=sys.stderr, highlight=False)
        self.live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=8,
            redirect_stdout=False,
            redirect_stderr=False,
            transient=False,
        )
        self._closed = False
        self.live.start()

    # ---- the Progress interface, called from the worker threads ----

    def service(self, name: str, message: str, *, ok: bool | None = None) -> None:
        now = time.monotonic()
        with self._rows_lock:
            row = self.rows.get(name)
            if row is None or (row.done and ok is None):  # a new phase (e.g. pull, then start)
                row = self.rows[name] = _Row(
                    now, "", order=len(self.rows) if row is None else row.order
                )
            row.state = mask_text(message)
            if ok is not None:
                row.done, row.ok, row.ended = True, ok, now
            elif not message.startswith("still waiting"):
                row.slow_note = ""

    def waiting(self, name: str, waited: float, last_error: str) -> None:
        if waited < SLOW_WAIT_S:
            return
        words = in_words(self.probe_types.get(name), last_error)
        with self._rows_lock:
            row = self.rows.get(name)
            if row is not None and not row.done:
                row.slow_note = mask_text(words)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(mask_text(message), markup=False, highlight=False)

    # ---- lifetime ----

    def close(self, failed: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        now = time.monotonic()
        with self._rows_lock:
            for row in self.rows.values():
                if not row.done:
                    row.done, row.ended = True, now
                    row.ok = None if failed else True
        self.live.refresh()
        self.live.stop()

    # ---- drawing ----

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        with self._rows_lock:
            rows = sorted(self.rows.items(), key=lambda item: item[1].order)
            finished = sum(1 for _, r in rows if r.done and r.ok)
            for name, row in rows:
                if not row.done:
                    mark: Any = Spinner("dots", style="cyan")
                elif row.ok:
                    mark = Text("✔", style="green")
                elif row.ok is False:
                    mark = Text("✘", style="red")
                else:
                    mark = Text("-", style="yellow")
                state = Text(row.state, style="red" if row.ok is False else "")
                if row.slow_note and not row.done:
                    state.append(f"  ({row.slow_note})", style="yellow")
                elapsed = (row.ended or now) - row.started
                table.add_row(mark, Text(name, style="bold"), state, Text(f"{elapsed:5.1f}s"))
        head = Table.grid()
        head.add_row(
            Text(
                f"[+] {self.command} {finished}/{len(rows)}  {now - self.start:5.1f}s", style="bold"
            )
        )
        head.add_row(table)
        return head
