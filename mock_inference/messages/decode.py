"""Validate a Messages API body into a `MessagesRequest` (pure, no I/O).

Hand-written like validation.py (a handful of isinstance calls on the hot path).
Messages name the field the way Anthropic's API does (`messages.0.content: ...`).
Unknown top-level fields are ignored, as vLLM's Messages route does, so clients
sending newer or beta parameters keep working.

Prompt tokens are counted as chat counts them (3 per message plus its tokens, 3 to
prime the reply; a message's text blocks joined by newlines, like chat's text parts),
with the system prompt as one more message, tool_use blocks as
their name and input JSON, tool_result blocks as their text, and the tools' JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..tokenizer import count
from .errors import invalid

_ROLES = ("user", "assistant")
# Content blocks a request may carry; the mock reads text, tool_use and tool_result.
# Message content blocks of any other type string (server tool results, MCP blocks and
# whatever the API adds next) are accepted and skipped, so newer clients keep working.
_RESULT_BLOCK_TYPES = frozenset(("text", "image", "document", "search_result"))
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


@dataclass(slots=True)
class MessagesRequest:
    model: str
    max_tokens: int  # 0 only for count_tokens, which has no max_tokens
    stop_sequences: tuple[str, ...]
    temperature: float | None
    stream: bool
    last_user: str  # text of the last user message that had text
    prompt_text: str  # every message's text, for seeding and script matching
    input_tokens: int
    after_tool_result: bool  # the last message carries a tool_result
    tools: list[dict[str, Any]]  # custom tools as {"name", "parameters"} (chat's shape)
    tool_choice: str | None  # "auto" | "required" | "none" | a tool name; None: no tools
    json_schema: dict[str, Any] | None = None  # output_config.format (structured outputs)


def _kind(value: Any) -> str:
    names = {str: "a valid string", int: "a valid integer", float: "a valid number",
             bool: "a valid boolean", list: "a valid list", dict: "a valid dictionary"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _required(where: str) -> Exception:
    return invalid(f"{where}: Field required")


def _expect(where: str, what: str) -> Exception:
    return invalid(f"{where}: Input should be {what}")


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if type(text) is not str:
        raise (
            _required(f"{where}.text")
            if text is None
            else _expect(f"{where}.text", "a valid string")
        )
    return text


def _block_type(block: Any, where: str, allowed: frozenset[str] | None = None) -> str:
    """The block's type; with `allowed`, one of those."""
    if type(block) is not dict:
        raise _expect(where, "a valid dictionary")
    kind = block.get("type")
    if kind is None:
        raise _required(f"{where}.type")
    if type(kind) is not str:
        raise _expect(f"{where}.type", "a valid string")
    if allowed is not None and kind not in allowed:
        raise invalid(
            f"{where}.type: Input tag {orjson.dumps(kind).decode()} does not match any of the "
            f"expected tags: {', '.join(sorted(allowed))}"
        )
    return kind


def _result_text(content: Any, where: str) -> tuple[str, int]:
    """A tool_result's content: a string or text/image/document blocks."""
    if content is None:
        return "", 0
    if type(content) is str:
        return content, count(content)
    if type(content) is not list:
        raise _expect(where, "a valid string or a valid list")
    texts = []
    for j, block in enumerate(content):
        if _block_type(block, f"{where}.{j}", _RESULT_BLOCK_TYPES) == "text":
            texts.append(_text(block, f"{where}.{j}"))
    text = "\n".join(texts)
    return text, count(text)


def _content(content: Any, where: str) -> tuple[str, int, bool, bool]:
    """(text, tokens, has text blocks, has a tool_result) of one message's content."""
    if type(content) is str:
        return content, count(content), True, False
    if content is None:
        raise _required(where)
    if type(content) is not list:
        raise _expect(where, "a valid string or a valid list")
    texts: list[str] = []
    tokens = 0
    has_result = False
    for j, block in enumerate(content):
        at = f"{where}.{j}"
        kind = _block_type(block, at)
        if kind == "text":
            texts.append(_text(block, at))
        elif kind == "tool_use":
            name = block.get("name")
            if type(block.get("id")) is not str:
                raise _required(f"{at}.id")
            if type(name) is not str:
                raise _required(f"{at}.name")
            if "input" not in block:
                raise _required(f"{at}.input")
            if type(block["input"]) is not dict:
                raise _expect(f"{at}.input", "a valid dictionary")
            # The call as the model wrote it counts towards the prompt.
            tokens += count(name) + count(orjson.dumps(block["input"]).decode())
        elif kind == "tool_result":
            if type(block.get("tool_use_id")) is not str:
                raise _required(f"{at}.tool_use_id")
            is_error = block.get("is_error")
            if is_error is not None and type(is_error) is not bool:
                raise _expect(f"{at}.is_error", "a valid boolean")
            _, used = _result_text(block.get("content"), f"{at}.content")
            tokens += used
            has_result = True
        elif kind == "image" and type(block.get("source")) is not dict:
            raise _required(f"{at}.source")
    # Text blocks count as one newline-joined text, as chat counts its text parts, so
    # a body both APIs accept has one count (POST /tokenize counts it as chat).
    text = "\n".join(texts)
    return text, tokens + count(text), bool(texts), has_result


