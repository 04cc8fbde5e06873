"""The Messages API on the wire: event stream framing, error shapes and statuses from
every layer (decoder, auth, Sanic's routing and size limit, injected faults), and the
fast path answering exactly as Sanic does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mock_support import Server, start_server, stop_server

BODY: dict[str, Any] = {
    "model": "mock-gpt",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello"}],
}
HEADERS = {"anthropic-version": "2023-06-01"}
TOOL = {"name": "f", "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name_line.removeprefix("event: ")  # the SDKs need both
        out.append((data["type"], data))
    return out


def assert_anthropic_error(resp: httpx.Response, status: int, kind: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert body["request_id"] == resp.headers["request-id"]
    return body["error"]["message"]


def test_stream_event_sequence(http: httpx.Client) -> None:
    resp = http.post("/v1/messages", json={**BODY, "stream": True}, headers=HEADERS)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    seq = events(resp.text)
    names = [name for name, _ in seq]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = seq[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    text = "".join(d["delta"]["text"] for n, d in seq if n == "content_block_delta")
    whole = http.post("/v1/messages", json=BODY).json()
    assert text == whole["content"][0]["text"]
    assert seq[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert seq[-2][1]["usage"]["output_tokens"] == whole["usage"]["output_tokens"]


def test_stream_error_event(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/messages", json={**BODY, "stream": True}, headers={"x-mock-fault": "stream_error"}
    )
    seq = events(resp.text)
    assert seq[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error",
                                    "message": "Overloaded (injected by x-mock-fault)"}},
    )  # fmt: skip
    assert "message_stop" not in [name for name, _ in seq]


def test_errors_from_every_layer(http: httpx.Client, strict_server: Server) -> None:
    msg = assert_anthropic_error(http.post("/v1/messages", content=b"{nope"), 400,
                                 "invalid_request_error")  # fmt: skip
    assert "JSON" in msg
    assert_anthropic_error(http.get("/v1/messages"), 405, "invalid_request_error")
    assert_anthropic_error(http.post("/v1/messages/batches", json={}), 404, "not_found_error")
    for status, kind in [(429, "rate_limit_error"), (500, "api_error"),
                         (503, "api_error"), (529, "overloaded_error")]:  # fmt: skip
        resp = http.post("/v1/messages", json=BODY, headers={"x-mock-fault": str(status)})
        assert_anthropic_error(resp, status, kind)
        if status == 429:
            assert resp.headers["retry-after"] == "1"
    with strict_server.client() as client:
        assert (
            assert_anthropic_error(
                client.post("/v1/messages", json=BODY), 401, "authentication_error"
            )  # fmt: skip
            == "x-api-key header is required"
        )
        ok = client.post("/v1/messages", json=BODY, headers={"x-api-key": "sk-test-123"})
        assert ok.status_code == 200
        bearer = {"authorization": "Bearer sk-test-123"}
        assert (
            client.post("/v1/messages/count_tokens", json=BODY, headers=bearer).json()[
                "input_tokens"
            ]
            == ok.json()["usage"]["input_tokens"]
        )
        huge = {**BODY, "messages": [{"role": "user", "content": "x" * 70_000}]}
        resp = client.post("/v1/messages", json=huge, headers={"x-api-key": "sk-test-123"})
        assert_anthropic_error(resp, 413, "request_too_large")
        # The OpenAI routes keep the OpenAI shape.
        assert "error" in client.post("/v1/chat/completions", json=BODY).json()


@pytest.fixture(scope="module")
def sanic_only() -> Iterator[Server]:
    srv = start_server({"MOCK_FAST_PATH": "0"})
    yield srv
    stop_server(srv)


def _stable(resp: httpx.Response) -> tuple[int, list[str], Any]:
    body = resp.json()
    for key in ("id", "request_id"):
        body.pop(key, None)
    for block in body.get("content", []):
        block.pop("id", None)
    return resp.status_code, list(resp.headers.keys()), body


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/v1/messages", BODY, {}),
        ("/v1/messages", {**BODY, "stop_sequences": ["mock"]}, {}),
        ("/v1/messages", {**BODY, "tools": [TOOL], "tool_choice": {"type": "any"},
                          "temperature": 0}, {}),
        ("/v1/messages", {**BODY, "max_tokens": 0}, {}),
        ("/v1/messages", BODY, {"x-mock-fault": "529"}),
        ("/v1/messages/count_tokens", BODY, {}),
    ],
)  # fmt: skip
def test_fast_path_answers_as_sanic(
    server: Server, sanic_only: Server, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    with server.client() as fast, sanic_only.client() as slow:
        assert _stable(fast.post(path, json=body, headers=headers)) == _stable(
            slow.post(path, json=body, headers=headers)
        )


def test_stream_latency_and_metrics(http: httpx.Client) -> None:
    """message_start comes at once; the first delta after TTFT, the rest ITL apart."""

    def count(name: str) -> float:
        for line in http.get("/metrics").text.splitlines():
            if line.startswith(name + "{"):
                return float(line.rpartition(" ")[2])
        return 0.0

    ttft_before = count("vllm:time_to_first_token_seconds_count")
    headers = {"x-mock-ttft-ms": "300", "x-mock-itl-ms": "20"}
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    with http.stream(
        "POST", "/v1/messages", json={**BODY, "max_tokens": 6, "stream": True}, headers=headers
    ) as resp:
        for line in resp.iter_lines():
            if line.startswith("event: "):
                arrivals.append((time.monotonic() - started, line.removeprefix("event: ")))
    first_delta = next(t for t, name in arrivals if name == "content_block_delta")
    assert arrivals[0][1] == "message_start" and arrivals[0][0] < 0.25
    assert first_delta >= 0.3
    assert arrivals[-1][0] >= 0.3 + 5 * 0.02
    assert count("vllm:time_to_first_token_seconds_count") == ttft_before + 1
