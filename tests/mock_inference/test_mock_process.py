"""The process: `python -m mock_inference` starts, serves, and stops promptly on SIGTERM."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import pytest
from mock_support import CHAT_BODY, REPO, free_port, start_server, stop_server


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_cleanly(workers: int) -> None:
    srv = start_server(workers=workers)
    assert httpx.post(srv.url + "/v1/chat/completions", json=CHAT_BODY).status_code == 200
    srv.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = srv.process.wait(timeout=10)
    # Prompt, not instant: a worker still starting can drop the SIGTERM (Sanic), and the
    # supervisor repeats it after graceful_shutdown_seconds + 1 s; the kill comes at 10 s.
    assert time.monotonic() - started < 8.0
    assert code == 0
    stderr = srv.process.stderr.read().decode() if srv.process.stderr else ""
    assert "Traceback" not in stderr


def test_sigterm_with_a_stream_in_flight() -> None:
    srv = start_server({"MOCK_ITL_MS": "200", "MOCK_REPLY_MODE": "filler"})
    got_first = threading.Event()

    def consume() -> None:
        try:
            with httpx.stream(
                "POST", srv.url + "/v1/chat/completions", json={**CHAT_BODY, "stream": True}
            ) as resp:
                for _ in resp.iter_lines():
                    got_first.set()
        except httpx.HTTPError:
            pass  # the server going away mid-stream is the point of this test

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    assert got_first.wait(5)
    srv.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert srv.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 3.0
    reader.join(5)
    if srv.process.stderr:
        srv.process.stderr.close()


def _spawn(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}
    cmd = [sys.executable, "-m", "mock_inference", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


SUPERVISE_GATED = """
import sys
sys.path.insert(0, {tests!r})
from mock_support import gated_worker
from mock_inference.config import Settings
from mock_inference.listener import listen
from mock_inference.supervisor import run_workers
settings = Settings(workers=2, graceful_shutdown_seconds=0.2)
sys.exit(run_workers(settings, listen("127.0.0.1", 0), target=gated_worker))
"""


class Output:
    """What a process has printed so far. Waits count occurrences, not lines: the
    supervisor's print() writes its text and newline apart (stdout unbuffered), so a
    worker's line can land in the middle of it. A wait ends at its deadline with what
    was seen, never blocks past it."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        self.fd = stream.fileno()
        self.seen = b""

    def wait_for(self, text: bytes, times: int = 1, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while self.seen.count(text) < times:
            left = deadline - time.monotonic()
            assert left > 0, f"no {times} x {text!r} within {within} s; output: {self.seen!r}"
            if select.select([self.fd], [], [], left)[0]:
                chunk = os.read(self.fd, 65536)
                assert chunk, f"output ended before {times} x {text!r}: {self.seen!r}"
                self.seen += chunk


def _exits_0(proc: subprocess.Popen[bytes], steps: Callable[[], None], timeout: float) -> str:
    """Run the steps (which stop the process), then require exit status 0 within the
    timeout; the process is killed if it is still there. Its stderr."""
    try:
        steps()
        status = proc.wait(timeout=timeout)
    except AssertionError as failed:
        if proc.poll() is None:
            proc.kill()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise AssertionError(f"{failed}\nstatus {proc.wait()}, stderr: {stderr!r}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert status == 0, stderr
    return stderr


def _stops_cleanly(proc: subprocess.Popen[bytes], reach_the_state: Callable[[], None]) -> None:
    """SIGTERM once the process reached the state: exit 0 and no traceback."""

    def stop_there() -> None:
        reach_the_state()
        proc.send_signal(signal.SIGTERM)

    assert "Traceback" not in _exits_0(proc, stop_there, 15)


@pytest.mark.parametrize("gate_open", [False, True], ids=["before-sanic", "sanic-starting"])
def test_sigterm_while_workers_start(tmp_path: Path, gate_open: bool) -> None:
    """The stop Sanic's own manager lost ~1 time in 20, in a chosen start-up state: every
    worker held before importing Sanic, or every worker past that gate and starting."""
    gate = tmp_path / "gate"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}
    env["MOCK_TEST_GATE"] = str(gate)
    code = SUPERVISE_GATED.format(tests=str(Path(__file__).parent))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    out = Output(proc.stdout)

    def reach_the_state() -> None:
        out.wait_for(b"gated worker waiting", 2)
        if gate_open:
            gate.touch()
            out.wait_for(b"gated worker starting Sanic", 2)

    _stops_cleanly(proc, reach_the_state)


@pytest.mark.parametrize(
    "event",
    [b"mock_inference: 2 workers on", b"Starting worker", b"Worker ready"],
    ids=["workers-forked", "sanic-starting", "worker-ready"],
)
def test_sigterm_during_start_up_with_two_workers(event: bytes) -> None:
    """`python -m mock_inference --workers 2` stopped at a start-up step it announces
    (a fixed delay instead raced the interpreter's own start under load: a SIGTERM
    before any handler exists kills the process, status -15): exit 0, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_inference", "--port", str(free_port()), "--workers", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("MOCK_")},
    )  # fmt: skip
    _stops_cleanly(proc, lambda: Output(proc.stdout).wait_for(event))


def test_a_dead_worker_stops_the_service_with_status_1() -> None:
    srv = start_server(workers=2)
    workers = subprocess.run(
        ["pgrep", "-P", str(srv.process.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) == 2  # forked workers only: no resource tracker
    victim = workers[0]
    os.kill(int(victim), signal.SIGKILL)
    assert srv.process.wait(timeout=15) == 1
    stderr = srv.process.stderr.read().decode() if srv.process.stderr else ""
    assert "exited with status -9" in stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_busy_port_is_one_clear_line(workers: int) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        proc = _spawn(holder.getsockname()[1], workers)
        code = proc.wait(timeout=15)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 1
    assert "cannot listen on 127.0.0.1:" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('rules:\n  - regex: "(unclosed"\n    reply: x\n', "rule 0 has a bad regex"),
        ("rules: [\n", "not valid YAML"),
        (None, "cannot read script file"),
    ],
)
def test_broken_script_file_is_one_line_not_a_traceback(
    tmp_path: Path, workers: int, content: str | None, expected: str
) -> None:
    script = tmp_path / "replies.yaml"
    if content is not None:
        script.write_text(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}
    env.update({"MOCK_REPLY_MODE": "script", "MOCK_SCRIPT_FILE": str(script)})
    cmd = [sys.executable, "-m", "mock_inference", "--port", str(free_port())]
    done = subprocess.run(
        [*cmd, "--workers", str(workers)], cwd=REPO, env=env, capture_output=True, timeout=30
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2
    assert expected in stderr and "Traceback" not in stderr
    assert stderr.startswith("mock_inference: configuration error:")


SUPERVISE_DEAF = """
import sys
sys.path.insert(0, {tests!r})
from mock_support import deaf_worker
from mock_inference.config import Settings
from mock_inference.listener import listen
from mock_inference.supervisor import run_workers
settings = Settings(workers=1, graceful_shutdown_seconds=0.2)
sys.exit(run_workers(settings, listen("127.0.0.1", 0), target=deaf_worker))
"""


def test_supervisor_repeats_a_sigterm_the_worker_dropped() -> None:
    """The worker drops the first SIGTERM; the supervisor says it again, once, and the
    service exits 0. Waits on what the processes print, not on a clock."""
    code = SUPERVISE_DEAF.format(tests=str(Path(__file__).parent))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out = Output(proc.stdout)

    def stop_it() -> None:
        out.wait_for(b"deaf worker ready")
        proc.send_signal(signal.SIGTERM)
        out.wait_for(b"deaf worker heard SIGTERM 2")

    stderr = _exits_0(proc, stop_it, 10)
    assert stderr.count("mock-worker-0 still running; repeating SIGTERM") == 1, stderr


SUPERVISE_DEAF_HELD_FORK = """
import multiprocessing.context, os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from mock_support import deaf_worker, say
from mock_inference.config import Settings
from mock_inference.listener import listen
from mock_inference.supervisor import run_workers
fork = multiprocessing.context.ForkProcess._Popen
gate = Path(os.environ["MOCK_TEST_GATE"])
def held_fork(process):  # start() learns the worker's pid only when this returns
    popen = fork(process)
    say("supervisor holds start()")
    while not gate.exists():
        time.sleep(0.01)
    return popen
multiprocessing.context.ForkProcess._Popen = staticmethod(held_fork)
settings = Settings(workers=1, graceful_shutdown_seconds=0.2)
sys.exit(run_workers(settings, listen("127.0.0.1", 0), target=deaf_worker))
"""


def test_a_stop_while_a_worker_is_forked_reaches_it(tmp_path: Path) -> None:
    """SIGTERM lands while the supervisor is inside start(): the worker runs, its pid is
    not known yet. The stop waits for start() and reaches the worker; the one repeat
    then stops the deaf worker: exit 0. (A lost stop left only the repeat, which the
    deaf worker drops: killed after 10 s, exit 1.)"""
    gate = tmp_path / "gate"
    env = {**os.environ, "MOCK_TEST_GATE": str(gate)}
    code = SUPERVISE_DEAF_HELD_FORK.format(tests=str(Path(__file__).parent))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    out = Output(proc.stdout)

    def stop_while_forking() -> None:
        out.wait_for(b"deaf worker ready")
        out.wait_for(b"supervisor holds start()")
        proc.send_signal(signal.SIGTERM)
        gate.touch()
        out.wait_for(b"deaf worker heard SIGTERM 2")

    stderr = _exits_0(proc, stop_while_forking, 10)
    assert stderr.count("mock-worker-0 still running; repeating SIGTERM") == 1, stderr


def _chat_total(text: str) -> int:
    return sum(
        int(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith('mock_http_requests_total{route="/v1/chat/completions"')
    )


def test_metrics_add_up_every_worker() -> None:
    srv = start_server(workers=2)
    try:
        for _ in range(24):  # fresh connections: both workers take requests
            assert httpx.post(srv.url + "/v1/chat/completions", json=CHAT_BODY).status_code == 200
        scrapes = [httpx.get(srv.url + "/metrics").text for _ in range(6)]
        assert [_chat_total(text) for text in scrapes] == [24] * 6
        assert all('vllm:request_success_total{finished_reason="stop"' in t for t in scrapes)
    finally:
        assert stop_server(srv) == 0


WITHOUT_SANIC = """
import importlib.abc, runpy, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sanic":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
sys.argv = ["mock_inference", "--port", sys.argv[1]]
runpy.run_module("mock_inference", run_name="__main__", alter_sys=True)
"""


def test_without_sanic_one_line_says_what_to_install() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANIC, str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("mock_inference: missing sanic; install with")
    assert "provisioner[mock]" in done.stderr and "Traceback" not in done.stderr
