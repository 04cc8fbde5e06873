"""Deterministic embeddings: the same text gives the same unit vector in any process.

Each word gets a pseudo-random vector (seeded by the word itself); a text's vector
is the normalised sum of its words' vectors, so texts that share words come out
closer in cosine similarity, which keeps retrieval demos meaningful.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from functools import lru_cache

from .tokenizer import tokenize


@lru_cache(maxsize=16384)
def _word_vector(word: str, dim: int) -> tuple[float, ...]:
    rng = random.Random(f"emb:{dim}:{word}")
    return tuple(rng.gauss(0.0, 1.0) for _ in range(dim))


@lru_cache(maxsize=4096)
def embed(text: str, dim: int) -> tuple[float, ...]:
    words = [p.strip().lower() for p in tokenize(text) if p.strip()] or [f"\x00{text}"]
    acc = [0.0] * dim
    for word in words:
        for i, x in enumerate(_word_vector(word, dim)):
            acc[i] += x
    norm = math.sqrt(sum(x * x for x in acc)) or 1.0
    return tuple(x / norm for x in acc)


def embed_token_ids(ids: list[int], dim: int) -> tuple[float, ...]:
    return embed(" ".join(f"#{i}" for i in ids), dim)


def to_base64(vector: tuple[float, ...]) -> str:
    """Little-endian float32, which is what the openai SDK decodes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
