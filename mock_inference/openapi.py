"""The OpenAPI 3.0 document the service serves at /openapi.json.

Request schemas state what validation.py accepts, so fuzzers (schemathesis)
generate meaningful valid and invalid requests. Responses are sketched: every
error shares the OpenAI `Error` schema.
"""

from __future__ import annotations

from typing import Any

from . import __version__
from .config import Settings
from .messages import openapi as messages_openapi

_ERR = {"$ref": "#/components/schemas/ErrorResponse"}
_JSON_ERR = {"application/json": {"schema": _ERR}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid request",
        401: "Missing or wrong API key",
        404: "Unknown model or response",
        413: "Body too large",
        429: "Rate limited (injected)",
        500: "Server error (injected)",
    }
    return {str(c): {"description": text[c], "content": _JSON_ERR} for c in codes}


def _post(summary: str, schema: str, ok: dict[str, Any], auth: bool = True) -> dict[str, Any]:
    codes = (400, 401, 404, 413, 429, 500) if auth else (400, 404, 413)
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            },
            "responses": {"200": ok, **_errors(*codes)},
        }
    }


def _json_ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


_SSE_OK = {
    "description": "JSON object, or Server-Sent Events when stream is true",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/event-stream": {"schema": {"type": "string"}},
    },
}

_STOP = {
    "oneOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}, "maxItems": 4},
    ],
    "nullable": True,
}

_COMMON = {
    "model": {"type": "string", "minLength": 1},
    "n": {"type": "integer", "minimum": 1, "maximum": 128, "nullable": True},
    "max_tokens": {"type": "integer", "minimum": 1, "nullable": True},
    "stop": _STOP,
    "seed": {"type": "integer", "nullable": True},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2, "nullable": True},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2, "nullable": True},
    "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2, "nullable": True},
    "stream": {"type": "boolean", "nullable": True},
    "stream_options": {
        "type": "object",
        "nullable": True,
        "properties": {"include_usage": {"type": "boolean"}},
    },
}

# tokenize_request.shape_of, in words.
_TOKENIZE_RULE = (
    "The body of any of the served APIs; the count is that API's input usage for the same "
    "request. `input` is a Responses request (usage.input_tokens of /v1/responses); "
    "`messages` with a top-level `system`, an Anthropic content block (tool_use, "
    "tool_result, image, document, thinking, ...) or an Anthropic tool (`input_schema`) is a "
    "Messages request (usage.input_tokens of /v1/messages; max_tokens not needed); other "
    "`messages` is chat, as in vLLM (usage.prompt_tokens); `prompt` is completions. "
    "`model` is optional."
)

