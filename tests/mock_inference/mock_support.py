"""Helpers for the mock inference tests: start and stop real servers on 127.0.0.1.

A plain module (not conftest) so test files can import it by name; this folder has
no __init__.py so that it does not shadow the `mock_inference` package itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)


def start_server(extra_env: dict[str, str] | None = None, workers: int = 1) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}
    env.update({"PYTHONUNBUFFERED": "1", **(extra_env or {})})
    cmd = [sys.executable, "-m", "mock_inference", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    process = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"mock server exited early ({process.returncode}):\n{err}")
        try:
            if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                return Server(url, process, env)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("mock server did not become healthy within 20 s")


def stop_server(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    if server.process.stderr:
        server.process.stderr.close()
    return server.process.returncode


# A Responses API function tool (flat: name and parameters beside "type").
WEATHER_FUNCTION: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}

CHAT_BODY = {
    "model": "mock-gpt",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello, how are you today?"},
    ],
}


def say(line: str) -> None:
    """One line on stdout in one write: a worker's line never merges with another's
    (print() writes the text and the newline apart when stdout is unbuffered)."""
    os.write(1, line.encode() + b"\n")


def deaf_worker(*args: object) -> None:
    """A worker that drops its first SIGTERM, as Sanic can while a worker finishes start-up
    (forked by the supervisor in tests; it says what it heard on stdout)."""
    # SIGTERM held and taken with sigwait: a handler plus signal.pause() loses a signal
    # that lands between Python's signal check and the pause() call (CI saw it once).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    say("deaf worker ready")
    for heard in (1, 2):
        signal.sigwait({signal.SIGTERM})
        say(f"deaf worker heard SIGTERM {heard}")
    os._exit(0)


def gated_worker(settings: object, sock: object, counters: object, peers: object) -> None:
    """The real worker, held before it imports Sanic until the file named by
    MOCK_TEST_GATE exists: the tests stop the service in a start-up state they choose."""
    from mock_inference.supervisor import serve_worker

    gate = Path(os.environ["MOCK_TEST_GATE"])
    say("gated worker waiting")
    while not gate.exists():
        time.sleep(0.01)
    say("gated worker starting Sanic")
    serve_worker(settings, sock, counters, peers)  # type: ignore[arg-type]


class RecordingSink:
    """A flow.Sink that keeps what a stream sent, for tests of flow.play."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)

    async def eof(self) -> None:
        pass
