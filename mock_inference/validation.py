"""Hand-written request validation: fast on the hot path, OpenAI-style messages.

pydantic would cost more than the whole rest of a request here; these checks are
a handful of isinstance calls for a typical body. Errors name the offending
parameter the way OpenAI does (`messages[0].content`) and are 400s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import APIError, invalid
from .tokenizer import count

_ROLES = frozenset(("system", "developer", "user", "assistant", "tool", "function"))
_PART_TYPES = frozenset(("text", "image_url", "input_audio", "file", "refusal", "video_url"))
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a decimal",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    type(None): "null",
}
MAX_N = 128
MAX_STOP = 4
MAX_DIMENSIONS = 16384


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def wrong_type(param: str, expected: str, value: Any) -> APIError:
    return invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
        code="invalid_type",
    )


def parse_json(body: bytes) -> dict[str, Any]:
    if not body:
        raise invalid("The request body is empty; expected a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid(
            f"We could not parse the JSON body of your request. ({exc})", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise invalid(
            f"The request body must be a JSON object, not {_kind(data)}.", code="invalid_json"
        )
    return data


def _opt_int(
    body: dict[str, Any], name: str, lo: int | None = None, hi: int | None = None
) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int:
        raise wrong_type(name, "an integer", value)
    if lo is not None and value < lo:
        raise invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {lo}, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if hi is not None and value > hi:
        raise invalid(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {hi}, "
            f"but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


def _opt_number(body: dict[str, Any], name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) not in (int, float):
        raise wrong_type(name, "a number", value)
    if not lo <= value <= hi:
        raise invalid(
            f"Invalid '{name}': expected a value between {lo} and {hi}, but got {value}.",
            param=name,
            code="decimal_out_of_range",
        )
    return float(value)


def _opt_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if type(value) is not bool:
        raise wrong_type(name, "a boolean", value)
    return value


def _model(body: dict[str, Any], default: str) -> str:
    model = body.get("model")
    if model is None:
        return default  # vLLM treats model as optional and uses the served one
    if type(model) is not str:
        raise wrong_type("model", "a string", model)
    if not model:
        raise invalid("Invalid 'model': empty string.", param="model", code="empty_string")
    return model


def _stop(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if type(stop) is str:
        return (stop,)
    if type(stop) is not list:
        raise wrong_type("stop", "a string or an array of strings", stop)
    if len(stop) > MAX_STOP:
        raise invalid(
            f"Invalid 'stop': array too long. Expected at most {MAX_STOP} items.",
            param="stop",
            code="array_above_max_length",
        )
    for i, item in enumerate(stop):
        if type(item) is not str:
            raise wrong_type(f"stop[{i}]", "a string", item)
    return tuple(stop)


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = _opt_int(body, "max_completion_tokens", lo=1)
    legacy = _opt_int(body, "max_tokens", lo=1)
    return value if value is not None else legacy


def _stream(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = _opt_bool(body, "stream")
    options = body.get("stream_options")
    if options is None:
        return stream, False
    if type(options) is not dict:
        raise wrong_type("stream_options", "an object", options)
    if not stream:
        raise invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    include = options.get("include_usage")
    if include is not None and type(include) is not bool:
        raise wrong_type("stream_options.include_usage", "a boolean", include)
    return stream, bool(include)


@dataclass(slots=True)
class Common:
    model: str
    n: int
    max_tokens: int | None
    stop: tuple[str, ...]
    seed: int | None
    temperature: float | None
    stream: bool
    include_usage: bool


# Parameters _common checks; a body with none of them skips straight to the defaults.
_COMMON_KEYS = frozenset(
    ("n", "temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "stream",
     "stream_options", "max_tokens", "max_completion_tokens", "stop")
)  # fmt: skip


def _common(body: dict[str, Any], default_model: str) -> Common:
    model = _model(body, default_model)
    if _COMMON_KEYS.isdisjoint(body):
        return Common(model, 1, None, (), None, None, False, False)
    n = _opt_int(body, "n", lo=1, hi=MAX_N)
    temperature = _opt_number(body, "temperature", 0.0, 2.0)
    _opt_number(body, "top_p", 0.0, 1.0)
    _opt_number(body, "presence_penalty", -2.0, 2.0)
    _opt_number(body, "frequency_penalty", -2.0, 2.0)
    seed = _opt_int(body, "seed")
    stream, include_usage = _stream(body)
    return Common(
        model=model,
        n=1 if n is None else n,
        max_tokens=_max_tokens(body),
        stop=_stop(body),
        seed=seed,
        temperature=temperature,
        stream=stream,
        include_usage=include_usage,
    )


@dataclass(slots=True)
class ChatRequest:
    common: Common
    last_user: str
    prompt_text: str
    prompt_tokens: int
    last_role: str
    tools: list[dict[str, Any]]
    tool_choice: str | None  # "none" | "auto" | "required" | a function name
    response_format: str  # "text" | "json_object" | "json_schema"
    json_schema: Any
    logprobs: bool
    top_logprobs: int


def content_text(content: Any, param: str, role: str) -> str:
    if type(content) is str:
        return content
    if content is None:
        if role in ("assistant", "function"):
            return ""  # assistant turns that only carry tool_calls
        raise wrong_type(param, "a string or an array of objects", content)
    if type(content) is not list:
        raise wrong_type(param, "a string or an array of objects", content)
    texts: list[str] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if type(part) is not dict:
            raise wrong_type(where, "an object", part)
        kind = part.get("type")
        if type(kind) is not str or kind not in _PART_TYPES:
            raise invalid(
                f"Invalid value for '{where}.type': expected one of {sorted(_PART_TYPES)}.",
                param=f"{where}.type",
                code="invalid_value",
            )
        if kind == "text" or kind == "refusal":
            text = part.get(kind)
            if type(text) is not str:
                raise wrong_type(f"{where}.{kind}", "a string", text)
            texts.append(text)
    return "\n".join(texts)


def _messages(body: dict[str, Any]) -> tuple[str, str, int, str]:
    messages = body.get("messages")
    if messages is None:
        raise invalid(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    if type(messages) is not list:
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    last_user = ""
    texts: list[str] = []
    tokens = 3  # the reply's priming tokens, as OpenAI counts them
    role = "user"
    for i, msg in enumerate(messages):
        if type(msg) is not dict:
            raise wrong_type(f"messages[{i}]", "an object", msg)
        raw_role = msg.get("role")
        if type(raw_role) is not str or raw_role not in _ROLES:
            if raw_role is None:
                raise invalid(
                    f"Missing required parameter: 'messages[{i}].role'.",
                    param=f"messages[{i}].role",
                    code="missing_required_parameter",
                )
            raise invalid(
                f"Invalid value for 'messages[{i}].role': expected one of {sorted(_ROLES)}.",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        role = raw_role
        if "content" not in msg and role not in ("assistant",):
            raise invalid(
                f"Missing required parameter: 'messages[{i}].content'.",
                param=f"messages[{i}].content",
                code="missing_required_parameter",
            )
        text = content_text(msg.get("content"), f"messages[{i}].content", role)
        if role == "tool" and type(msg.get("tool_call_id")) is not str:
            raise invalid(
                f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                param=f"messages[{i}].tool_call_id",
                code="missing_required_parameter",
            )
        calls = msg.get("tool_calls")
        if calls is not None:
            if type(calls) is not list:
                raise wrong_type(f"messages[{i}].tool_calls", "an array", calls)
            # Their JSON counts towards the prompt, as the model would read it.
            tokens += count(orjson.dumps(calls).decode())
        if role == "user":
            last_user = text
        texts.append(text)
        tokens += 3 + count(text)
    return last_user, "\n".join(texts), tokens, role


def _tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, int]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None or tools == []:
        if choice is not None and choice != "none":
            raise invalid(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
                code="invalid_value",
            )
        return [], None, 0
    if type(tools) is not list:
        raise wrong_type("tools", "an array", tools)
    functions: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if type(tool) is not dict:
            raise wrong_type(f"tools[{i}]", "an object", tool)
        if tool.get("type", "function") != "function":
            raise invalid(
                f"Invalid value for 'tools[{i}].type': expected 'function'.",
                param=f"tools[{i}].type",
                code="invalid_value",
            )
        fn = tool.get("function")
        if type(fn) is not dict:
            raise wrong_type(f"tools[{i}].function", "an object", fn)
        name = fn.get("name")
        if type(name) is not str or not name:
            raise invalid(
                f"Missing required parameter: 'tools[{i}].function.name'.",
                param=f"tools[{i}].function.name",
                code="missing_required_parameter",
            )
        params = fn.get("parameters")
        if params is not None and type(params) is not dict:
            raise wrong_type(f"tools[{i}].function.parameters", "an object", params)
        functions.append(fn)
    names = [fn["name"] for fn in functions]
    if choice is None:
        picked: str | None = "auto"
    elif type(choice) is str:
        if choice not in ("none", "auto", "required"):
            raise invalid(
                "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or an "
                "object naming a function.",
                param="tool_choice",
                code="invalid_value",
            )
        picked = choice
    elif type(choice) is dict:
        fn = choice.get("function")
        name = fn.get("name") if type(fn) is dict else None
        if type(name) is not str:
            raise invalid(
                "Missing required parameter: 'tool_choice.function.name'.",
                param="tool_choice.function.name",
                code="missing_required_parameter",
            )
        if name not in names:
            raise invalid(
                f"Invalid value for 'tool_choice': no function named '{name}' in 'tools'.",
                param="tool_choice",
                code="invalid_value",
            )
        picked = name
    else:
        raise wrong_type("tool_choice", "a string or an object", choice)
    return functions, picked, count(orjson.dumps(tools).decode())


def _response_format(body: dict[str, Any]) -> tuple[str, Any]:
    fmt = body.get("response_format")
    if fmt is None:
        return "text", None
    if type(fmt) is not dict:
        raise wrong_type("response_format", "an object", fmt)
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return kind, None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if type(spec) is not dict:
            raise invalid(
                "Missing required parameter: 'response_format.json_schema'.",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        if type(spec.get("name")) is not str:
            raise invalid(
                "Missing required parameter: 'response_format.json_schema.name'.",
                param="response_format.json_schema.name",
                code="missing_required_parameter",
            )
        schema = spec.get("schema", {})
        if type(schema) is not dict:
            raise wrong_type("response_format.json_schema.schema", "an object", schema)
        return kind, schema
    raise invalid(
        "Invalid value for 'response_format.type': expected 'text', 'json_object' or "
        "'json_schema'.",
        param="response_format.type",
        code="invalid_value",
    )


def chat(body: dict[str, Any], default_model: str) -> ChatRequest:
    last_user, prompt_text, prompt_tokens, last_role = _messages(body)
    common = _common(body, default_model)
    tools, tool_choice, tool_tokens = _tools(body)
    fmt, schema = _response_format(body)
    logprobs = _opt_bool(body, "logprobs")
    top = _opt_int(body, "top_logprobs", lo=0, hi=20)
    if top and not logprobs:
        raise invalid(
            "Invalid value for 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is set.",
            param="top_logprobs",
            code="invalid_value",
        )
    return ChatRequest(
        common=common,
        last_user=last_user,
        prompt_text=prompt_text,
        prompt_tokens=prompt_tokens + tool_tokens,
        last_role=last_role,
        tools=tools,
        tool_choice=tool_choice,
        response_format=fmt,
        json_schema=schema,
        logprobs=logprobs,
        top_logprobs=top or 0,
    )


@dataclass(slots=True)
class CompletionRequest:
    common: Common
    prompts: list[tuple[str, int]]  # (text, prompt tokens)
    echo: bool
    logprobs: int | None


def _token_list(value: list[Any], param: str) -> None:
    for j, tok in enumerate(value):
        if type(tok) is not int:
            raise wrong_type(f"{param}[{j}]", "an integer", tok)


def completion(body: dict[str, Any], default_model: str) -> CompletionRequest:
    prompt = body.get("prompt")
    if prompt is None:
        raise invalid(
            "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    prompts: list[tuple[str, int]] = []
    if type(prompt) is str:
        prompts.append((prompt, count(prompt)))
    elif type(prompt) is list:
        if not prompt:
            raise invalid("Invalid 'prompt': empty array.", param="prompt", code="empty_array")
        if all(type(p) is int for p in prompt):
            prompts.append(("", len(prompt)))  # one prompt given as token ids
        else:
            for i, item in enumerate(prompt):
                if type(item) is str:
                    prompts.append((item, count(item)))
                elif type(item) is list:
                    _token_list(item, f"prompt[{i}]")
                    prompts.append(("", len(item)))
                else:
                    raise wrong_type(f"prompt[{i}]", "a string or an array of integers", item)
    else:
        raise wrong_type("prompt", "a string or an array", prompt)
    common = _common(body, default_model)
    logprobs = _opt_int(body, "logprobs", lo=0, hi=5)
    return CompletionRequest(
        common=common, prompts=prompts, echo=_opt_bool(body, "echo"), logprobs=logprobs
    )


@dataclass(slots=True)
class EmbeddingRequest:
    model: str
    inputs: list[str | list[int]]
    encoding: str
    dimensions: int | None


def embedding(body: dict[str, Any], default_model: str) -> EmbeddingRequest:
    model = _model(body, default_model)
    raw = body.get("input")
    if raw is None:
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    inputs: list[str | list[int]]
    if type(raw) is str:
        inputs = [raw]
    elif type(raw) is list:
        if not raw:
            raise invalid("Invalid 'input': empty array.", param="input", code="empty_array")
        if all(type(t) is int for t in raw):
            inputs = [raw]
        else:
            inputs = []
            for i, item in enumerate(raw):
                if type(item) is str:
                    inputs.append(item)
                elif type(item) is list and item:
                    _token_list(item, f"input[{i}]")
                    inputs.append(item)
                else:
                    raise wrong_type(
                        f"input[{i}]", "a string or a non-empty array of integers", item
                    )
    else:
        raise wrong_type("input", "a string or an array", raw)
    for i, item in enumerate(inputs):
        if item == "":
            raise invalid(
                f"Invalid 'input[{i}]': empty string.", param="input", code="empty_string"
            )
    encoding = body.get("encoding_format")
    if encoding is None:
        encoding = "float"
    elif encoding not in ("float", "base64"):
        raise invalid(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    dims = _opt_int(body, "dimensions", lo=1, hi=MAX_DIMENSIONS)
    return EmbeddingRequest(model=model, inputs=inputs, encoding=encoding, dimensions=dims)


@dataclass(slots=True)
class TokenizeRequest:
    model: str
    text: str
    count: int


def tokenize(body: dict[str, Any], default_model: str) -> TokenizeRequest:
    """vLLM's two /tokenize bodies: chat (`messages`, counted as chat's usage counts
    the prompt, tools included) or completions (`prompt`)."""
    model = _model(body, default_model)
    if "messages" in body:
        _, text, tokens, _ = _messages(body)
        _, _, tool_tokens = _tools(body)
        return TokenizeRequest(model=model, text=text, count=tokens + tool_tokens)
    prompt = body.get("prompt")
    if prompt is None:
        raise invalid(
            "Missing required parameter: 'prompt' (or 'messages', or 'input').",
            param="prompt",
            code="missing_required_parameter",
        )
    if type(prompt) is not str:
        raise wrong_type("prompt", "a string", prompt)
    return TokenizeRequest(model=model, text=prompt, count=count(prompt))