_SCHEMAS: dict[str, Any] = {
    "ErrorResponse": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": "string", "nullable": True},
                    "code": {"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
                },
            }
        },
    },
    "ContentPart": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["text", "image_url", "input_audio", "file"]},
            "text": {"type": "string"},
        },
    },
    "Message": {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
            "content": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/ContentPart"}},
                ]
            },
            "name": {"type": "string"},
        },
    },
    "Tool": {
        "type": "object",
        "required": ["type", "function"],
        "properties": {
            "type": {"type": "string", "enum": ["function"]},
            "function": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "parameters": {"type": "object"},
                },
            },
        },
    },
    "ChatCompletionRequest": {
        "type": "object",
        "required": ["messages"],
        "properties": {
            **_COMMON,
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/Message"},
            },
            "max_completion_tokens": {"type": "integer", "minimum": 1, "nullable": True},
            "tools": {"type": "array", "items": {"$ref": "#/components/schemas/Tool"}},
            "tool_choice": {
                "oneOf": [
                    {"type": "string", "enum": ["none", "auto", "required"]},
                    {
                        "type": "object",
                        "required": ["type", "function"],
                        "properties": {
                            "type": {"type": "string", "enum": ["function"]},
                            "function": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                ]
            },
            "response_format": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string", "enum": ["text", "json_object", "json_schema"]},
                    "json_schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "schema": {"type": "object"},
                            "strict": {"type": "boolean"},
                        },
                    },
                },
            },
            "logprobs": {"type": "boolean", "nullable": True},
            "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20, "nullable": True},
        },
    },
    "CompletionRequest": {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            **_COMMON,
            "prompt": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
            "echo": {"type": "boolean", "nullable": True},
            "logprobs": {"type": "integer", "minimum": 0, "maximum": 5, "nullable": True},
        },
    },
    "EmbeddingRequest": {
        "type": "object",
        "required": ["input"],
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "input": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 64,
                        "items": {"type": "string", "minLength": 1},
                    },
                ]
            },
            "encoding_format": {"type": "string", "enum": ["float", "base64"]},
            "dimensions": {"type": "integer", "minimum": 1, "maximum": 4096},
        },
    },
    "ResponseInputItem": {
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "enum": ["message", "function_call", "function_call_output"],
            },
            "role": {"type": "string", "enum": ["user", "system", "developer", "assistant"]},
            "content": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {"type": "string", "enum": ["input_text", "output_text"]},
                                "text": {"type": "string"},
                            },
                        },
                    },
                ]
            },
            "call_id": {"type": "string"},
            "name": {"type": "string"},
            "arguments": {"type": "string"},
            "output": {"type": "string"},
        },
    },
    "ResponseRequest": {
        "type": "object",
        "required": ["input"],
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "input": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/ResponseInputItem"},
                    },
                ]
            },
            "instructions": {"type": "string", "nullable": True},
            "max_output_tokens": {"type": "integer", "minimum": 16, "nullable": True},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2, "nullable": True},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
            "seed": {"type": "integer", "nullable": True},
            "stream": {"type": "boolean", "nullable": True},
            "store": {"type": "boolean", "nullable": True},
            "parallel_tool_calls": {"type": "boolean", "nullable": True},
            "previous_response_id": {"type": "string", "nullable": True},
            "user": {"type": "string"},
            "metadata": {
                "type": "object",
                "maxProperties": 16,
                "additionalProperties": {"type": "string"},
            },
            "tools": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "name"],
                    "properties": {
                        "type": {"type": "string", "enum": ["function"]},
                        "name": {"type": "string", "minLength": 1},
                        "description": {"type": "string"},
                        "parameters": {"type": "object"},
                        "strict": {"type": "boolean"},
                    },
                },
            },
            "tool_choice": {
                "oneOf": [
                    {"type": "string", "enum": ["none", "auto", "required"]},
                    {
                        "type": "object",
                        "required": ["type", "name"],
                        "properties": {
                            "type": {"type": "string", "enum": ["function"]},
                            "name": {"type": "string"},
                        },
                    },
                ]
            },
            "text": {
                "type": "object",
                "properties": {
                    "format": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {
                            "type": {
                                "type": "string",
                                "enum": ["text", "json_object", "json_schema"],
                            },
                            "name": {"type": "string"},
                            "schema": {"type": "object"},
                            "strict": {"type": "boolean"},
                        },
                    }
                },
            },
        },
    },
    "TokenizeCompletionRequest": {
        "type": "object",
        "required": ["prompt"],
        "properties": {"model": {"type": "string", "minLength": 1}, "prompt": {"type": "string"}},
    },
    "TokenizeChatRequest": {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/Message"},
            },
            "tools": {"type": "array", "items": {"$ref": "#/components/schemas/Tool"}},
        },
    },
    "TokenizeRequest": {
        "description": _TOKENIZE_RULE,
        "anyOf": [
            {"$ref": "#/components/schemas/TokenizeCompletionRequest"},
            {"$ref": "#/components/schemas/TokenizeChatRequest"},
            {"$ref": "#/components/schemas/ResponseRequest"},
            {"$ref": "#/components/schemas/TokenizeMessagesRequest"},
        ],
    },
}


def document(settings: Settings) -> dict[str, Any]:
    model_param = {
        "name": "model_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "example": settings.model_name},
    }
    response_param = {
        "name": "response_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "example": "resp_0123456789abcdef01234567"},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mock OpenAI-compatible inference service",
            "version": __version__,
            "description": "A vLLM look-alike for local development. See mock_inference/README.md.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/v1/chat/completions": _post("Chat completion", "ChatCompletionRequest", _SSE_OK),
            "/v1/completions": _post("Legacy text completion", "CompletionRequest", _SSE_OK),
            "/v1/responses": _post(
                "Response (OpenAI Responses API)",
                "ResponseRequest",
                {
                    "description": "Response object, or typed events when stream is true",
                    "content": _SSE_OK["content"],
                },
            ),
            "/v1/responses/{response_id}": {
                "parameters": [response_param],
                "get": {
                    "summary": "A stored response",
                    "responses": {"200": _json_ok("Response object"), **_errors(401, 404)},
                },
                "delete": {
                    "summary": "Delete a stored response",
                    "responses": {"200": _json_ok("Deletion status"), **_errors(401, 404)},
                },
            },
            "/v1/embeddings": _post("Embeddings", "EmbeddingRequest", _json_ok("Vectors")),
            **messages_openapi.PATHS,
            "/v1/models": {
                "get": {
                    "summary": "List served models",
                    "responses": {"200": _json_ok("Model list"), **_errors(401, 429, 500)},
                }
            },
            "/v1/models/{model_id}": {
                "get": {
                    "summary": "One served model",
                    "parameters": [model_param],
                    "responses": {"200": _json_ok("Model card"), **_errors(401, 404, 429, 500)},
                }
            },
            "/tokenize": _post(
                "Tokenize a completions, chat, Responses or Messages request",
                "TokenizeRequest",
                {
                    "description": "Token ids, as many as the API's input usage",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["count", "max_model_len", "tokens"],
                                "properties": {
                                    "count": {"type": "integer"},
                                    "max_model_len": {"type": "integer"},
                                    "tokens": {"type": "array", "items": {"type": "integer"}},
                                },
                            }
                        }
                    },
                },
                False,
            ),
            "/health": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "OK"}}}
            },
            "/version": {"get": {"summary": "Version", "responses": {"200": _json_ok("Version")}}},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": {**_SCHEMAS, **messages_openapi.SCHEMAS}},
    }