def _system(body: dict[str, Any]) -> tuple[str, int]:
    system = body.get("system")
    if system is None:
        return "", 0
    if type(system) is str:
        return system, (3 + count(system)) if system else 0
    if type(system) is not list:
        raise _expect("system", "a valid string or a valid list")
    texts = []
    for j, block in enumerate(system):
        _block_type(block, f"system.{j}", frozenset(("text",)))
        texts.append(_text(block, f"system.{j}"))
    text = "\n".join(texts)
    return text, 3 + count(text)


def _messages(body: dict[str, Any]) -> tuple[str, list[str], int, bool]:
    messages = body.get("messages")
    if messages is None:
        raise _required("messages")
    if type(messages) is not list:
        raise _expect("messages", "a valid list")
    if not messages:
        raise invalid("messages: List should have at least 1 item after validation, not 0")
    last_user = ""
    texts: list[str] = []
    tokens = 3  # the reply's priming tokens, as chat counts them
    after_result = False
    for i, msg in enumerate(messages):
        where = f"messages.{i}"
        if type(msg) is not dict:
            raise _expect(where, "a valid dictionary")
        role = msg.get("role")
        if role is None:
            raise _required(f"{where}.role")
        if role not in _ROLES:
            if role == "system":
                raise invalid(
                    'messages: Unexpected role "system". The Messages API accepts a top-level '
                    '`system` parameter, not "system" as an input message role.'
                )
            raise _expect(f"{where}.role", "'user' or 'assistant'")
        text, used, has_text, has_result = _content(msg.get("content"), f"{where}.content")
        if role == "user" and has_text:
            last_user = text
        after_result = has_result
        texts.append(text)
        tokens += 3 + used
    return last_user, texts, tokens, after_result


def _number(body: dict[str, Any], name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) not in (int, float):
        raise _expect(name, "a valid number")
    if value < lo:
        raise _expect(name, f"greater than or equal to {lo:g}")
    if value > hi:
        raise _expect(name, f"less than or equal to {hi:g}")
    return float(value)


def _stop_sequences(body: dict[str, Any]) -> tuple[str, ...]:
    stops = body.get("stop_sequences")
    if stops is None:
        return ()
    if type(stops) is not list:
        raise _expect("stop_sequences", "a valid list")
    for j, item in enumerate(stops):
        if type(item) is not str:
            raise _expect(f"stop_sequences.{j}", "a valid string")
    return tuple(stops)


