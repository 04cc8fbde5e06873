"""Answers already worked out: a request body seen before skips decoding, and, when its
answer did not depend on chance, generation and encoding too.

Load tests and SDK test suites send the same body again and again, and for every
reply mode but unseeded filler (and unseeded tool arguments or JSON values) the
answer is a function of the body: only its ids and timestamps differ. So the second
time a body arrives its answer is recorded as a `Template` (fresh.py hands out
markers for the ids and the time, which are cut out of the bytes) and from then on
an answer is the template filled in with new values: the same bytes a full answer
would have been, at a fraction of the cost.

What is remembered is decided by the caller, per request, from what it knows:
  - the decoded request, for any body whose decoding reads nothing but the body
    (not a Responses request that continues a stored response);
  - the template, only when the request asks for a plain answer (no header picks a
    reply) and generating it drew nothing from the unseeded random generator.
Authentication, latency, injected faults and metrics are never remembered: they run
for every request, as before.

Bound: at most `entries` bodies of at most `max_body` bytes each (oldest first out),
each with its decoded request and one answer (the reply, plus a stored record for
the Responses API), and the hashes of at most `entries` bodies seen once (a body is
kept only when it comes back).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

from . import fresh
from .reply import Reply
from .textgen import unseeded_draws
from .turn import Counts


class Cut:
    """A byte string with holes, filled in by one `%` formatting (C speed)."""

    __slots__ = ("form", "pick")

    def __init__(self, data: bytes, finder: re.Pattern[bytes], index: dict[bytes, int]) -> None:
        chunks: list[bytes] = []
        holes: list[int] = []
        start = 0
        for match in finder.finditer(data):
            chunks.append(data[start : match.start()].replace(b"%", b"%%"))
            holes.append(index[match.group()])
            start = match.end()
        chunks.append(data[start:].replace(b"%", b"%%"))
        self.form = b"%b".join(chunks)
        # values -> the tuple of those in the holes, in order
        self.pick: Callable[[list[bytes]], tuple[bytes, ...]] = (
            itemgetter(*holes) if len(holes) > 1 else lambda values: tuple(values[h] for h in holes)
        )

    def fill(self, values: list[bytes]) -> bytes:
        return self.form % self.pick(values)


def _now_text() -> str:
    return str(int(time.time()))


@dataclass(frozen=True, slots=True)
class Template:
    """A reply with its ids and timestamps cut out."""

    status: int
    content_type: str
    body_length: int  # the body is the end of `wire`: markers are as long as values
    wire: Cut  # the whole HTTP/1.1 response, as the fast path sends it
    # (name, k, cut): a value that is exactly hole k (an id), else the cut to fill
    headers: tuple[tuple[str, int, Cut], ...]
    keep: tuple[int, Cut] | None  # the stored response's id (a hole) and its record
    makers: tuple[Callable[[], str], ...]  # per hole: a new id, or the time

    @classmethod
    def of(cls, reply: Reply, recorder: fresh.Recorder) -> Template:
        index = {marker: i for i, marker in enumerate(recorder.markers)}
        finder = re.compile(b"|".join(re.escape(m) for m in recorder.markers) or b"(?!)")

        def cut(data: bytes) -> Cut:
            return Cut(data, finder, index)

        keep = None
        if reply.keep is not None:
            record = reply.keep[1]
            keep = (
                index[reply.keep[0].encode()],
                cut(record if isinstance(record, bytes) else record()),
            )
        return cls(
            reply.status,
            reply.content_type,
            len(reply.body),
            cut(reply.to_http1()),
            tuple(
                (name, index.get(value.encode(), -1), cut(value.encode()))
                for name, value in reply.headers.items()
            ),
            keep,
            tuple(_now_text if make is None else make for make in recorder.makers),
        )

    def render(self) -> Reply:
        texts = [make() for make in self.makers]
        values = [text.encode() for text in texts]
        keep = self.keep
        wire = self.wire.fill(values)
        return Reply(
            self.status,
            wire[len(wire) - self.body_length :],
            {
                name: texts[k] if k >= 0 else cut.fill(values).decode()
                for name, k, cut in self.headers
            },
            self.content_type,
            None if keep is None else (texts[keep[0]], partial(keep[1].fill, values)),
            wire,
        )


@dataclass(frozen=True, slots=True)
class Answer:
    template: Template
    counts: Counts


class Entry:
    """What is known of one body: its decoded request and, once seen twice, its answer."""

    __slots__ = ("request", "prompt_tokens", "streams", "seen", "answer")

    def __init__(self, request: Any, prompt_tokens: int, streams: bool) -> None:
        self.request = request
        self.prompt_tokens = prompt_tokens
        self.streams = streams
        self.seen = 1
        self.answer: Answer | None = None


# An answer computed in full: the reply and what the metrics record of it.
Generate = Callable[[], tuple[Reply, Counts]]


class Memo:
    def __init__(self, entries: int, max_body: int) -> None:
        self.limit = entries
        self.max_body = max_body
        self.entries: OrderedDict[tuple[str, bytes], Entry] = OrderedDict()
        # Hashes of bodies seen once: a body is kept only when it comes back, so that
        # traffic where every body differs pays for an int, not for keeping (and later
        # freeing) a decoded request.
        self.once: OrderedDict[int, None] = OrderedDict()

    def lookup(self, route: str, body: bytes) -> Entry | None:
        entry = self.entries.get((route, body))
        if entry is not None:
            entry.seen += 1
        return entry

    def remember(self, route: str, body: bytes, entry: Entry) -> Entry:
        """Keep `entry` if its body was seen before (then it counts as seen twice)."""
        if self.limit > 0 and len(body) <= self.max_body:
            key = (route, body)
            once = self.once
            digest = hash(key)
            if once.pop(digest, 0) is None:  # present: the second time
                entry.seen = 2
                entries = self.entries
                entries[key] = entry
                if len(entries) > self.limit:
                    entries.popitem(last=False)  # the oldest
            else:
                once[digest] = None
                if len(once) > self.limit:
                    once.popitem(last=False)
        return entry

    @staticmethod
    def answer(entry: Entry, plain: bool, generate: Generate) -> tuple[Reply, Counts]:
        """The answer to a request for `entry`'s body: from its template when there is
        one and the request is `plain` (no header picks the reply), else generated,
        and recorded as the template the second time a plain request for it comes."""
        if not plain:
            return generate()
        answer = entry.answer
        if answer is not None:
            return answer.template.render(), answer.counts
        if entry.seen < 2:
            return generate()
        draws = unseeded_draws()
        with fresh.recording() as recorder:
            reply, counts = generate()
        if not recorder.usable:
            return generate()  # cannot be cut out: answer in full, every time
        template = Template.of(reply, recorder)
        if unseeded_draws() == draws and reply.status == 200:
            entry.answer = Answer(template, counts)
        return template.render(), counts
