"""The OpenAI Responses API on the wire: the response object and its typed events.

`POST /v1/responses` decodes into the same Turn request as chat (responses_request.py),
so replies, tool choice, JSON values and token counts are chat's. This module owns
the response object (`resp_` ids, `message` / `function_call` output items, usage with
its details objects, the echo of the request's settings), the typed event stream
(`event:` lines, strictly increasing `sequence_number`, no `[DONE]`), and the stored
responses behind `GET`/`DELETE /v1/responses/{id}` and `previous_response_id`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .. import choices as choice_builder
from .. import validation
from ..choices import Choice
from ..errors import APIError, error_reply
from ..flow import OpenAIShaped
from ..fresh import now
from ..ids import new_id
from ..reply import Reply
from ..state import State
from ..turn import Turn
from .responses_request import ResponsesRequest, decode

ROUTE = "/v1/responses"


def _not_found(rid: str, param: str | None = None) -> APIError:
    if param:
        return APIError(
            400,
            f"Previous response with id '{rid}' not found.",
            param=param,
            code="previous_response_not_found",
        )
    return APIError(404, f"Response with id '{rid}' not found.", code="not_found")


def _item(choice: Choice, item_id: str, status: str) -> dict[str, Any]:
    call = choice.tool_call
    if call is not None:
        return {"id": item_id, "type": "function_call", "status": status,
                "call_id": call.id, "name": call.name, "arguments": call.arguments}  # fmt: skip
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [_part(choice.content or "")],
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


class Rendered:
    """One response's object at each stage; the stream and the body share it."""

    def __init__(self, req: ResponsesRequest, turn: Turn) -> None:
        self.req = req
        self.turn = turn
        self.id = new_id("resp_")
        self.created = now()
        self.choice = turn.choices[0]
        prefix = "fc_" if self.choice.tool_call is not None else "msg_"
        self.item_id = new_id(prefix)
        self.status = "incomplete" if self.choice.finish_reason == "length" else "completed"

    def item(self, status: str | None = None) -> dict[str, Any]:
        return _item(self.choice, self.item_id, status or self.status)

    def body(self, status: str, output: list[dict[str, Any]], error: Any = None) -> dict[str, Any]:
        req = self.req
        done = status in ("completed", "incomplete")
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": False,
            "completed_at": now() if done else None,
            "error": error,
            "incomplete_details": {"reason": "max_output_tokens"}
            if status == "incomplete"
            else None,
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "max_tool_calls": None,
            "metadata": req.metadata,
            "model": req.model,
            "output": output,
            "parallel_tool_calls": req.parallel_tool_calls,
            "previous_response_id": req.previous_response_id,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": req.store,
            "temperature": 1.0 if req.temperature is None else req.temperature,
            "text": {"format": req.text_format, "verbosity": "medium"},
            "tool_choice": req.tool_choice,
            "tools": req.tools,
            "top_logprobs": 0,
            "top_p": 1.0 if req.top_p is None else req.top_p,
            "truncation": "disabled",
            "usage": self.usage() if done or status == "failed" else None,
            "user": req.user,
        }

    def usage(self) -> dict[str, Any]:
        inp, out = self.turn.prompt_tokens, self.turn.completion_tokens
        return {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inp + out,
        }

    def final(self) -> dict[str, Any]:
        return self.body(self.status, [self.item()])

    def record(self, body: dict[str, Any]) -> tuple[str, bytes] | None:
        """What `store: true` keeps of this response: the object and its conversation."""
        if not self.req.store:
            return None
        conversation = [*self.req.conversation, *body["output"]]
        return self.id, orjson.dumps({"response": body, "conversation": conversation})

    def save(self, state: State, body: dict[str, Any]) -> None:
        kept = self.record(body)
        if kept is not None:
            state.responses.put(*kept)


class ResponsesEndpoint(OpenAIShaped):
    route = ROUTE

    def decode(self, state: State, body: bytes) -> ResponsesRequest:
        data = validation.parse_json(body)
        previous = data.get("previous_response_id")
        history: list[dict[str, Any]] | None = None
        if previous is not None:
            if type(previous) is not str:
                raise validation.wrong_type("previous_response_id", "a string", previous)
            stored = state.responses.get(previous)
            if stored is None:
                raise _not_found(previous, "previous_response_id")
            history = _history(orjson.loads(stored)["conversation"])
        req = decode(data, state.settings.model_name, history)
        state.check_model(req.model)
        return req

    def reusable(self, req: ResponsesRequest) -> bool:
        return req.previous_response_id is None

    def prompt_tokens(self, req: ResponsesRequest) -> int:
        return req.chat.prompt_tokens

    def streams(self, req: ResponsesRequest) -> bool:
        return req.stream

    def generate(self, state: State, req: ResponsesRequest, headers: Mapping[str, str]) -> Turn:
        strategy = state.pick_strategy(headers)
        built = choice_builder.build(req.chat, strategy, state.settings.auto_tool_calls)
        return Turn(built, req.chat.prompt_tokens)

    def encode(self, state: State, req: ResponsesRequest, turn: Turn) -> Reply:
        rendered = Rendered(req, turn)
        body = rendered.final()
        return Reply(
            200, orjson.dumps(body), {"x-request-id": rendered.id}, keep=rendered.record(body)
        )

    def stream(self, state: State, req: ResponsesRequest, turn: Turn) -> ResponsesStream:
        return ResponsesStream(state, Rendered(req, turn))


