"""Bad input, auth, unknown routes and injected faults: always OpenAI's error shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
from mock_support import CHAT_BODY, Server

USER = [{"role": "user", "content": "hi"}]


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (b"{not json", None, "invalid_json"),
        (b"", None, "invalid_json"),
        (b"[1, 2]", None, "invalid_json"),
        (b'"just a string"', None, "invalid_json"),
        (b'{"model": "mock-gpt"}', "messages", "missing_required_parameter"),
        (b'{"messages": []}', "messages", "empty_array"),
        (b'{"messages": "hello"}', "messages", "invalid_type"),
        (b'{"messages": [42]}', "messages[0]", "invalid_type"),
        (b'{"messages": [{"content": "x"}]}', "messages[0].role", "missing_required_parameter"),
        (b'{"messages": [{"role": "wizard", "content": "x"}]}', "messages[0].role", None),
        (b'{"messages": [{"role": "user"}]}', "messages[0].content", None),
        (b'{"messages": [{"role": "user", "content": 5}]}', "messages[0].content", "invalid_type"),
        (b'{"messages": [{"role": "user", "content": [{"type": "text"}]}]}',
         "messages[0].content[0].text", "invalid_type"),
        (b'{"messages": [{"role": "tool", "content": "x"}]}', "messages[0].tool_call_id", None),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model", "invalid_type"),
    ],
)  # fmt: skip
def test_chat_body_errors(
    http: httpx.Client, body: bytes, param: str | None, code: str | None
) -> None:
    resp = http.post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    err = assert_error(resp, 400, code)
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 0}, "n"),
        ({"n": "2"}, "n"),
        ({"n": True}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": 1.5}, "max_completion_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -1}, "top_p"),
        ({"stop": 5}, "stop"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"seed": "x"}, "seed"),
        ({"stream": "yes"}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"tools": "nope"}, "tools"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}],
          "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ],
)  # fmt: skip
def test_chat_parameter_errors(http: httpx.Client, extra: dict[str, Any], param: str) -> None:
    resp = http.post("/v1/chat/completions", json={**CHAT_BODY, **extra})
    assert assert_error(resp, 400)["param"] == param


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/completions", {}, "prompt"),
        ("/v1/completions", {"prompt": 3}, "prompt"),
        ("/v1/completions", {"prompt": []}, "prompt"),
        ("/v1/completions", {"prompt": ["ok", 3]}, "prompt[1]"),
        ("/v1/embeddings", {}, "input"),
        ("/v1/embeddings", {"input": []}, "input"),
        ("/v1/embeddings", {"input": ""}, "input"),
        ("/v1/embeddings", {"input": [{"a": 1}]}, "input[0]"),
        ("/v1/embeddings", {"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ("/v1/embeddings", {"input": "x", "dimensions": 0}, "dimensions"),
        ("/tokenize", {}, "prompt"),
        ("/tokenize", {"prompt": 1}, "prompt"),
    ],
)
def test_other_route_errors(
    http: httpx.Client, path: str, body: dict[str, Any], param: str
) -> None:
    assert assert_error(http.post(path, json=body), 400)["param"] == param


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    for method, path in [("GET", "/nope"), ("POST", "/v1/nothing"), ("GET", "/v2/models")]:
        err = assert_error(http.request(method, path), 404, "not_found")
        assert path in err["message"]
    err = assert_error(http.get("/v1/chat/completions"), 405, "method_not_allowed")
    assert "GET" in err["message"]
    assert_error(http.delete("/v1/models"), 405)
    assert_error(http.post("/health"), 405)


def test_oversized_body_is_413(strict_server: Server) -> None:
    big = {**CHAT_BODY, "messages": [{"role": "user", "content": "x" * 70_000}]}
    with strict_server.client() as client:
        resp = client.post(
            "/v1/chat/completions", json=big, headers={"authorization": "Bearer sk-test-123"}
        )
    assert_error(resp, 413, "payload_too_large")


def test_api_key(strict_server: Server) -> None:
    with strict_server.client() as client:
        missing = client.post("/v1/chat/completions", json=CHAT_BODY)
        assert (
            "didn't provide an API key" in assert_error(missing, 401, "invalid_api_key")["message"]
        )
        wrong = client.get("/v1/models", headers={"authorization": "Bearer sk-wrong-key-999"})
        message = assert_error(wrong, 401, "invalid_api_key")["message"]
        assert "sk-wrong-key-999" not in message  # the key is masked, as OpenAI does
        ok = client.get("/v1/models", headers={"authorization": "Bearer sk-test-123"})
        assert ok.status_code == 200
        assert [m["id"] for m in ok.json()["data"]] == ["mock-gpt", "org/other-model"]
        card = client.get(
            "/v1/models/org/other-model", headers={"authorization": "Bearer sk-test-123"}
        )
        assert card.json()["id"] == "org/other-model"
        # Operational routes stay open, as on vLLM.
        assert client.get("/health").status_code == 200


def test_unknown_model_rejected_when_configured(strict_server: Server) -> None:
    auth = {"authorization": "Bearer sk-test-123"}
    with strict_server.client(headers=auth) as client:
        resp = client.post("/v1/chat/completions", json={**CHAT_BODY, "model": "gpt-9"})
        err = assert_error(resp, 404, "model_not_found")
        assert err["param"] == "model" and "gpt-9" in err["message"]
        emb = client.post("/v1/embeddings", json={"model": "gpt-9", "input": "x"})
        assert_error(emb, 404, "model_not_found")
        ok = client.post("/v1/embeddings", json={"model": "org/other-model", "input": "x"})
        assert len(ok.json()["data"][0]["embedding"]) == 64  # MOCK_EMBEDDING_DIM


def test_scripted_replies(strict_server: Server) -> None:
    def reply(text: str) -> str:
        with strict_server.client(headers={"authorization": "Bearer sk-test-123"}) as client:
            body = {"messages": [{"role": "user", "content": text}]}
            return client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"][
                "content"
            ]

    assert reply("What is the WEATHER like?") == "It is sunny in Paris."
    assert reply("please translate bonjour") == "Translated: bonjour"
    assert reply("something else") == "No script matched."


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_forced_fault_header(http: httpx.Client, status: int) -> None:
    resp = http.post("/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-fault": str(status)})
    err = assert_error(resp, status)
    if status == 429:
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["retry-after-ms"] == "1000"
        assert err["code"] == "rate_limit_exceeded"
    else:
        assert err["type"] == "server_error"
        assert "retry-after" not in resp.headers


def test_forced_timeout_holds_the_request(http: httpx.Client) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post(
            "/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-fault": "timeout"}, timeout=0.5
        )
    assert time.monotonic() - started >= 0.5
    assert http.get("/health").status_code == 200


def test_mid_stream_error_event(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/chat/completions",
        json={**CHAT_BODY, "stream": True},
        headers={"x-mock-fault": "stream_error"},
    )
    assert resp.status_code == 200
    blocks = [b for b in resp.text.split("\n\n") if b]
    assert "[DONE]" not in resp.text
    last = orjson.loads(blocks[-1].removeprefix("data: "))
    assert set(last) == {"error"} and last["error"]["type"] == "server_error"
    assert orjson.loads(blocks[0].removeprefix("data: "))["choices"][0]["delta"]["role"]


def test_fail_first_header_is_per_request_key(http: httpx.Client) -> None:
    headers = {"x-mock-fail-first": "2", "x-mock-fault-key": f"k-{time.time_ns()}"}
    statuses = [
        http.post("/v1/chat/completions", json=CHAT_BODY, headers=headers).status_code
        for _ in range(4)
    ]
    assert statuses == [429, 429, 200, 200]
    other = {"x-mock-fail-first": "1", "x-mock-fail-status": "500"}
    body = {**CHAT_BODY, "seed": time.time_ns()}  # a fresh body is a fresh key
    first = http.post("/v1/chat/completions", json=body, headers=other)
    assert_error(first, 500)
    assert http.post("/v1/chat/completions", json=body, headers=other).status_code == 200


def test_fail_first_env_is_shared_by_workers(flaky_server: Server) -> None:
    # Fresh connections, so both workers take requests; exactly 3 fail in total.
    statuses = []
    for _ in range(10):
        with flaky_server.client() as client:
            statuses.append(client.post("/v1/chat/completions", json=CHAT_BODY).status_code)
    assert statuses == [503] * 3 + [200] * 7


def test_random_fault_rates(rate_server: Server) -> None:
    with rate_server.client() as client:
        statuses = [
            client.post("/v1/chat/completions", json=CHAT_BODY).status_code for _ in range(80)
        ]
        assert client.get("/health").status_code == 200  # ops routes never fault
    assert set(statuses) == {200, 429, 500}
    assert 20 < statuses.count(429) < 60
    with rate_server.client() as client:
        for _ in range(50):
            resp = client.post("/v1/chat/completions", json=CHAT_BODY)
            if resp.status_code == 429:
                assert resp.headers["retry-after-ms"] == "20"
                break


def test_latency_headers(http: httpx.Client) -> None:
    started = time.monotonic()
    http.post("/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-ttft-ms": "200"})
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    http.post(
        "/v1/chat/completions",
        json={**CHAT_BODY, "max_tokens": 6},
        headers={"x-mock-itl-ms": "40"},
    )
    assert time.monotonic() - started >= 0.2  # 5 gaps of 40 ms
    arrivals = []
    started = time.monotonic()
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={**CHAT_BODY, "stream": True, "max_tokens": 3},
        headers={"x-mock-ttft-ms": "150", "x-mock-itl-ms": "50"},
    ) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: ") and '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[0] >= 0.14
    assert arrivals[2] - arrivals[0] >= 0.09
    assert_error(
        http.post("/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-itl-ms": "x"}), 400
    )


def test_bad_mock_headers(http: httpx.Client) -> None:
    assert_error(
        http.post("/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-reply-mode": "poem"}),
        400,
    )
    assert_error(
        http.post("/v1/chat/completions", json=CHAT_BODY, headers={"x-mock-fail-first": "-1"}),
        400,
    )
