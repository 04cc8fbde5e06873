"""What the model "says": reply strategies, seeding, and stop / max_tokens shaping."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from .config import Settings
from .scripts import Script
from .scripts import load as load_script
from .tokenizer import tokenize

_FILLER_WORDS = (
    "the", "model", "returns", "a", "mock", "answer", "for", "local", "development", "and",
    "testing", "of", "streaming", "clients", "with", "tokens", "that", "arrive", "in", "order",
    "every", "request", "is", "served", "quickly", "by", "this", "engine", "without", "any",
    "weights", "or", "graphics", "cards", "so", "your", "code", "can", "run", "offline",
)  # fmt: skip


class _CountedRandom(random.Random):
    """A Random that counts its draws (every method draws through these two), so that
    memo.py can tell an answer that depended on chance from one that did not."""

    draws = 0

    def random(self) -> float:
        self.draws += 1
        return super().random()

    def getrandbits(self, k: int) -> int:
        self.draws += 1
        return super().getrandbits(k)


_UNSEEDED = _CountedRandom()


def unseeded_draws() -> int:
    """How many draws unseeded requests have made so far in this process."""
    return _UNSEEDED.draws


@dataclass(frozen=True)
class Prompt:
    """What a strategy may look at: the last user text and the whole prompt text."""

    last_user: str
    full: str


class ReplyStrategy(Protocol):
    def reply(self, prompt: Prompt, rng: random.Random) -> str: ...


@dataclass(frozen=True)
class FixedReply:
    text: str

    def reply(self, prompt: Prompt, rng: random.Random) -> str:
        return self.text


class EchoReply:
    def reply(self, prompt: Prompt, rng: random.Random) -> str:
        return prompt.last_user


@dataclass(frozen=True)
class FillerReply:
    """Exactly `tokens` tokens of sentence-like filler (words and full stops)."""

    tokens: int

    def reply(self, prompt: Prompt, rng: random.Random) -> str:
        parts: list[str] = []
        since_stop = 0
        capital = True
        for i in range(self.tokens):
            # End a sentence every 6-12 words, but never with the very first token.
            if since_stop >= 6 and (since_stop >= 12 or rng.random() < 0.2) and i > 0:
                parts.append(".")
                since_stop = 0
                capital = True
                continue
            word = rng.choice(_FILLER_WORDS)
            if capital:
                word = word.capitalize()
                capital = False
            parts.append(word if i == 0 else " " + word)
            since_stop += 1
        return "".join(parts)


@dataclass(frozen=True)
class ScriptedReply:
    script: Script
    fallback: ReplyStrategy

    def reply(self, prompt: Prompt, rng: random.Random) -> str:
        found = self.script.reply_for(prompt.last_user or prompt.full)
        return found if found is not None else self.fallback.reply(prompt, rng)


def strategy_for(settings: Settings, mode: str | None = None) -> ReplyStrategy:
    mode = mode or settings.reply_mode
    if mode == "echo":
        return EchoReply()
    if mode == "filler":
        return FillerReply(settings.filler_tokens)
    if mode == "script":
        if not settings.script_file:
            raise ValueError("script mode needs MOCK_SCRIPT_FILE")
        return ScriptedReply(load_script(settings.script_file), FixedReply(settings.reply_text))
    return FixedReply(settings.reply_text)


def make_rng(seed: int | None, temperature: float | None, index: int, prompt: str) -> random.Random:
    """Same seed (or temperature 0) and prompt give the same text in every worker process.

    Seeding Random with a str hashes it with SHA-512, which unlike hash() does not
    change between processes. Without a seed and with sampling on, replies vary.
    """
    if seed is not None:
        return random.Random(f"{seed}:{index}:{prompt}")
    if temperature == 0:
        return random.Random(f"t0:{index}:{prompt}")
    # Seeding a fresh Random from urandom costs ~14 us: share one for unseeded requests.
    return _UNSEEDED


@dataclass(frozen=True)
class Shaped:
    text: str
    pieces: tuple[str, ...]
    finish_reason: str


def shape(text: str, max_tokens: int | None, stop: tuple[str, ...]) -> Shaped:
    """Cut at the first stop string (excluded, as OpenAI does) and at max_tokens."""
    if stop:
        cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
    pieces = tokenize(text)
    if max_tokens is not None and len(pieces) > max_tokens:
        pieces = pieces[:max_tokens]
        return Shaped("".join(pieces), pieces, "length")
    return Shaped(text, pieces, "stop")
