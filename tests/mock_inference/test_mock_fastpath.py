"""The fast path (fastpath.FastPathProtocol) answers exactly as Sanic would, and hands
everything it does not handle to Sanic without losing or reordering a byte.

Parity: the same requests go to the default server and to one started with
MOCK_FAST_PATH=0; statuses, header names and order, and bodies (ids and timestamps
aside) must match. Framing: raw sockets send what HTTP clients may send (split
packets, pipelining, Expect, chunked bodies, Connection: close) and check the bytes
that come back. `mock_fast_path_requests_total` shows which path answered.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mock_support import CHAT_BODY, Server, start_server, stop_server

RESP = "/v1/responses"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def sanic_only() -> Iterator[Server]:
    srv = start_server({"MOCK_FILLER_TOKENS": "40", "MOCK_FAST_PATH": "0"})
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def small_limit() -> Iterator[Server]:
    srv = start_server({"MOCK_MAX_BODY_BYTES": "4096", "MOCK_API_KEY": "sk-fast"})
    yield srv
    stop_server(srv)


def fast_count(server: Server) -> int:
    text = httpx.get(server.url + "/metrics", timeout=5).text
    match = re.search(r"^mock_fast_path_requests_total (\d+)$", text, re.M)
    assert match, "metric mock_fast_path_requests_total missing"
    return int(match.group(1))


def _without_ids(data: Any) -> Any:
    """ids (response, tool call) and timestamps differ per answer by design."""
    if isinstance(data, dict):
        drop = ("id", "created", "created_at", "completed_at", "call_id")
        return {k: _without_ids(v) for k, v in data.items() if k not in drop}
    if isinstance(data, list):
        return [_without_ids(v) for v in data]
    return data


def _normalise(body: bytes) -> Any:
    try:
        return _without_ids(json.loads(body))
    except ValueError:
        return body


# (path, headers, body) sent to both servers; bodies are bytes so malformed ones stay so.
PARITY_CASES: list[tuple[str, dict[str, str], bytes]] = [
    (CHAT, {}, json.dumps(CHAT_BODY).encode()),
    (CHAT + "?trace=1", {}, json.dumps(CHAT_BODY).encode()),
    (CHAT, {}, json.dumps({**CHAT_BODY, "n": 2, "seed": 7, "max_tokens": 3}).encode()),
    (CHAT, {}, json.dumps({**CHAT_BODY, "logprobs": True, "top_logprobs": 2}).encode()),
    (CHAT, {}, json.dumps({**CHAT_BODY, "response_format": {"type": "json_object"}}).encode()),
    (
        CHAT,
        {},
        json.dumps(
            {
                **CHAT_BODY,
                "seed": 3,
                "tool_choice": "required",
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "parameters": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "required": ["city"],
                            },
                        },
                    }
                ],
            }
        ).encode(),
    ),
    (CHAT, {"x-mock-reply": "scripted words"}, json.dumps(CHAT_BODY).encode()),
    (CHAT, {"x-mock-reply-mode": "filler"}, json.dumps({**CHAT_BODY, "seed": 5}).encode()),
    (CHAT, {"x-mock-reply-mode": "nonsense"}, json.dumps(CHAT_BODY).encode()),
    (CHAT, {"x-mock-fault": "429", "x-mock-retry-after-ms": "1500"}, b"{}"),
    (CHAT, {"x-mock-fault": "503"}, json.dumps(CHAT_BODY).encode()),
    (CHAT, {"x-mock-ttft-ms": "abc"}, json.dumps(CHAT_BODY).encode()),
    (CHAT, {}, b"{not json"),
    (CHAT, {}, b""),
    (CHAT, {}, b"[1, 2]"),
    (CHAT, {}, json.dumps({"model": "mock-gpt"}).encode()),
    (CHAT, {}, json.dumps({"model": "mock-gpt", "messages": []}).encode()),
    (CHAT, {}, json.dumps({**CHAT_BODY, "n": "two"}).encode()),
    (CHAT, {}, json.dumps({**CHAT_BODY, "temperature": 9}).encode()),
    ("/v1/completions", {}, json.dumps({"model": "m", "prompt": "Say this"}).encode()),
    (
        "/v1/completions",
        {},
        json.dumps(
            {"model": "m", "prompt": ["a b", "c"], "n": 2, "echo": True, "seed": 1}
        ).encode(),
    ),
    ("/v1/completions", {}, json.dumps({"model": "m", "prompt": "x", "logprobs": 2}).encode()),
    ("/v1/completions", {}, json.dumps({"model": "m"}).encode()),
    (
        "/v1/completions",
        {"x-mock-fault": "502"},
        json.dumps({"model": "m", "prompt": "x"}).encode(),
    ),
    ("/v1/embeddings", {}, json.dumps({"model": "m", "input": ["a", "b"]}).encode()),
    (
        "/v1/embeddings",
        {},
        json.dumps({"model": "m", "input": "a", "encoding_format": "base64"}).encode(),
    ),
    ("/v1/embeddings", {}, json.dumps({"model": "m"}).encode()),
    ("/v1/embeddings", {"x-mock-fault": "500"}, json.dumps({"model": "m", "input": "a"}).encode()),
    (RESP, {}, json.dumps({"model": "m", "input": "Hello", "instructions": "Be brief"}).encode()),
    (
        RESP,
        {"x-mock-reply-mode": "filler"},
        json.dumps({"input": "Hi", "max_output_tokens": 16, "seed": 2, "store": False}).encode(),
    ),
    (
        RESP,
        {},
        json.dumps(
            {
                "input": "weather?",
                "seed": 4,
                "tool_choice": "required",
                "tools": [
                    {
                        "type": "function",
                        "name": "get_weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                        },
                    }
                ],
            }
        ).encode(),
    ),  # fmt: skip
    (
        RESP,
        {},
        json.dumps(
            {
                "input": "x",
                "seed": 1,
                "text": {
                    "format": {
                        "type": "json_schema",
                        "name": "n",
                        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
                    }
                },
            }
        ).encode(),
    ),  # fmt: skip
    (RESP, {}, json.dumps({"model": "m"}).encode()),
    (RESP, {}, json.dumps({"input": [{"type": "bogus"}]}).encode()),
    (RESP, {}, json.dumps({"input": "x", "previous_response_id": "resp_00"}).encode()),
    (RESP, {"x-mock-fault": "429"}, json.dumps({"input": "x"}).encode()),
]


@pytest.mark.parametrize(("path", "headers", "body"), PARITY_CASES)
def test_fast_path_answers_as_sanic_does(
    server: Server, sanic_only: Server, path: str, headers: dict[str, str], body: bytes
) -> None:
    answers = []
    for srv in (server, sanic_only):
        with srv.client() as client:
            response = client.post(path, content=body, headers=headers)
        names = [name for name, _ in response.headers.multi_items()]
        values = {k: v for k, v in response.headers.items() if k != "x-request-id"}
        answers.append((response.status_code, names, values, _normalise(response.content)))
    assert answers[0] == answers[1]


def test_plain_requests_take_the_fast_path_and_waiting_ones_do_not(server: Server) -> None:
    with server.client() as client:
        before = fast_count(server)
        assert client.post(CHAT, json=CHAT_BODY).status_code == 200
        assert client.post(CHAT, content=b"{bad").status_code == 400
        assert fast_count(server) == before + 2
        streamed = client.post(CHAT, json={**CHAT_BODY, "stream": True})
        delayed = client.post(CHAT, json=CHAT_BODY, headers={"x-mock-ttft-ms": "5"})
        listed = client.get("/v1/models")
        assert (streamed.status_code, delayed.status_code, listed.status_code) == (200, 200, 200)
        assert streamed.text.endswith("data: [DONE]\n\n")
        assert delayed.json()["choices"][0]["message"]["content"]
        assert fast_count(server) == before + 2


def test_sanic_only_server_never_takes_the_fast_path(sanic_only: Server) -> None:
    with sanic_only.client() as client:
        assert client.post(CHAT, json=CHAT_BODY).status_code == 200
    assert fast_count(sanic_only) == 0


# ---------------------------------------------------------------- raw framing ----


def _request(
    body: bytes, path: str = CHAT, extra: str = "", method: str = "POST", version: str = "1.1"
) -> bytes:
    head = (
        f"{method} {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


PLAIN = json.dumps(CHAT_BODY).encode()
STREAM = json.dumps({**CHAT_BODY, "stream": True}).encode()


class Conn:
    """One raw keep-alive connection; reads whole responses (length or chunked)."""

    def __init__(self, server: Server) -> None:
        port = int(server.url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def _take_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            if not self._fill():
                raise AssertionError(f"connection closed before {marker!r}: {self.buf!r}")
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise AssertionError("connection closed mid-body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self) -> tuple[int, dict[str, str], bytes]:
        head = self._take_until(b"\r\n\r\n").decode()
        status_line, *lines = head.split("\r\n")
        status = int(status_line.split()[1])
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self._take_until(b"\r\n"), 16)
                body += self._take(size)
                self._take(2)
                if size == 0:
                    return status, headers, body
        return status, headers, self._take(int(headers.get("content-length", "0")))

    def closed_by_peer(self) -> bool:
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(server: Server) -> Iterator[Conn]:
    c = Conn(server)
    yield c
    c.close()


def _content(body: bytes) -> str:
    return json.loads(body)["choices"][0]["message"]["content"]


def test_request_split_into_single_bytes(server: Server, conn: Conn) -> None:
    before = fast_count(server)
    for byte in _request(PLAIN):
        conn.send(bytes([byte]))
        time.sleep(0.0005)
    status, _, body = conn.response()
    assert status == 200 and _content(body)
    assert fast_count(server) == before + 1


def test_pipelined_requests_answered_in_order(conn: Conn) -> None:
    conn.send(
        _request(PLAIN)
        + _request(STREAM)
        + _request(b"{bad")
        + _request(json.dumps({**CHAT_BODY, "n": 3}).encode())
    )
    statuses = []
    bodies = []
    for _ in range(4):
        status, _, body = conn.response()
        statuses.append(status)
        bodies.append(body)
    assert statuses == [200, 200, 400, 200]
    assert _content(bodies[0])
    assert bodies[1].endswith(b"data: [DONE]\n\n")
    assert json.loads(bodies[2])["error"]["code"] == "invalid_json"
    assert len(json.loads(bodies[3])["choices"]) == 3


def test_connection_goes_on_after_a_hand_over(server: Server, conn: Conn) -> None:
    """fast, then a stream (Sanic's from then on), then plain requests again."""
    conn.send(_request(PLAIN))
    assert conn.response()[0] == 200
    conn.send(_request(STREAM))
    status, headers, body = conn.response()
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert body.endswith(b"data: [DONE]\n\n")
    for _ in range(3):
        conn.send(_request(PLAIN))
        status, _, body = conn.response()
        assert status == 200 and _content(body)


def test_expect_100_continue(conn: Conn) -> None:
    head = _request(PLAIN, extra="Expect: 100-continue\r\n")[: -len(PLAIN)]
    conn.send(head)
    status, _, _ = conn.response()
    assert status == 100
    conn.send(PLAIN)
    status, _, body = conn.response()
    assert status == 200 and _content(body)


def test_chunked_request_body(conn: Conn) -> None:
    half = len(PLAIN) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        PLAIN[:half],
        len(PLAIN) - half,
        PLAIN[half:],
    )
    conn.send(
        f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunks
    )
    status, _, body = conn.response()
    assert status == 200 and _content(body)


