"""One model turn, whatever API asked for it: the generated choices and their counts.

Decoders (validation.py and the per-API modules) turn a wire request into a request
for a turn; `choices.build` / `choices.build_completions` generate it; encoders turn
it into a JSON body or stream events. Streamed and non-streamed answers encode the
same Turn, so they agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from .choices import Choice


@dataclass(frozen=True, slots=True)
class Counts:
    """What the metrics record of a finished turn, whatever API produced it."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    steps: int  # token events of the longest choice (Messages: its output tokens)


@dataclass(slots=True)
class Turn:
    choices: list[Choice]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.choices)

    @property
    def steps(self) -> int:
        """Token events of the longest choice: what a stream sends after its opening."""
        return max((len(c.steps) for c in self.choices), default=0)

    @property
    def finish_reason(self) -> str:
        return self.choices[0].finish_reason if self.choices else "stop"

    def usage(self) -> dict[str, int]:
        """Chat Completions' usage object (legacy completions share it)."""
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def counts(self) -> Counts:
        return Counts(self.prompt_tokens, self.completion_tokens, self.finish_reason, self.steps)
