#!/usr/bin/env python3
"""Benchmark: the Python mock inference service against the original spec's Go mock.

One run, same machine, same load generator (wrk), same body, same connections:
  1. non-streamed chat completions (full validation on the Python side):
     requests/s and p99 latency of each, and the ratios (targets: >= 0.6x, <= 2x);
  2. streaming with zero latency: chunks/s and time to first byte over N concurrent
     streams (raw asyncio sockets as the client), errors counted;
  3. resident memory (all processes of the server) idle and under load, from /proc.

Usage: python bench/mock_inference.py [--workers 2] [--duration 8] [--connections 32]
Everything listens on / is sent to 127.0.0.1 only (the Go mock binds :8000 itself and
is stopped at the end). Needs: go (golang-go), wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(
    subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent,
    ).stdout.strip()
)  # fmt: skip
GO_SRC = REPO.parent / "shared" / "baselines" / "go-mock"
GO_PORT = 8000  # hard-coded in the baseline
BODY = (
    '{"model":"mock-gpt","messages":[{"role":"system","content":"You are a helpful assistant."},'
    '{"role":"user","content":"Hello, how are you today?"}]}'
)
LUA = """wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, method: str = "GET", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if method == "GET":
                httpx.get(url, timeout=0.5)
            else:
                httpx.post(url, content=BODY, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and all its descendants (a supervisor plus its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_flag = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            time.sleep(0.25)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, script: Path, connections: int, duration: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": float(p50.group(1)) * _UNITS[p50.group(2)],
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)],
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


async def streams(port: int, concurrency: int, rounds: int) -> dict[str, float]:
    """N concurrent SSE streams over raw asyncio sockets (a thin client, so the
    figures measure the server rather than the client's parsing)."""
    payload = (
        b'{"model":"mock-gpt","messages":[{"role":"user","content":"Stream me tokens"}],'
        b'"stream":true}'
    )
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nx-mock-reply-mode: filler\r\n"
        b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
    )
    ttfb: list[float] = []
    chunks = 0
    errors = 0

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal chunks, errors
        started = time.perf_counter()
        writer.write(request)
        buf = b""
        first = None
        while b"data: [DONE]" not in buf:
            data = await reader.read(65536)
            if not data:
                errors += 1
                return
            if first is None and b"data: " in data:
                first = time.perf_counter() - started
            buf += data
        # Chunked framing ends with 0-size chunk after [DONE]; drain it for keep-alive.
        while not buf.endswith(b"0\r\n\r\n"):
            more = await reader.read(65536)
            if not more:
                break
            buf += more
        if not buf.startswith(b"HTTP/1.1 200"):
            errors += 1
        chunks += buf.count(b"data: {")
        ttfb.append(first or 0.0)

    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    await asyncio.gather(*(one(r, w) for r, w in conns))  # warm-up round
    ttfb.clear()
    chunks = 0
    started = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(one(r, w) for r, w in conns))
    wall = time.perf_counter() - started
    for _, w in conns:
        w.close()
    ttfb.sort()
    return {
        "streams": concurrency * rounds,
        "errors": errors,
        "chunks_per_s": chunks / wall,
        "ttfb_p50_ms": statistics.median(ttfb) * 1e3 if ttfb else float("nan"),
        "ttfb_p99_ms": ttfb[max(0, int(len(ttfb) * 0.99) - 1)] * 1e3 if ttfb else float("nan"),
    }


