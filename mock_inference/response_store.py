"""Stored Responses (`store: true`), shared by every worker, with a bounded size.

Workers are separate processes, so a response created by one must be readable by
the next request, which may land on another. Under the supervisor each response is
one small JSON file in its private folder (written to a temporary name, then renamed,
so a reader never sees half a file); nothing is kept in memory. Without a folder (an
app built in-process) a bounded in-memory table does the job.

Bound: at most `limit` responses are kept, oldest first out. The file store checks
the count every `_SWEEP_EVERY` writes per worker, so the folder holds at most
`limit + _SWEEP_EVERY x workers` files; each file is one response plus its
conversation, itself bounded by the request body limit and the generated reply.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import OrderedDict
from typing import Protocol

_SWEEP_EVERY = 32
_ID = re.compile(r"resp_[0-9a-f]{1,64}")  # ids are ours; anything else is never a file name


class ResponseStore(Protocol):
    def put(self, rid: str, record: bytes) -> None: ...

    def get(self, rid: str) -> bytes | None: ...

    def delete(self, rid: str) -> bool: ...


class MemoryStore:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.records: OrderedDict[str, bytes] = OrderedDict()

    def put(self, rid: str, record: bytes) -> None:
        self.records[rid] = record
        while len(self.records) > self.limit:
            self.records.popitem(last=False)

    def get(self, rid: str) -> bytes | None:
        return self.records.get(rid)

    def delete(self, rid: str) -> bool:
        return self.records.pop(rid, None) is not None


class FileStore:
    def __init__(self, folder: str, limit: int) -> None:
        self.folder = os.path.join(folder, "responses")
        os.makedirs(self.folder, exist_ok=True)
        self.limit = limit
        self.writes = 0

    def _path(self, rid: str) -> str | None:
        return os.path.join(self.folder, rid + ".json") if _ID.fullmatch(rid) else None

    def put(self, rid: str, record: bytes) -> None:
        path = self._path(rid)
        if path is None:
            return
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(record)
        os.replace(temporary, path)
        self.writes += 1
        if self.writes % _SWEEP_EVERY == 0:
            self._sweep()

    def _sweep(self) -> None:
        entries: list[tuple[int, str]] = []
        with os.scandir(self.folder) as found:
            for entry in found:
                if entry.name.endswith(".json"):
                    with contextlib.suppress(FileNotFoundError):
                        entries.append((entry.stat().st_mtime_ns, entry.path))
        if len(entries) <= self.limit:
            return
        entries.sort()
        for _, path in entries[: len(entries) - self.limit]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def get(self, rid: str) -> bytes | None:
        path = self._path(rid)
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def delete(self, rid: str) -> bool:
        path = self._path(rid)
        if path is None:
            return False
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True


def open_store(folder: str | None, limit: int) -> ResponseStore:
    return FileStore(folder, limit) if folder else MemoryStore(limit)
