"""Which files of a build context Docker sends: `.dockerignore` as the Docker SDK reads it.

Images are built through the SDK (`client.api.build(path=...)`), so the SDK decides the
context: its `PatternMatcher` (a port of moby's fileutils). Same rules here, checked by a
parity test against the SDK on a generated tree:

- one pattern a line; blank lines and lines starting with `#` skipped; surrounding
  spaces, leading and trailing `/`, `.` segments dropped, `..` applied;
- patterns are anchored at the context root: `*` and `?` never cross `/`, so `*.md`
  does not exclude `docs/a.md`; `**` matches any number of folders;
- a pattern that matches a folder excludes everything below it;
- `!pattern` re-includes; the last matching pattern wins;
- the Dockerfile and `.dockerignore` are always sent;
- like the SDK (not the BuildKit CLI), matching ignores case.

Stdlib only: the no-op fast path digests build contexts too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path


class _Pattern:
    # A plain class: dataclasses and NamedTuple cost the fast path's import time.
    __slots__ = ("depth", "regex", "reinclude", "text")

    def __init__(self, reinclude: bool, depth: int, text: str, regex: re.Pattern[str]) -> None:
        self.reinclude = reinclude
        self.depth = depth  # path segments in the pattern
        self.text = text  # the cleaned pattern as written: prefix test for re-included folders
        self.regex = regex


def read_patterns(folder: Path) -> list[str]:
    """The lines of `folder/.dockerignore` that are patterns; [] without the file."""
    try:
        text = (folder / ".dockerignore").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _segments(pattern: str) -> list[str]:
    segments: list[str] = []
    for part in pattern.strip().split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if segments:
                segments.pop()
            continue
        segments.append(part)
    return segments


def _translate(pattern: str) -> str:
    """A shell pattern as a regex: `*`, `?` stay within a segment, `**` spans segments."""
    out, i, n = ["^"], 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1  # `**/` is `**`
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = i
            if end < n and pattern[end] == "!":
                end += 1
            if end < n and pattern[end] == "]":
                end += 1
            while end < n and pattern[end] != "]":
                end += 1
            if end >= n:  # no closing bracket: a literal '['
                out.append("\\[")
                continue
            members = pattern[i:end].replace("\\", "\\\\")
            i = end + 1
            if members.startswith("!"):
                members = "^" + members[1:]
            elif members.startswith("^"):
                members = "\\" + members
            out.append(f"[{members}]")
        else:
            out.append(re.escape(char))
    out.append("$")
    return "".join(out)


class IgnoreRules:
    """Compiled `.dockerignore` patterns plus the files Docker always keeps."""

    def __init__(self, patterns: list[str], dockerfile: str = "Dockerfile") -> None:
        compiled: list[_Pattern] = []
        for raw in [*patterns, f"!{dockerfile}", "!.dockerignore"]:
            reinclude = raw.startswith("!")
            segments = _segments(raw[1:] if reinclude else raw)
            if not segments:  # `.` or `/`: ignored, as Docker does
                continue
            text = "/".join(segments)
            regex = re.compile(_translate(text.lower()))
            compiled.append(_Pattern(reinclude, len(segments), text, regex))
        self._patterns = compiled
        self._has_exclusions = any(not p.reinclude for p in compiled)

    def excluded(self, relative: str) -> bool:
        """True when the path (posix, relative to the context) is left out."""
        if not self._has_exclusions:
            return False
        name = relative.lower()
        parents = name.split("/")[:-1]
        excluded = False
        for pattern in self._patterns:
            matched = pattern.regex.match(name) is not None
            if not matched and parents and pattern.depth <= len(parents):
                # A pattern matching a parent folder covers everything below it.
                matched = pattern.regex.match("/".join(parents[: pattern.depth])) is not None
            if matched:
                excluded = not pattern.reinclude
        return excluded

    def may_reinclude_below(self, folder: str) -> bool:
        """Whether an excluded folder must still be walked: a `!` pattern starts with it."""
        return any(p.reinclude and p.text.startswith(folder) for p in self._patterns)


def context_files(
    folder: Path, dockerfile: str = "Dockerfile", skip: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Relative posix paths of the files (not folders) Docker would send from `folder`,
    without walking into folders named in `skip` (for callers that drop them anyway)."""
    rules = IgnoreRules(read_patterns(folder), dockerfile)
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder).as_posix()
        prefix = "" if base == "." else base + "/"
        kept = []
        for name in dirs:
            if name in skip:
                continue
            relative = prefix + name
            if not rules.excluded(relative) or rules.may_reinclude_below(relative):
                kept.append(name)
        dirs[:] = kept
        for name in files:
            if not rules.excluded(prefix + name):
                yield prefix + name
