"""The memo (mock_inference/memo.py): a body seen again is answered from a template that
is exactly the full answer with new ids and timestamps; nothing that must happen per
request (faults, metrics, stored responses, chance) is remembered."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import orjson
import pytest

from mock_inference.app import create_app
from mock_inference.config import Settings
from mock_inference.reply import Reply

SYSTEM, USER = "You are a helpful assistant.", "Hello, how are you today?"
CHAT = (
    "/v1/chat/completions",
    {"model": "mock-gpt", "messages": [{"role": "system", "content": SYSTEM},
                                       {"role": "user", "content": USER}]},
)  # fmt: skip
RESPONSES = (
    "/v1/responses",
    {"model": "mock-gpt", "instructions": SYSTEM, "input": [{"role": "user", "content": USER}]},
)
MESSAGES = (
    "/v1/messages",
    {"model": "mock-gpt", "max_tokens": 64, "system": SYSTEM,
     "messages": [{"role": "user", "content": USER}]},
)  # fmt: skip
APIS = {"chat": CHAT, "responses": RESPONSES, "messages": MESSAGES}
HEADERS = {"host": "mock", "content-type": "application/json"}
# Everything fresh in a body: ids of every API, and Unix times.
FRESH = re.compile(
    r"(chatcmpl-|resp_|msg_|fc_|call_|toolu_|req_)[0-9a-zA-Z]{20,}|\"(created|created_at|completed_at)\":\d+"
)


_APP_NAMES = (f"memo{n}" for n in itertools.count())  # Sanic wants every app named apart


class Mock:
    def __init__(self, **env: str) -> None:
        settings = Settings.from_env({"MOCK_REPLY_MODE": "fixed", **env})
        self.app = create_app(settings, name=next(_APP_NAMES))
        self.state = self.app.ctx.state

    def ask(self, api: str, extra: dict[str, Any] | None = None, **headers: str) -> Reply:
        path, body = APIS[api]
        answer = self.app.ctx.fast_routes[path.encode()]
        reply = answer(
            "POST", path, {**HEADERS, **headers}, orjson.dumps({**body, **(extra or {})})
        )
        assert isinstance(reply, Reply)
        return reply


def ids_of(reply: Reply) -> set[str]:
    return {m.group() for m in FRESH.finditer(reply.body.decode()) if not m.group(2)}


def without_fresh(reply: Reply) -> str:
    return FRESH.sub("FRESH", reply.body.decode())


@pytest.mark.parametrize("api", sorted(APIS))
def test_a_repeated_body_is_answered_from_its_template_with_new_ids(api: str) -> None:
    mock = Mock()
    full = Mock(MOCK_MEMO_ENTRIES="0").ask(api)
    replies = [mock.ask(api) for _ in range(4)]
    path, body = APIS[api]
    entry = mock.state.memo.lookup(path, orjson.dumps(body))
    assert entry is not None and entry.answer is not None  # the template is in use
    for reply in replies:
        assert reply.status == 200
        assert without_fresh(reply) == without_fresh(full)  # the full answer, byte for byte
        head, _, wire_body = reply.to_http1().partition(b"\r\n\r\n")
        assert wire_body == reply.body
        assert b"content-length: %d\r\n" % len(reply.body) in head
        request_id = reply.headers.get("x-request-id") or reply.headers["request-id"]
        assert request_id.encode() in head
    seen = [ids_of(reply) for reply in replies]
    assert all(seen) and all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    created = orjson.loads(replies[-1].body).get("created") or orjson.loads(replies[-1].body).get(
        "created_at"
    )
    if created is not None:
        assert abs(created - time.time()) < 5


def test_the_chat_id_and_its_header_are_the_same_new_value() -> None:
    mock = Mock()
    for _ in range(3):
        reply = mock.ask("chat")
        assert orjson.loads(reply.body)["id"] == reply.headers["x-request-id"]


def test_a_remembered_responses_answer_is_stored_under_its_own_new_id() -> None:
    mock = Mock()
    replies = [mock.ask("responses") for _ in range(3)]
    for reply in replies:
        rid = orjson.loads(reply.body)["id"]
        record = mock.state.responses.local(rid)
        assert record is not None
        stored = orjson.loads(record)
        assert stored["response"] == orjson.loads(reply.body)
        assert stored["conversation"][-1]["id"] == orjson.loads(reply.body)["output"][0]["id"]
    unstored = mock.ask("responses", {"store": False})
    assert mock.state.responses.local(orjson.loads(unstored.body)["id"]) is None


def test_every_request_is_counted_in_the_metrics() -> None:
    mock = Mock()
    for _ in range(5):
        mock.ask("chat")
    metrics = mock.state.metrics
    prompt = orjson.loads(mock.ask("chat").body)["usage"]["prompt_tokens"]
    assert metrics.http[("/v1/chat/completions", 200)] == 6
    assert metrics.prompt_tokens == 6 * prompt
    assert metrics.e2e.n == 6


def test_faults_and_reply_headers_still_apply_to_a_remembered_body() -> None:
    mock = Mock()
    for _ in range(3):
        mock.ask("chat")
    assert mock.ask("chat", **{"x-mock-fault": "503"}).status == 503
    literal = mock.ask("chat", **{"x-mock-reply": "just this"})
    assert orjson.loads(literal.body)["choices"][0]["message"]["content"] == "just this"
    echo = mock.ask("chat", **{"x-mock-reply-mode": "echo"})
    assert orjson.loads(echo.body)["choices"][0]["message"]["content"] == USER
    assert orjson.loads(mock.ask("chat").body)["choices"][0]["message"]["content"] != "just this"


def test_an_answer_left_to_chance_is_never_remembered() -> None:
    mock = Mock(MOCK_REPLY_MODE="filler", MOCK_FILLER_TOKENS="24")
    texts = {
        orjson.loads(mock.ask("chat").body)["choices"][0]["message"]["content"] for _ in range(6)
    }
    assert len(texts) == 6  # unseeded filler differs every time
    entry = mock.state.memo.lookup(CHAT[0], orjson.dumps(CHAT[1]))
    assert entry is not None and entry.answer is None
    seeded = {
        orjson.loads(mock.ask("chat", {"seed": 7}).body)["choices"][0]["message"]["content"]
        for _ in range(4)
    }
    assert len(seeded) == 1  # with a seed the answer is a function of the body: remembered
    entry = mock.state.memo.lookup(CHAT[0], orjson.dumps({**CHAT[1], "seed": 7}))
    assert entry is not None and entry.answer is not None


def test_tool_call_ids_are_new_in_every_remembered_answer() -> None:
    mock = Mock()
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "enum": ["Paris"]}},
        "required": ["city"]}}}]  # fmt: skip
    extra = {"tools": tools, "tool_choice": "required", "seed": 1}
    calls = [orjson.loads(mock.ask("chat", extra).body)["choices"][0]["message"]["tool_calls"][0]
             for _ in range(4)]  # fmt: skip
    assert len({call["id"] for call in calls}) == 4
    assert {call["function"]["arguments"] for call in calls} == {'{"city":"Paris"}'}


def test_the_memo_is_bounded() -> None:
    mock = Mock(MOCK_MEMO_ENTRIES="3", MOCK_MEMO_MAX_BODY_BYTES="400")
    for n in range(10):
        mock.ask("chat", {"user": f"u{n}"})
    assert not mock.state.memo.entries  # a body seen once is only a hash
    assert len(mock.state.memo.once) == 3
    for n in range(10):
        mock.ask("chat", {"user": f"v{n}"})
        mock.ask("chat", {"user": f"v{n}"})
    assert len(mock.state.memo.entries) == 3
    for _ in range(2):
        mock.ask("chat", {"user": "x" * 500})
    assert all(len(body) <= 400 for _, body in mock.state.memo.entries)


def test_a_continued_response_is_never_remembered() -> None:
    mock = Mock()
    first = orjson.loads(mock.ask("responses").body)["id"]
    extra = {"previous_response_id": first, "input": "and then?"}
    for _ in range(3):
        assert mock.ask("responses", extra).status == 200
    assert mock.state.memo.lookup(RESPONSES[0], orjson.dumps({**RESPONSES[1], **extra})) is None