def _tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, int]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None:
        tools = []
    if type(tools) is not list:
        raise _expect("tools", "a valid list")
    custom: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if type(tool) is not dict:
            raise _expect(where, "a valid dictionary")
        name = tool.get("name")
        if type(name) is not str or not name:
            raise (
                _required(f"{where}.name")
                if name is None
                else _expect(f"{where}.name", "a non-empty string")
            )
        if name in names:
            raise invalid(f"tools: Tool names must be unique. Duplicate name: {name}")
        names.add(name)
        kind = tool.get("type")
        if kind is not None and kind != "custom":
            continue  # a server tool (web search, bash, ...): accepted, never called by the mock
        schema = tool.get("input_schema")
        if schema is None:
            raise _required(f"{where}.input_schema")
        if type(schema) is not dict:
            raise _expect(f"{where}.input_schema", "a valid dictionary")
        custom.append({"name": name, "parameters": schema})
    picked: str | None = "auto" if custom else None
    if choice is not None:
        if type(choice) is not dict:
            raise _expect("tool_choice", "a valid dictionary")
        kind = choice.get("type")
        parallel = choice.get("disable_parallel_tool_use")
        if parallel is not None and type(parallel) is not bool:
            raise _expect("tool_choice.disable_parallel_tool_use", "a valid boolean")
        if kind == "tool":
            name = choice.get("name")
            if type(name) is not str:
                raise _required("tool_choice.name")
            if name not in names:
                raise invalid(f"tool_choice: Tool '{name}' not found in tools")
            picked = name if any(t["name"] == name for t in custom) else None
        elif type(kind) is str and kind in _TOOL_CHOICES:
            if kind == "any" and not tools:
                raise invalid("tool_choice: tool_choice.type 'any' requires tools to be provided")
            picked = _TOOL_CHOICES[kind] if custom else None
        else:
            raise invalid(
                "tool_choice.type: Input tag "
                f"{orjson.dumps(kind).decode()} does not match any of the expected tags: "
                "'auto', 'any', 'tool', 'none'"
            )
    return custom, picked, count(orjson.dumps(tools).decode()) if tools else 0


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """output_config.format: {"type": "json_schema", "schema": {...}} (structured outputs);
    the text is then JSON generated to validate against the schema."""
    config = body.get("output_config")
    if config is None:
        return None
    if type(config) is not dict:
        raise _expect("output_config", "a valid dictionary")
    fmt = config.get("format")
    if fmt is None:
        return None
    if type(fmt) is not dict:
        raise _expect("output_config.format", "a valid dictionary")
    if fmt.get("type") != "json_schema":
        raise _expect("output_config.format.type", "'json_schema'")
    schema = fmt.get("schema")
    if type(schema) is not dict:
        raise (
            _required("output_config.format.schema")
            if schema is None
            else _expect("output_config.format.schema", "a valid dictionary")
        )
    return schema


def _optional_checks(body: dict[str, Any]) -> None:
    """Parameters the mock accepts without using them, type-checked as the API would."""
    metadata = body.get("metadata")
    if metadata is not None:
        if type(metadata) is not dict:
            raise _expect("metadata", "a valid dictionary")
        user = metadata.get("user_id")
        if user is not None and type(user) is not str:
            raise _expect("metadata.user_id", "a valid string")
    _number(body, "top_p", 0.0, 1.0)
    top_k = body.get("top_k")
    if top_k is not None and (type(top_k) is not int or top_k < 0):
        raise _expect("top_k", "a non-negative integer")
    thinking = body.get("thinking")
    if thinking is not None and (
        type(thinking) is not dict
        or thinking.get("type") not in ("enabled", "disabled", "adaptive")
    ):
        raise invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")


# Keys that need checks beyond model/max_tokens/messages; a body with none skips them.
_OPTIONAL_KEYS = frozenset(
    ("system", "stop_sequences", "temperature", "top_p", "top_k", "stream", "tools",
     "tool_choice", "metadata", "thinking", "output_config")
)  # fmt: skip


def messages(body: dict[str, Any], count_only: bool = False) -> MessagesRequest:
    """A `POST /v1/messages` body (or, with count_only, a count_tokens body, which has
    no max_tokens and no stream)."""
    model = body.get("model")
    if model is None:
        raise _required("model")
    if type(model) is not str or not model:
        raise _expect("model", "a non-empty string")
    max_tokens = body.get("max_tokens")
    if count_only:
        max_tokens = 0
    elif max_tokens is None:
        raise _required("max_tokens")
    elif type(max_tokens) is not int:
        raise _expect("max_tokens", "a valid integer")
    elif max_tokens < 1:
        raise invalid(f"max_tokens: Input should be greater than or equal to 1, got {max_tokens}")
    last_user, texts, tokens, after_result = _messages(body)
    if _OPTIONAL_KEYS.isdisjoint(body):
        return MessagesRequest(
            model, max_tokens, (), None, False, last_user, "\n".join(texts), tokens,
            after_result, [], None,
        )  # fmt: skip
    system, system_tokens = _system(body)
    tools, tool_choice, tool_tokens = _tools(body)
    stream = body.get("stream")
    if stream is not None and type(stream) is not bool:
        raise _expect("stream", "a valid boolean")
    _optional_checks(body)
    prompt_text = "\n".join([system, *texts] if system else texts)
    return MessagesRequest(
        model=model,
        max_tokens=max_tokens,
        stop_sequences=_stop_sequences(body),
        temperature=_number(body, "temperature", 0.0, 1.0),
        stream=bool(stream) and not count_only,
        last_user=last_user,
        prompt_text=prompt_text,
        input_tokens=tokens + system_tokens + tool_tokens,
        after_tool_result=after_result,
        tools=tools,
        tool_choice=tool_choice,
        json_schema=_output_schema(body),
    )
