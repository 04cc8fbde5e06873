"""Decide one assistant turn for a Messages request (pure, no I/O).

The reply comes from the generator chat uses (choices.build: reply modes, scripts,
the tool-choice rule, JSON-schema tool inputs), so the APIs cannot drift apart.
It is asked for the whole, uncut reply; the cut is made here with textgen.shape,
which also tells whether a stop sequence or max_tokens ended the turn, something
Anthropic reports (`stop_reason`, `stop_sequence`) and chat does not distinguish.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import choices
from ..textgen import ReplyStrategy, shape
from ..tokenizer import count
from ..turn import Counts
from ..validation import ChatRequest, Common
from .decode import MessagesRequest
from .ids import new_id


@dataclass(slots=True)
class Block:
    """One content block: text, or a tool_use whose `text` is its input JSON."""

    type: str  # "text" | "tool_use"
    text: str
    pieces: tuple[str, ...]  # the streamed deltas; they concatenate to `text`
    id: str = ""
    name: str = ""
    complete: bool = True  # False: a tool input cut by max_tokens (not valid JSON)


@dataclass(slots=True)
class Turn:
    blocks: list[Block]
    stop_reason: str  # "end_turn" | "max_tokens" | "stop_sequence" | "tool_use"
    stop_sequence: str | None
    output_tokens: int
    finish_reason: str  # the same turn in vLLM's terms, for the metrics: stop/length/tool_calls
    input_tokens: int

    @property
    def steps(self) -> int:
        """Token events of the stream: every block's deltas, one after the other."""
        return sum(len(block.pieces) for block in self.blocks)

    def counts(self) -> Counts:
        # A whole answer is timed and counted by its output tokens (a tool call's name
        # included), a stream by its deltas (`steps`).
        out = self.output_tokens
        return Counts(self.input_tokens, out, self.finish_reason, out)


def tool_use_id() -> str:
    return new_id("toolu_")


def _as_chat(req: MessagesRequest) -> ChatRequest:
    """The request in chat's terms, uncut: no stop strings, no token limit."""
    return ChatRequest(
        common=Common(req.model, 1, None, (), None, req.temperature, False, False),
        last_user=req.last_user,
        prompt_text=req.prompt_text,
        prompt_tokens=req.input_tokens,
        # chat's rule "answer in text once a tool result came back" reads the last role.
        last_role="tool" if req.after_tool_result else "user",
        tools=req.tools,
        tool_choice=req.tool_choice,
        response_format="text" if req.json_schema is None else "json_schema",
        json_schema=req.json_schema,
        logprobs=False,
        top_logprobs=0,
    )


def _first_stop(text: str, stops: tuple[str, ...]) -> str | None:
    """The stop sequence that textgen.shape cuts at: the one found earliest."""
    found = [(i, s) for s in stops if s for i in (text.find(s),) if i >= 0]
    return min(found, key=lambda hit: hit[0])[1] if found else None


def build(req: MessagesRequest, strategy: ReplyStrategy, auto_tools: bool) -> Turn:
    made = choices.build(_as_chat(req), strategy, auto_tools)[0]
    call = made.tool_call
    if call is not None:
        shaped = shape(call.arguments, req.max_tokens, ())
        complete = shaped.finish_reason == "stop"
        block = Block("tool_use", shaped.text, shaped.pieces, tool_use_id(), call.name, complete)
        return Turn(
            [block],
            "tool_use" if complete else "max_tokens",
            None,
            count(call.name) + len(shaped.pieces),  # as chat counts a tool call
            "tool_calls" if complete else "length",
            req.input_tokens,
        )
    full = made.content or ""
    if not req.stop_sequences and len(made.pieces) <= req.max_tokens:
        # Nothing to cut (the usual case): the generator's own pieces are the answer.
        block = Block("text", full, made.pieces)
        return Turn([block], "end_turn", None, len(made.pieces), "stop", req.input_tokens)
    shaped = shape(full, req.max_tokens, req.stop_sequences)
    if shaped.finish_reason == "length":
        reason, stop, finish = "max_tokens", None, "length"
    else:
        stop = _first_stop(full, req.stop_sequences)
        reason, finish = ("stop_sequence" if stop is not None else "end_turn"), "stop"
    block = Block("text", shaped.text, shaped.pieces)
    return Turn([block], reason, stop, len(shaped.pieces), finish, req.input_tokens)