def _history(conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored items as input items again: output messages become assistant text."""
    out: list[dict[str, Any]] = []
    for item in conversation:
        if item.get("type") == "message" and isinstance(item.get("content"), list):
            text = "".join(part.get("text", "") for part in item["content"])
            out.append({"type": "message", "role": item.get("role", "assistant"),
                        "content": text})  # fmt: skip
        elif item.get("type") == "function_call":
            out.append({key: item[key] for key in ("type", "call_id", "name", "arguments")})
        else:
            out.append(item)
    return out


class ResponsesStream:
    """created → in_progress → output_item.added → (content_part.added →
    output_text.delta… → output_text.done → content_part.done | function_call_arguments
    .delta… → .done) → output_item.done → completed (or incomplete)."""

    def __init__(self, state: State, rendered: Rendered) -> None:
        self.state = state
        self.r = rendered
        self.request_id = rendered.id
        self.seq = 0
        self.is_call = rendered.choice.tool_call is not None

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        data = orjson.dumps({"type": kind, "sequence_number": self.seq, **payload})
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

    def headers(self) -> dict[str, str]:
        return {"x-request-id": self.request_id}

    def preamble(self) -> Iterable[bytes]:
        yield self._event("response.created", {"response": self.r.body("in_progress", [])})
        yield self._event("response.in_progress", {"response": self.r.body("in_progress", [])})

    def opening(self) -> Iterable[bytes]:
        r = self.r
        added = r.item("in_progress")
        if self.is_call:
            added["arguments"] = ""
        else:
            added["content"] = []
        yield self._event("response.output_item.added", {"output_index": 0, "item": added})
        if not self.is_call:
            yield self._event(
                "response.content_part.added",
                {
                    "item_id": r.item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": _part(""),
                },  # fmt: skip
            )

    def step(self, k: int) -> Iterable[bytes]:
        r = self.r
        piece = r.choice.steps[k]
        if self.is_call:
            yield self._event(
                "response.function_call_arguments.delta",
                {"item_id": r.item_id, "output_index": 0, "delta": piece},
            )
        else:
            yield self._event(
                "response.output_text.delta",
                {
                    "item_id": r.item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                    "logprobs": [],
                },  # fmt: skip
            )

    def closing(self) -> Iterable[bytes]:
        r = self.r
        where = {"item_id": r.item_id, "output_index": 0}
        call = r.choice.tool_call
        if call is not None:
            yield self._event(
                "response.function_call_arguments.done",
                {**where, "name": call.name, "arguments": call.arguments},
            )
        else:
            text = r.choice.content or ""
            yield self._event(
                "response.output_text.done",
                {**where, "content_index": 0, "text": text, "logprobs": []},
            )
            yield self._event(
                "response.content_part.done", {**where, "content_index": 0, "part": _part(text)}
            )
        yield self._event("response.output_item.done", {"output_index": 0, "item": r.item()})
        body = r.final()
        r.save(self.state, body)
        yield self._event(f"response.{body['status']}", {"response": body})

    def failure(self, message: str) -> bytes:
        error = {"code": "server_error", "message": message}
        body = self.r.body("failed", [], error)
        self.r.save(self.state, body)
        return self._event("error", {**error, "param": None}) + self._event(
            "response.failed", {"response": body}
        )


async def get_stored(state: State, headers: Any, rid: str) -> Reply:
    try:
        state.authorize(headers)
        state.faults.check("GET", f"{ROUTE}/{rid}", headers, b"")  # 429/5xx, fail-first
        stored = await state.responses.fetch(rid)
        if stored is None:
            raise _not_found(rid)
    except APIError as exc:
        state.metrics.http[(ROUTE + "/{id}", exc.status_code)] += 1
        return error_reply(exc)
    state.metrics.http[(ROUTE + "/{id}", 200)] += 1
    return Reply(200, orjson.dumps(orjson.loads(stored)["response"]))


async def delete_stored(state: State, headers: Any, rid: str) -> Reply:
    try:
        state.authorize(headers)
        state.faults.check("DELETE", f"{ROUTE}/{rid}", headers, b"")
        if not await state.responses.delete(rid):
            raise _not_found(rid)
    except APIError as exc:
        state.metrics.http[(ROUTE + "/{id}", exc.status_code)] += 1
        return error_reply(exc)
    state.metrics.http[(ROUTE + "/{id}", 200)] += 1
    return Reply(200, orjson.dumps({"id": rid, "object": "response", "deleted": True}))


RESPONSES = ResponsesEndpoint()
