"""OpenAPI paths and schemas of the Messages routes (merged by openapi.document).

Request schemas state what decode.py accepts, so schemathesis generates meaningful
valid and invalid bodies; errors use Anthropic's shape.
"""

from __future__ import annotations

from typing import Any

_ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/AnthropicError"}}}
_ERROR_TEXT = {
    400: "Invalid request",
    401: "Missing or wrong x-api-key",
    404: "Unknown model",
    413: "Body too large",
    429: "Rate limited (injected)",
    500: "Server error (injected)",
    529: "Overloaded (injected)",
}

_TEXT_BLOCK = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}},
}
_BLOCK = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["text", "image", "document", "tool_use", "tool_result", "thinking"],
        },
        "text": {"type": "string"},
        "id": {"type": "string"},
        "name": {"type": "string"},
        "input": {"type": "object"},
        "tool_use_id": {"type": "string"},
        "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": _TEXT_BLOCK}]},
        "source": {"type": "object"},
    },
}
_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": _BLOCK}]},
    },
}
_TOOL = {
    "type": "object",
    "required": ["name", "input_schema"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "input_schema": {"type": "object"},
    },
}
_TOOL_CHOICE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["auto", "any", "tool", "none"]},
        "name": {"type": "string"},
        "disable_parallel_tool_use": {"type": "boolean"},
    },
}
_PROMPT = {
    "model": {"type": "string", "minLength": 1},
    "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
    "system": {"oneOf": [{"type": "string"}, {"type": "array", "items": _TEXT_BLOCK}]},
    "tools": {"type": "array", "items": _TOOL},
    "tool_choice": _TOOL_CHOICE,
}

SCHEMAS: dict[str, Any] = {
    "AnthropicError": {
        "type": "object",
        "required": ["type", "error"],
        "properties": {
            "type": {"type": "string", "enum": ["error"]},
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            },
            "request_id": {"type": "string"},
        },
    },
    "MessagesRequest": {
        "type": "object",
        "required": ["model", "max_tokens", "messages"],
        "properties": {
            **_PROMPT,
            "max_tokens": {"type": "integer", "minimum": 1},
            "stop_sequences": {"type": "array", "items": {"type": "string"}},
            "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "top_k": {"type": "integer", "minimum": 0},
            "stream": {"type": "boolean"},
            "metadata": {"type": "object", "properties": {"user_id": {"type": "string"}}},
            "output_config": {
                "type": "object",
                "properties": {
                    "format": {
                        "type": "object",
                        "required": ["type", "schema"],
                        "properties": {
                            "type": {"type": "string", "enum": ["json_schema"]},
                            "schema": {"type": "object"},
                        },
                    }
                },
            },
        },
    },
    "CountTokensRequest": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": _PROMPT,
    },
    # POST /tokenize with a Messages body (openapi.py's TokenizeRequest): model optional,
    # max_tokens accepted and not needed.
    "TokenizeMessagesRequest": {
        "type": "object",
        "required": ["messages"],
        "properties": {**_PROMPT, "max_tokens": {"type": "integer", "minimum": 1}},
    },
}


def _post(summary: str, schema: str, ok: dict[str, Any]) -> dict[str, Any]:
    errors = {str(c): {"description": t, "content": _ERR} for c, t in _ERROR_TEXT.items()}
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {"name": "anthropic-version", "in": "header", "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            },
            "responses": {"200": ok, **errors},
        }
    }


PATHS: dict[str, Any] = {
    "/v1/messages": _post(
        "Anthropic Messages API: one assistant turn",
        "MessagesRequest",
        {
            "description": "Message object, or Server-Sent Events when stream is true",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/event-stream": {"schema": {"type": "string"}},
            },
        },
    ),
    "/v1/messages/count_tokens": _post(
        "Anthropic token count of a Messages request",
        "CountTokensRequest",
        {
            "description": "Token count",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["input_tokens"],
                        "properties": {"input_tokens": {"type": "integer"}},
                    }
                }
            },
        },
    ),
}
