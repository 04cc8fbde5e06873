"""Decide each choice of a chat completion: text or tool call, cut and counted.

Pure functions of the validated request and a seeded rng, shared by the streamed
and non-streamed paths so both return exactly the same content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from . import schema_values
from .ids import tool_call_id
from .textgen import Prompt, ReplyStrategy, make_rng, shape
from .tokenizer import tokenize
from .validation import ChatRequest, CompletionRequest


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    pieces: tuple[str, ...]  # arguments split into tokens, for streaming


@dataclass(slots=True)
class Choice:
    index: int
    content: str | None
    pieces: tuple[str, ...]
    finish_reason: str
    tool_call: ToolCall | None
    completion_tokens: int
    prefix: str = ""  # legacy completions: the echoed prompt

    @property
    def steps(self) -> tuple[str, ...]:
        """What is streamed, one token per event: the text, or the call's arguments."""
        return self.tool_call.pieces if self.tool_call is not None else self.pieces


def _pick_function(req: ChatRequest, auto_tools: bool) -> dict[str, Any] | None:
    choice = req.tool_choice
    if not req.tools or choice is None or choice == "none":
        return None
    # Answer in text once a tool result came back, so agent loops terminate.
    if choice == "auto" and (not auto_tools or req.last_role == "tool"):
        return None
    if choice not in ("auto", "required"):
        return next(fn for fn in req.tools if fn["name"] == choice)
    wanted = req.last_user.lower()
    for fn in req.tools:
        if fn["name"].lower() in wanted:
            return fn
    return req.tools[0]


def build(req: ChatRequest, strategy: ReplyStrategy, auto_tools: bool) -> list[Choice]:
    common = req.common
    prompt = Prompt(req.last_user, req.prompt_text)
    out: list[Choice] = []
    for index in range(common.n):
        rng = make_rng(common.seed, common.temperature, index, req.prompt_text)
        fn = _pick_function(req, auto_tools)
        if fn is not None:
            args = schema_values.generate_json(fn.get("parameters") or {}, rng)
            shaped = shape(args, common.max_tokens, ())
            finish = "tool_calls" if shaped.finish_reason == "stop" else "length"
            call = ToolCall(tool_call_id(), fn["name"], shaped.text, shaped.pieces)
            used = len(tokenize(fn["name"])) + len(shaped.pieces)
            out.append(Choice(index, None, (), finish, call, used))
            continue
        if req.response_format == "json_schema":
            text = schema_values.generate_json(req.json_schema, rng)
        elif req.response_format == "json_object":
            text = orjson.dumps({"response": strategy.reply(prompt, rng)}).decode()
        else:
            text = strategy.reply(prompt, rng)
        shaped = shape(text, common.max_tokens, common.stop)
        out.append(
            Choice(
                index, shaped.text, shaped.pieces, shaped.finish_reason, None, len(shaped.pieces)
            )
        )
    return out


def build_completions(req: CompletionRequest, strategy: ReplyStrategy) -> list[Choice]:
    """Legacy completions: n choices per prompt, text only."""
    common = req.common
    out: list[Choice] = []
    for p, (text, _) in enumerate(req.prompts):
        for i in range(common.n):
            rng = make_rng(common.seed, common.temperature, i, text)
            shaped = shape(strategy.reply(Prompt(text, text), rng), common.max_tokens, common.stop)
            out.append(
                Choice(
                    p * common.n + i,
                    shaped.text,
                    shaped.pieces,
                    shaped.finish_reason,
                    None,
                    len(shaped.pieces),
                    text if req.echo else "",
                )
            )
    return out
