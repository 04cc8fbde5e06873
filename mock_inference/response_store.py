"""Stored Responses (`store: true`), seen by every worker, with a bounded size.

Each worker keeps the responses it created in memory, at most `limit / workers`
(rounded up) of them, oldest first out: so at most `limit + workers` responses in
all, each one response object plus its conversation (itself bounded by the request
body limit and the generated reply). Storing is a dictionary insert, so a stored
response costs no more than an unstored one.

Workers are separate processes and the next request may land on another one: a worker
that lacks a response asks the others over their unix sockets (peers.py) and keeps
a copy. That needs waiting, so the fast path hands such a request to Sanic (the
decoder raises `Elsewhere`); the Sanic route fetches, then answers as usual.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .peers import Peers, ask_others


class Elsewhere(Exception):
    """The stored response `rid` is not in this worker; ask the others (`fetch`)."""

    def __init__(self, rid: str) -> None:
        super().__init__(rid)
        self.rid = rid


@dataclass(frozen=True, slots=True)
class Fetch:
    """answer_now's hand-over: fetch stored response `rid` from the other workers first."""

    rid: str


# A stored record, or how to make it: a remembered answer (memo.py) leaves filling its
# record in until someone asks for it, which most never are.
Record = bytes | Callable[[], bytes]

_ABSENT_KEPT = 64  # ids recently asked for and found nowhere


class ResponseStore:
    def __init__(self, limit: int, peers: Peers | None = None) -> None:
        workers = peers.count if peers is not None else 1
        self.limit = max(1, math.ceil(limit / workers))
        self.peers = peers
        self.records: OrderedDict[str, Record] = OrderedDict()
        self.absent: OrderedDict[str, None] = OrderedDict()

    def put(self, rid: str, record: Record) -> None:
        records = self.records
        if rid in records:  # a copy fetched again: now the newest
            records.move_to_end(rid)
        records[rid] = record
        if self.absent:
            self.absent.pop(rid, None)
        while len(records) > self.limit:
            records.popitem(last=False)

    def _made(self, rid: str) -> bytes | None:
        record = self.records.get(rid)
        if record is None or isinstance(record, bytes):
            return record
        made = self.records[rid] = record()
        return made

    def get(self, rid: str) -> bytes | None:
        """This worker's copy; raises Elsewhere when other workers might have it."""
        record = self._made(rid)
        if record is None and self.peers is not None and rid not in self.absent:
            raise Elsewhere(rid)
        return record

    def local(self, rid: str) -> bytes | None:
        return self._made(rid)

    def delete_local(self, rid: str) -> bool:
        return self.records.pop(rid, None) is not None

    async def fetch(self, rid: str) -> bytes | None:
        """From this worker, else from the first other worker that has it (kept here)."""
        record = self._made(rid)
        if record is not None or self.peers is None:
            return record
        for answer in await ask_others(self.peers, b"get " + rid.encode()):
            if answer:
                self.put(rid, answer)
                return answer
        self.absent[rid] = None  # so that get() now says "not found" instead of Elsewhere
        while len(self.absent) > _ABSENT_KEPT:
            self.absent.popitem(last=False)
        return None

    async def delete(self, rid: str) -> bool:
        """From every worker (copies included); whether any had it."""
        found = self.delete_local(rid)
        if self.peers is not None:
            answers = await ask_others(self.peers, b"delete " + rid.encode())
            found = found or b"1" in answers
        return found

    def answer_peer(self, verb: bytes, rid: str) -> bytes:
        if verb == b"get":
            return self._made(rid) or b""
        if verb == b"delete":
            return b"1" if self.delete_local(rid) else b"0"
        return b""
