"""Pull and build progress from the engine's event streams, as short throttled lines.

Pure: the caller feeds events and the current time; `update` returns a line to show
or None. A pull prints bytes and layers, a build its step; at most one line per
`interval` seconds per stream, so a gigabyte pull is a handful of log lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_DONE_STATES = {"Pull complete", "Already exists", "Download complete"}


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


@dataclass
class PullProgress:
    """Layers and bytes of one image pull, from `docker pull`'s JSON events."""

    interval: float = 2.0
    layers: dict[str, str] = field(default_factory=dict)  # layer id -> last status
    current: dict[str, int] = field(default_factory=dict)  # layer id -> bytes downloaded
    total: dict[str, int] = field(default_factory=dict)  # layer id -> layer size
    _last_shown: float | None = None
    _last_line: str = ""

    def update(self, event: dict[str, Any], now: float) -> str | None:
        layer = event.get("id")
        status = str(event.get("status", ""))
        if layer and status and not status.startswith(("Pulling from", "Digest:", "Status:")):
            self.layers[layer] = status
            detail = event.get("progressDetail") or {}
            if status == "Downloading" and detail.get("total"):
                self.current[layer] = int(detail.get("current", 0))
                self.total[layer] = int(detail["total"])
            elif status in ("Download complete", "Pull complete") and layer in self.total:
                self.current[layer] = self.total[layer]
        return self._throttled(now)

    def summary(self) -> str:
        done = sum(1 for s in self.layers.values() if s in _DONE_STATES)
        line = f"{done}/{len(self.layers)} layers"
        if self.total:
            line += (
                f", {human_bytes(sum(self.current.values()))}"
                f"/{human_bytes(sum(self.total.values()))}"
            )
        return line

    def _throttled(self, now: float) -> str | None:
        if not self.layers:
            return None
        line = self.summary()
        if line == self._last_line:
            return None
        if self._last_shown is not None and now - self._last_shown < self.interval:
            return None
        self._last_shown, self._last_line = now, line
        return line


@dataclass
class BuildProgress:
    """The current step of a classic `docker build`, from its `stream` events."""

    interval: float = 2.0
    step: tuple[int, int, str] | None = None
    _last_shown: float | None = None
    _last_step: int = 0

    def update(self, event: dict[str, Any], now: float) -> str | None:
        for text in str(event.get("stream", "")).splitlines():
            match = _STEP.match(text.strip())
            if match:
                self.step = (int(match[1]), int(match[2]), match[3])
        if self.step is None or self.step[0] == self._last_step:
            return None
        if self._last_shown is not None and now - self._last_shown < self.interval:
            return None
        self._last_shown, self._last_step = now, self.step[0]
        return self.summary()

    def summary(self) -> str:
        if self.step is None:
            return "starting"
        number, total, instruction = self.step
        if len(instruction) > 48:
            instruction = instruction[:45] + "..."
        return f"step {number}/{total}: {instruction}"
