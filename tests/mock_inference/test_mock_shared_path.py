"""Chat, legacy completions and Anthropic Messages share one generation and streaming
path (flow.py).

Each test here would have caught one way the routes had drifted apart: how an
injected stream error is counted, which route feeds the inter-token latency
histogram, where the injected error lands.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import grimp
import httpx
import orjson
import pytest
from mock_support import CHAT_BODY, REPO

from mock_inference.flow import fail_point

ROUTES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": CHAT_BODY,
    "/v1/completions": {"model": "mock-gpt", "prompt": "Hello, how are you today?"},
    "/v1/messages": {
        "model": "mock-gpt",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello, how are you today?"}],
    },
}
REPLY = "one two three four five six"  # six tokens


def _metric(text: str, prefix: str) -> float:
    return sum(
        float(line.rpartition(" ")[2]) for line in text.splitlines() if line.startswith(prefix)
    )


def _scrape(http: httpx.Client) -> str:
    return http.get("/metrics").text


def _token_events(route: str, raw: str) -> tuple[int, bool]:
    """Token-carrying events before the end, and whether an error event came."""
    tokens = 0
    for block in raw.split("\n\n")[:-1]:
        if route == "/v1/messages":  # Anthropic's typed events
            name = block.partition("\n")[0].removeprefix("event: ")
            if name == "error":
                return tokens, True
            tokens += name == "content_block_delta"
            continue
        data = block.removeprefix("data: ")
        if data == "[DONE]":
            break
        event: dict[str, Any] = orjson.loads(data)
        if "error" in event:
            return tokens, True
        for choice in event["choices"]:
            piece = choice["delta"].get("content") if "delta" in choice else choice["text"]
            tokens += bool(piece)
    return tokens, False


@pytest.mark.parametrize("route", ROUTES)
def test_an_injected_stream_error_is_counted_alike(http: httpx.Client, route: str) -> None:
    before = _scrape(http)
    resp = http.post(
        route,
        json={**ROUTES[route], "stream": True},
        headers={"x-mock-fault": "stream_error", "x-mock-reply": REPLY},
    )
    assert resp.status_code == 200
    after = _scrape(http)
    ok = f'mock_http_requests_total{{route="{route}",status="200"}}'
    assert _metric(after, ok) - _metric(before, ok) == 1
    assert (
        _metric(after, "mock_stream_errors_total") - _metric(before, "mock_stream_errors_total")
        == 1
    )
    success = "vllm:request_success_total"
    assert _metric(after, success) == _metric(before, success)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("route", ROUTES)
def test_both_routes_feed_the_inter_token_histogram(
    http: httpx.Client, route: str, stream: bool
) -> None:
    count = "vllm:inter_token_latency_seconds_count"
    before = _metric(_scrape(http), count)
    resp = http.post(
        route, json={**ROUTES[route], "stream": stream}, headers={"x-mock-reply": REPLY}
    )
    assert resp.status_code == 200
    assert _metric(_scrape(http), count) - before == 5  # six tokens, five gaps


@pytest.mark.parametrize("reply", [REPLY, "one", ""], ids=["six", "one", "none"])
@pytest.mark.parametrize("route", ROUTES)
def test_the_stream_error_lands_at_the_same_point(
    http: httpx.Client, route: str, reply: str
) -> None:
    resp = http.post(
        route,
        json={**ROUTES[route], "stream": True},
        headers={"x-mock-fault": "stream_error", "x-mock-reply": reply},
    )
    tokens, errored = _token_events(route, resp.text)
    assert errored
    assert tokens == fail_point(len(reply.split()))


BLOCK_SANIC = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sanic", "httptools"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
import pkgutil, importlib, mock_inference, mock_inference.wire
pure = [m.name for m in pkgutil.iter_modules(mock_inference.__path__)
        if m.name not in ("app", "server", "fastpath", "routes", "__main__", "supervisor")]
for name in pure:
    importlib.import_module("mock_inference." + name)
for m in pkgutil.iter_modules(mock_inference.wire.__path__):
    importlib.import_module("mock_inference.wire." + m.name)
print(len(pure))
"""


def test_the_pure_core_imports_without_sanic() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_SANIC], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 20


def test_no_import_cycle_in_the_mock() -> None:
    graph = grimp.build_graph("mock_inference")
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            assert chain is None, f"cycle: {module} -> {' -> '.join(chain or ())}"