def stop(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop on SIGTERM; killing", file=sys.stderr)
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="Sanic workers (2 cores: 2)")
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="alternating wrk rounds per server")
    ap.add_argument("--streams", type=int, default=100, help="concurrent streams")
    ap.add_argument("--stream-tokens", type=int, default=64, help="tokens per stream")
    args = ap.parse_args()
    for tool in ("go", "wrk"):
        if not shutil.which(tool):
            print(f"missing tool: {tool}", file=sys.stderr)
            return 2
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", GO_PORT)) == 0:
            print(f"port {GO_PORT} is busy; the Go baseline needs it", file=sys.stderr)
            return 2

    tmp = Path(tempfile.mkdtemp(prefix="mock-bench-"))
    go_bin = tmp / "go-mock"
    env = {**os.environ, "GOCACHE": str(tmp / "gocache"), "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "build", "-o", str(go_bin), "."], cwd=GO_SRC, check=True, env=env)
    script = tmp / "post.lua"
    script.write_text(LUA % BODY)

    procs: list[tuple[subprocess.Popen, str]] = []
    try:
        go = subprocess.Popen([str(go_bin)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append((go, "go-mock"))
        go_url = f"http://127.0.0.1:{GO_PORT}/v1/chat/completions"
        wait_http(go_url, "POST")

        port = free_port()
        py_env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")} | {
            "MOCK_FILLER_TOKENS": str(args.stream_tokens)
        }
        py = subprocess.Popen(
            [sys.executable, "-m", "mock_inference", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.workers)],
            cwd=REPO, env=py_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append((py, "mock_inference"))
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health")
        time.sleep(1.0)  # let every worker finish starting before measuring idle memory
        for _ in range(20):  # and touch each worker once
            httpx.post(base + "/v1/chat/completions", content=BODY)
        idle_py = tree_rss_kib(py.pid)
        idle_go = tree_rss_kib(go.pid)

        print(f"machine: {os.cpu_count()} cores; wrk -t1 -c{args.connections} -d{args.duration}s;"
              f" mock_inference workers={args.workers}")  # fmt: skip
        print("\n== non-streamed chat completions (same body, POST) ==")
        results: dict[str, list[dict[str, float]]] = {"go": [], "py": []}
        samplers = {"go": RssSampler(go.pid), "py": RssSampler(py.pid)}
        for s in samplers.values():
            s.start()
        for r in range(args.rounds):
            for name, url in (("go", go_url), ("py", base + "/v1/chat/completions")):
                res = wrk(url, script, args.connections, args.duration)
                results[name].append(res)
                print(f"  round {r + 1} {name:>2}: {res['rps']:9.0f} req/s  "
                      f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                      f"non-2xx {res['non2xx']} {res['socket_errors']}")  # fmt: skip
        for s in samplers.values():
            s.stop_flag.set()
        ratios_rps = [
            p["rps"] / g["rps"] for g, p in zip(results["go"], results["py"], strict=True)
        ]
        ratios_p99 = [
            p["p99_ms"] / g["p99_ms"] for g, p in zip(results["go"], results["py"], strict=True)
        ]
        go_rps = statistics.mean(r["rps"] for r in results["go"])
        py_rps = statistics.mean(r["rps"] for r in results["py"])
        go_p99 = statistics.mean(r["p99_ms"] for r in results["go"])
        py_p99 = statistics.mean(r["p99_ms"] for r in results["py"])
        print(f"  mean  go: {go_rps:9.0f} req/s  p99 {go_p99:6.2f} ms")
        print(f"  mean  py: {py_rps:9.0f} req/s  p99 {py_p99:6.2f} ms")
        ok_rps = py_rps / go_rps >= 0.6
        ok_p99 = py_p99 / go_p99 <= 2.0
        print(f"  req/s ratio py/go: {py_rps / go_rps:.2f}x (per round "
              f"{', '.join(f'{x:.2f}' for x in ratios_rps)}; target >= 0.6x) "
              f"{'OK' if ok_rps else 'MISSED'}")  # fmt: skip
        print(f"  p99 ratio py/go:   {py_p99 / go_p99:.2f}x (per round "
              f"{', '.join(f'{x:.2f}' for x in ratios_p99)}; target <= 2x) "
              f"{'OK' if ok_p99 else 'MISSED'}")  # fmt: skip

        print(f"\n== streaming, zero latency, {args.stream_tokens} tokens per stream ==")
        sampler = RssSampler(py.pid)
        sampler.start()
        single = asyncio.run(streams(port, 1, 20))
        many = asyncio.run(streams(port, args.streams, 5))
        sampler.stop_flag.set()
        print(f"  1 stream at a time : {single['chunks_per_s']:9.0f} chunks/s  TTFB p50 "
              f"{single['ttfb_p50_ms']:.2f} ms")  # fmt: skip
        print(f"  {args.streams} concurrent    : {many['chunks_per_s']:9.0f} chunks/s  TTFB p50 "
              f"{many['ttfb_p50_ms']:.2f} ms  p99 {many['ttfb_p99_ms']:.2f} ms  "
              f"streams {many['streams']}  errors {many['errors']}")  # fmt: skip

        print("\n== resident memory (process tree, /proc VmRSS) ==")
        print(f"  go-mock        idle {idle_go / 1024:7.1f} MiB   under load "
              f"{samplers['go'].peak / 1024:7.1f} MiB")  # fmt: skip
        print(f"  mock_inference idle {idle_py / 1024:7.1f} MiB   under load "
              f"{max(samplers['py'].peak, sampler.peak) / 1024:7.1f} MiB  "
              f"({args.workers} worker(s) + supervisor)")  # fmt: skip
        return 0 if many["errors"] == 0 else 1
    finally:
        for proc, name in reversed(procs):
            stop(proc, name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
