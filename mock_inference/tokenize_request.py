"""`POST /tokenize`: which API a body is shaped for, and its prompt's tokens as that
API's usage counts them (no Sanic, no I/O).

vLLM's /tokenize takes a completions body (`prompt`) or a chat body (`messages`). The
mock also takes the two other APIs it serves, so one route counts for all three:

- `input` → a Responses request (`input`, `instructions`, `tools`,
  `previous_response_id`): `usage.input_tokens` of `POST /v1/responses`;
- `messages` with something only Anthropic's Messages API has (a top-level `system`,
  an Anthropic content block such as `tool_use`, `tool_result`, `image` or `document`,
  or a tool with `input_schema` or a top-level `name`) → a Messages request:
  `usage.input_tokens` of `POST /v1/messages` (`max_tokens` is not needed);
- other `messages` → chat, as vLLM: `usage.prompt_tokens` of `/v1/chat/completions`.
  A body both chat and Messages accept (user and assistant turns with string or text
  content) has the same count in both, so reading it as chat loses nothing;
- `prompt` → completions.

`max_tokens` decides nothing: chat bodies carry it too. The counts come from the
decoders of the routes themselves, so they cannot drift from the usage they report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from . import validation
from .errors import APIError
from .messages import decode as messages_decode
from .state import State
from .tokenizer import token_id, token_ids
from .wire.responses import RESPONSES

Shape = Literal["completions", "chat", "responses", "messages"]

_ROLE_BASE = 100_000  # ids for the template's role markers, above ordinary pieces
# Content block types of Anthropic's Messages API that chat's content parts never use.
_ANTHROPIC_BLOCKS = frozenset(
    ("tool_use", "tool_result", "image", "document", "search_result", "thinking",
     "redacted_thinking", "server_tool_use", "container_upload")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tokenized:
    count: int
    ids: list[int]  # as many as `count`


def _anthropic_block(block: Any) -> bool:
    if type(block) is not dict:
        return False
    kind = block.get("type")
    # Server tools' results are `<name>_tool_result`, MCP's `mcp_tool_use`/`_result`.
    return type(kind) is str and (
        kind in _ANTHROPIC_BLOCKS or kind.endswith(("_tool_result", "_tool_use"))
    )


def _anthropic_tool(tool: Any) -> bool:
    # Chat's tools nest their name under `function`; Anthropic's carry it at the top.
    return type(tool) is dict and (
        "input_schema" in tool or ("name" in tool and "function" not in tool)
    )


def shape_of(body: dict[str, Any]) -> Shape:
    """Which API's request `body` is (the rule in the module docstring)."""
    if "input" in body:
        return "responses"
    if "system" in body:
        return "messages"
    messages = body.get("messages")
    if messages is None:
        return "completions"
    tools = body.get("tools")
    if type(tools) is list and any(_anthropic_tool(tool) for tool in tools):
        return "messages"
    if type(messages) is list:
        for msg in messages:
            content = msg.get("content") if type(msg) is dict else None
            if type(content) is list and any(_anthropic_block(b) for b in content):
                return "messages"
    return "chat"


def _marker(role: str) -> list[int]:
    return [_ROLE_BASE + token_id(role) % 1000, 1, 2]


def _filled(text: str, count: int) -> list[int]:
    """`count` ids: the prompt text's, then the chat template's (role markers and
    separators; tool JSON) that the count includes."""
    ids = token_ids(text)[:count]
    template = _marker("assistant")
    ids += [template[i % 3] for i in range(count - len(ids))]
    return ids


def _chat(body: dict[str, Any], state: State) -> Tokenized:
    req = validation.tokenize(body, state.settings.model_name)
    state.check_model(req.model)
    if "messages" not in body:
        ids = token_ids(req.text)
        return Tokenized(len(ids), ids)
    # As a chat template renders it: the tools, then per message a role marker and its
    # text (and its tool calls' JSON), then the assistant's marker to prime the reply.
    tools = body.get("tools")
    ids = token_ids(orjson.dumps(tools).decode()) if tools else []
    for msg in body["messages"]:
        ids += _marker(msg["role"])
        ids += token_ids(validation.content_text(msg.get("content"), "", msg["role"]))
        if msg.get("tool_calls") is not None:
            ids += token_ids(orjson.dumps(msg["tool_calls"]).decode())
    ids += _marker("assistant")
    return Tokenized(req.count, ids)


def _messages(body: dict[str, Any], state: State) -> Tokenized:
    model = validation._model(body, state.settings.model_name)  # optional, as in vLLM
    try:
        req = messages_decode.messages({**body, "model": model}, count_only=True)
    except APIError as exc:
        # Anthropic names the field before a colon (`messages.0.content: ...`).
        where, sep, _ = exc.message.partition(": ")
        exc.param = where if sep and " " not in where else None
        raise
    state.check_model(req.model)
    return Tokenized(req.input_tokens, _filled(req.prompt_text, req.input_tokens))


def tokenize(state: State, raw: bytes) -> Tokenized:
    """Raises APIError for a bad body (400) or model (404), and response_store.Elsewhere
    when `previous_response_id` names a response another worker holds (fetch, retry)."""
    body = validation.parse_json(raw)
    shape = shape_of(body)
    if shape == "responses":
        req = RESPONSES.decode(state, raw)
        chat = req.chat
        return Tokenized(chat.prompt_tokens, _filled(chat.prompt_text, chat.prompt_tokens))
    if shape == "messages":
        return _messages(body, state)
    return _chat(body, state)
