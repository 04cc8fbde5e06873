"""Decode a Responses API request (`POST /v1/responses`) into a Turn request.

The input items (plus the stored conversation named by `previous_response_id`, and
`instructions` as a system message) become the messages of a `ChatRequest`, so the
one generator serves both APIs: same reply modes, tool-choice rule, JSON values and
token counts. Errors are OpenAI's, naming the parameter (`input[2].call_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import APIError, invalid
from ..tokenizer import count
from ..validation import (
    ChatRequest,
    Common,
    _model,
    _opt_bool,
    _opt_int,
    _opt_number,
    wrong_type,
)

_ROLES = frozenset(("user", "system", "developer", "assistant"))
_TEXT_PARTS = frozenset(("input_text", "output_text", "text", "refusal"))
_OTHER_PARTS = frozenset(("input_image", "input_file", "input_audio"))
_IGNORED_ITEMS = frozenset(("reasoning", "item_reference"))
MIN_OUTPUT_TOKENS = 16  # the real API refuses fewer
MAX_METADATA = 16


@dataclass(slots=True)
class ResponsesRequest:
    chat: ChatRequest  # the Turn request
    model: str
    stream: bool
    store: bool
    instructions: str | None
    max_output_tokens: int | None
    temperature: float | None
    top_p: float | None
    tools: list[dict[str, Any]]  # as echoed back (with strict filled in)
    tool_choice: Any  # as echoed back
    parallel_tool_calls: bool
    text_format: dict[str, Any]
    metadata: dict[str, str]
    user: str | None
    previous_response_id: str | None
    conversation: list[dict[str, Any]]  # every item so far, stored for continuation


def _missing(param: str) -> APIError:
    return invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _bad_value(param: str, expected: str) -> APIError:
    return invalid(f"Invalid value for '{param}': expected {expected}.", param, "invalid_value")


def _content_text(content: Any, param: str) -> str:
    if type(content) is str:
        return content
    if type(content) is not list:
        raise wrong_type(param, "a string or an array of content parts", content)
    texts: list[str] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if type(part) is not dict:
            raise wrong_type(where, "an object", part)
        kind = part.get("type")
        if type(kind) is not str:
            raise _bad_value(f"{where}.type", "'input_text', 'input_image' or 'input_file'")
        if kind in _TEXT_PARTS:
            key = "refusal" if kind == "refusal" else "text"
            text = part.get(key)
            if type(text) is not str:
                raise wrong_type(f"{where}.{key}", "a string", text)
            texts.append(text)
        elif kind not in _OTHER_PARTS:
            raise _bad_value(f"{where}.type", "'input_text', 'input_image' or 'input_file'")
    return "\n".join(texts)


def _items(raw: Any) -> list[dict[str, Any]]:
    """The input as a list of normalised items (a string is one user message)."""
    if type(raw) is str:
        return [{"type": "message", "role": "user", "content": raw}]
    if type(raw) is not list:
        raise wrong_type("input", "a string or an array of input items", raw)
    items: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if type(item) is not dict:
            raise wrong_type(where, "an object", item)
        kind = item.get("type", "message")
        if type(kind) is not str:
            raise _bad_value(
                f"{where}.type", "'message', 'function_call' or 'function_call_output'"
            )
        if kind == "message":
            role = item.get("role")
            if role is None:
                raise _missing(f"{where}.role")
            if type(role) is not str or role not in _ROLES:
                raise _bad_value(f"{where}.role", "'user', 'system', 'developer' or 'assistant'")
            if "content" not in item:
                raise _missing(f"{where}.content")
            text = _content_text(item["content"], f"{where}.content")
            items.append({"type": "message", "role": role, "content": text})
        elif kind == "function_call":
            for key in ("call_id", "name", "arguments"):
                if type(item.get(key)) is not str:
                    raise (_missing if key not in item else _wrong_str)(f"{where}.{key}")
            items.append(
                {
                    "type": "function_call",
                    "call_id": item["call_id"],
                    "name": item["name"],
                    "arguments": item["arguments"],
                }  # fmt: skip
            )
        elif kind == "function_call_output":
            if type(item.get("call_id")) is not str:
                raise _missing(f"{where}.call_id")
            if "output" not in item:
                raise _missing(f"{where}.output")
            output = _content_text(item["output"], f"{where}.output")
            items.append({"type": "function_call_output", "call_id": item["call_id"],
                          "output": output})  # fmt: skip
        elif kind not in _IGNORED_ITEMS:
            raise _bad_value(
                f"{where}.type", "'message', 'function_call' or 'function_call_output'"
            )
    return items


def _wrong_str(param: str) -> APIError:
    return invalid(f"Invalid type for '{param}': expected a string.", param, "invalid_type")


def _messages(items: list[dict[str, Any]], instructions: str | None) -> tuple[str, str, int, str]:
    """last user text, whole prompt text, prompt tokens (as chat counts them), last role."""
    last_user = ""
    texts: list[str] = []
    tokens = 3  # the reply's priming tokens
    role = "user"
    if instructions:
        texts.append(instructions)
        tokens += 3 + count(instructions)
    for item in items:
        kind = item["type"]
        if kind == "message":
            role = item["role"]
            text = item["content"]
            if role == "user":
                last_user = text
        elif kind == "function_call":
            role = "assistant"
            text = ""
            tokens += count(orjson.dumps([item]).decode())
        else:
            role = "tool"
            text = item["output"]
        texts.append(text)
        tokens += 3 + count(text)
    return last_user, "\n".join(texts), tokens, role


def _tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(functions as the generator reads them, tools as echoed back)."""
    tools = body.get("tools")
    if tools is None:
        return [], []
    if type(tools) is not list:
        raise wrong_type("tools", "an array", tools)
    functions: list[dict[str, Any]] = []
    echoed: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if type(tool) is not dict:
            raise wrong_type(where, "an object", tool)
        if tool.get("type") != "function":
            raise invalid(
                f"Invalid value for '{where}.type': this mock serves 'function' tools only.",
                f"{where}.type",
                "invalid_value",
            )
        name = tool.get("name")
        if type(name) is not str or not name:
            raise _missing(f"{where}.name")
        params = tool.get("parameters")
        if params is not None and type(params) is not dict:
            raise wrong_type(f"{where}.parameters", "an object", params)
        strict = tool.get("strict", True)
        if type(strict) is not bool:
            raise wrong_type(f"{where}.strict", "a boolean", strict)
        functions.append({"name": name, "parameters": params or {}})
        echoed.append(
            {
                "type": "function",
                "name": name,
                "description": tool.get("description"),
                "parameters": params,
                "strict": strict,
            }  # fmt: skip
        )
    return functions, echoed


