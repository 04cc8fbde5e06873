"""Stored Responses (`store: true`), shared by every worker, with a bounded size.

Workers are separate processes, so a response created by one must be readable by
the next request, which may land on another. Under the supervisor each response is
one small JSON file in its private folder (in /dev/shm when there is one); nothing
is kept in the workers' memory. Without a folder (an
app built in-process) a bounded in-memory table does the job.

Bound: at most `limit` responses are kept, oldest first out. The file store checks
the count every `_SWEEP_EVERY` writes per worker, so the folder holds at most
`limit + _SWEEP_EVERY x workers` files; each file is one response plus its
conversation, itself bounded by the request body limit and the generated reply.
Response ids sort by creation time (`ids.ordered_id`), so a sweep lists names only.
If the folder's file system is full, the oldest half is dropped and the write tried
once more; failing that, the response is answered but not stored.
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
        try:
            self._write(path, record)
        except OSError:
            self._sweep(self.limit // 2)  # e.g. a full /dev/shm: make room, try once more
            try:
                self._write(path, record)
            except OSError:
                return
        self.writes += 1
        if self.writes % _SWEEP_EVERY == 0:
            self._sweep(self.limit)

    @staticmethod
    def _write(path: str, record: bytes) -> None:
        # Written in full before the response is sent, so no client can ask for it
        # half-written: no temporary name and rename needed. os.open, not open(): the
        # io layer costs more than the write itself.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(record)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def _sweep(self, keep: int) -> None:
        names = sorted(name for name in os.listdir(self.folder) if name.endswith(".json"))
        for name in names[: max(0, len(names) - keep)]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.folder, name))

    def get(self, rid: str) -> bytes | None:
        path = self._path(rid)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks)

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
