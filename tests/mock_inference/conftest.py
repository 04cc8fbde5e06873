"""Fixtures: real `python -m mock_inference` servers on free 127.0.0.1 ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mock_support import Server, start_server, stop_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """Defaults: fixed reply, any model accepted, no key, no faults."""
    srv = start_server({"MOCK_FILLER_TOKENS": "40"})
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def script_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "replies.yaml"
    path.write_text(
        "rules:\n"
        "  - contains: weather\n"
        "    reply: It is sunny in Paris.\n"
        "  - regex: 'translate (\\w+)'\n"
        "    reply: 'Translated: \\1'\n"
        "default: No script matched.\n"
    )
    return path


@pytest.fixture(scope="session")
def strict_server(script_file: Path) -> Iterator[Server]:
    """API key required, only served models accepted, scripted replies, small limits."""
    srv = start_server(
        {
            "MODEL_NAME": "mock-gpt",
            "SERVED_MODELS": "mock-gpt,org/other-model",
            "ACCEPT_UNKNOWN_MODELS": "false",
            "MOCK_API_KEY": "sk-test-123",
            "MOCK_REPLY_MODE": "script",
            "MOCK_SCRIPT_FILE": str(script_file),
            "MOCK_EMBEDDING_DIM": "64",
            "MOCK_MAX_BODY_BYTES": "65536",
        }
    )
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def flaky_server() -> Iterator[Server]:
    """Two workers sharing one "fail the first 3 requests with 503" counter."""
    srv = start_server({"MOCK_FAIL_FIRST": "3", "MOCK_FAIL_FIRST_STATUS": "503"}, workers=2)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def rate_server() -> Iterator[Server]:
    """Random faults: half 429, a quarter 500, a quarter answered."""
    srv = start_server(
        {"MOCK_FAULT_429_RATE": "0.5", "MOCK_FAULT_500_RATE": "0.25", "MOCK_RETRY_AFTER_MS": "20"}
    )
    yield srv
    stop_server(srv)


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