def _tool_choice(body: dict[str, Any], names: list[str]) -> tuple[str | None, Any]:
    """(what the generator reads, what is echoed back)."""
    choice = body.get("tool_choice")
    if choice is None:
        return ("auto" if names else None), "auto"
    if type(choice) is str:
        if choice not in ("none", "auto", "required"):
            raise _bad_value("tool_choice", "'none', 'auto', 'required' or a function")
        if choice == "required" and not names:
            raise invalid(
                "Invalid value for 'tool_choice': 'required' needs at least one tool.",
                "tool_choice",
                "invalid_value",
            )
        return (choice if names else None), choice
    if type(choice) is not dict:
        raise wrong_type("tool_choice", "a string or an object", choice)
    if choice.get("type") != "function":
        raise _bad_value("tool_choice.type", "'function'")
    name = choice.get("name")
    if type(name) is not str:
        raise _missing("tool_choice.name")
    if name not in names:
        raise invalid(
            f"Invalid value for 'tool_choice': no function named '{name}' in 'tools'.",
            "tool_choice",
            "invalid_value",
        )
    return name, {"type": "function", "name": name}


def _text_format(body: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """(format kind, JSON schema, the format as echoed back)."""
    text = body.get("text")
    if text is None:
        return "text", None, {"type": "text"}
    if type(text) is not dict:
        raise wrong_type("text", "an object", text)
    fmt = text.get("format")
    if fmt is None:
        return "text", None, {"type": "text"}
    if type(fmt) is not dict:
        raise wrong_type("text.format", "an object", fmt)
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return kind, None, {"type": kind}
    if kind != "json_schema":
        raise _bad_value("text.format.type", "'text', 'json_object' or 'json_schema'")
    name = fmt.get("name")
    if type(name) is not str or not name:
        raise _missing("text.format.name")
    schema = fmt.get("schema")
    if type(schema) is not dict:
        raise (_missing if schema is None else _wrong_obj)("text.format.schema")
    strict = fmt.get("strict")
    if strict is not None and type(strict) is not bool:
        raise wrong_type("text.format.strict", "a boolean", strict)
    echoed = {"type": "json_schema", "name": name, "schema": schema,
              "description": fmt.get("description"), "strict": strict}  # fmt: skip
    return kind, schema, echoed


def _wrong_obj(param: str) -> APIError:
    return invalid(f"Invalid type for '{param}': expected an object.", param, "invalid_type")


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    meta = body.get("metadata")
    if meta is None:
        return {}
    if type(meta) is not dict:
        raise wrong_type("metadata", "an object", meta)
    if len(meta) > MAX_METADATA:
        raise invalid(
            f"Invalid 'metadata': too many keys. Expected at most {MAX_METADATA}.",
            "metadata",
            "object_above_max_properties",
        )
    for key, value in meta.items():
        if type(value) is not str:
            raise wrong_type(f"metadata.{key}", "a string", value)
    return meta


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and type(value) is not str:
        raise wrong_type(name, "a string", value)
    return value


def decode(
    body: dict[str, Any], default_model: str, history: list[dict[str, Any]] | None
) -> ResponsesRequest:
    """`history`: the stored conversation of `previous_response_id`, looked up by the
    caller (None without one)."""
    if "input" not in body or body["input"] is None:
        raise _missing("input")
    items = _items(body["input"])
    if not items and not history:
        raise invalid("Invalid 'input': empty array.", "input", "empty_array")
    model = _model(body, default_model)
    instructions = _opt_str(body, "instructions")
    max_output = _opt_int(body, "max_output_tokens", lo=MIN_OUTPUT_TOKENS)
    temperature = _opt_number(body, "temperature", 0.0, 2.0)
    top_p = _opt_number(body, "top_p", 0.0, 1.0)
    seed = _opt_int(body, "seed")
    stream = _opt_bool(body, "stream")
    options = body.get("stream_options")
    if options is not None and type(options) is not dict:
        raise wrong_type("stream_options", "an object", options)
    store = body.get("store", True)
    if store is None:
        store = True
    if type(store) is not bool:
        raise wrong_type("store", "a boolean", store)
    parallel = body.get("parallel_tool_calls", True)
    if parallel is None:
        parallel = True
    if type(parallel) is not bool:
        raise wrong_type("parallel_tool_calls", "a boolean", parallel)
    functions, echoed_tools = _tools(body)
    picked, echoed_choice = _tool_choice(body, [fn["name"] for fn in functions])
    fmt, schema, echoed_format = _text_format(body)
    metadata = _metadata(body)
    user = _opt_str(body, "user")
    previous = _opt_str(body, "previous_response_id")
    conversation = [*(history or []), *items]
    last_user, prompt_text, tokens, last_role = _messages(conversation, instructions)
    tool_tokens = count(orjson.dumps(echoed_tools).decode()) if echoed_tools else 0
    common = Common(model, 1, max_output, (), seed, temperature, stream, False)
    chat = ChatRequest(
        common=common,
        last_user=last_user,
        prompt_text=prompt_text,
        prompt_tokens=tokens + tool_tokens,
        last_role=last_role,
        tools=functions,
        tool_choice=picked,
        response_format=fmt,
        json_schema=schema,
        logprobs=False,
        top_logprobs=0,
    )
    return ResponsesRequest(
        chat=chat,
        model=model,
        stream=stream,
        store=store,
        instructions=instructions,
        max_output_tokens=max_output,
        temperature=temperature,
        top_p=top_p,
        tools=echoed_tools,
        tool_choice=echoed_choice,
        parallel_tool_calls=parallel,
        text_format=echoed_format,
        metadata=metadata,
        user=user,
        previous_response_id=previous,
        conversation=conversation,
    )