def test_connection_close_and_http10_are_honoured(server: Server) -> None:
    for extra, version in (("Connection: close\r\n", "1.1"), ("", "1.0")):
        c = Conn(server)
        try:
            c.send(_request(PLAIN, extra=extra, version=version))
            status, headers, body = c.response()
            assert status == 200 and _content(body)
            assert headers["connection"] == "close"
            assert c.closed_by_peer()
        finally:
            c.close()


def test_oversized_body_is_413_in_openai_shape(small_limit: Server) -> None:
    c = Conn(small_limit)
    try:
        big = json.dumps({**CHAT_BODY, "user": "x" * 8000}).encode()
        c.send(_request(big, extra="Authorization: Bearer sk-fast\r\n"))
        status, _, body = c.response()
        assert status == 413
        assert json.loads(body)["error"]["code"] == "payload_too_large"
    finally:
        c.close()


def test_api_key_checked_on_the_fast_path(small_limit: Server) -> None:
    before = fast_count(small_limit)
    with small_limit.client() as client:
        denied = client.post(CHAT, json=CHAT_BODY)
        allowed = client.post(CHAT, json=CHAT_BODY, headers={"Authorization": "Bearer sk-fast"})
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "invalid_api_key"
    assert allowed.status_code == 200
    assert fast_count(small_limit) == before + 2


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
)
def test_malformed_http_gets_an_error_not_a_hang(server: Server, raw: bytes) -> None:
    c = Conn(server)
    try:
        c.send(raw)
        status, _, _ = c.response()
        assert 400 <= status < 500
    finally:
        c.close()


def test_wrong_method_and_unknown_route_still_json(conn: Conn) -> None:
    conn.send(_request(b"", method="GET"))
    status, headers, body = conn.response()
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"
    conn.send(_request(PLAIN, path="/v1/chat/completion"))
    status, _, body = conn.response()
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
