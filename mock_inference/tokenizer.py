"""A deterministic, download-free tokenizer.

Words and single punctuation marks are tokens; leading whitespace sticks to the
token after it (as in BPE vocabularies), so the pieces concatenate back to the
exact text. That makes streamed deltas add up to the non-streamed content and
lets usage be counted from the very pieces that are sent.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

# Long words are split every 12 characters, as a subword vocabulary would.
_TOKEN = re.compile(r"\s*(?:\w{1,12}|[^\w\s])|\s+")
VOCAB_SIZE = 128_000


@lru_cache(maxsize=8192)
def tokenize(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text))


def count(text: str) -> int:
    return len(tokenize(text)) if text else 0


def token_id(piece: str) -> int:
    """A stable id per piece (crc32 is the same in every process, unlike hash())."""
    return zlib.crc32(piece.encode()) % VOCAB_SIZE


def token_ids(text: str) -> list[int]:
    return [token_id(piece) for piece in tokenize(text)]
