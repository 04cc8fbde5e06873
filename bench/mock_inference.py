#!/usr/bin/env python3
"""Benchmark: the Python mock inference service against the original spec's Go mock.

One run, same machine, same load generator (wrk), same connections, the mock with
the container's default settings (MOCK_WORKERS=auto: one worker per usable CPU):
  1. non-streamed requests of the same size (same system and user text) to each API
     the mock serves: chat completions, Responses (skipped, and said so, while the
     route answers 404) and Anthropic Messages, against the Go mock's chat route (it
     serves nothing else): requests/s and p99 of each, and the ratios
     (targets: >= 1.2x the Go mock's req/s, p99 <= the Go mock's);
  2. streaming with zero latency, per API: chunks/s and time to first byte over N
     concurrent streams (raw asyncio sockets as the client), errors counted;
  3. resident memory (all processes of the server) idle and under load, from /proc.

Usage: python bench/mock_inference.py [--workers auto] [--duration 8] [--connections 32]
Everything listens on / is sent to 127.0.0.1 only (the Go mock binds :8000 itself and
is stopped at the end). Needs: go (golang-go), wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from dataclasses import dataclass
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
SYSTEM, USER = "You are a helpful assistant.", "Hello, how are you today?"


def _json(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True)
class Api:
    """One API of the mock: its route, a body of the same size as the others, how its
    stream ends (what the client waits for) and how it streams an error."""

    name: str
    path: str
    body: str
    stream_body: bytes
    stream_end: bytes
    stream_error: bytes


APIS = (
    Api("chat", "/v1/chat/completions", BODY,
        b'{"model":"mock-gpt","messages":[{"role":"user","content":"Stream me tokens"}],'
        b'"stream":true}',
        b"data: [DONE]", b'data: {"error"'),
    Api("responses", "/v1/responses",
        _json({"model": "mock-gpt", "instructions": SYSTEM,
               "input": [{"role": "user", "content": USER}]}),
        b'{"model":"mock-gpt","input":"Stream me tokens","stream":true}',
        b"response.completed", b"response.failed"),
    Api("messages", "/v1/messages",
        _json({"model": "mock-gpt", "max_tokens": 1024, "system": SYSTEM,
               "messages": [{"role": "user", "content": USER}]}),
        b'{"model":"mock-gpt","max_tokens":1024,"stream":true,'
        b'"messages":[{"role":"user","content":"Stream me tokens"}]}',
        b"event: message_stop", b"event: error"),
)  # fmt: skip
LUA = """wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
"""
# Every request a different body (a number appended to the user's text), so that
# nothing can be remembered: the mock's miss path. Go gets the same script.
LUA_DISTINCT = """counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    string.format('%s', counter))
end
"""


def distinct(body: str) -> str:
    """The body as a Lua format string whose user text ends in a request number."""
    assert USER in body and "%" not in body
    return body.replace(USER, USER + " %d")


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


async def streams(port: int, api: Api, concurrency: int, rounds: int) -> dict[str, float]:
    """N concurrent SSE streams over raw asyncio sockets (a thin client, so the
    figures measure the server rather than the client's parsing)."""
    payload = api.stream_body
    request = (
        b"POST " + api.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
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
        while api.stream_end not in buf:
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
        if not buf.startswith(b"HTTP/1.1 200") or api.stream_error in buf:
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


def probe(base: str, api: Api) -> int:
    return httpx.post(base + api.path, content=api.body, timeout=5).status_code


def ratio_line(label: str, values: list[float], mean: float, target: str, ok: bool) -> str:
    rounds = ", ".join(f"{x:.2f}" for x in values)
    return f"  {label}: {mean:.2f}x (per round {rounds}; target {target}) " + (
        "OK" if ok else "MISSED"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workers", default="auto", help="mock workers (default: the container's)")
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2, help="alternating wrk rounds per server")
    ap.add_argument(
        "--distinct-rounds",
        type=int,
        default=1,
        help="rounds with a different body per request (nothing remembered)",
    )
    ap.add_argument("--streams", type=int, default=200, help="concurrent streams per API")
    ap.add_argument("--stream-tokens", type=int, default=64, help="tokens per stream")
    args = ap.parse_args()
    for tool in ("go", "wrk"):
        if not shutil.which(tool):
            print(f"missing tool: {tool}", file=sys.stderr)
            return 2
    with socket.socket() as probe_sock:
        if probe_sock.connect_ex(("127.0.0.1", GO_PORT)) == 0:
            print(f"port {GO_PORT} is busy; the Go baseline needs it", file=sys.stderr)
            return 2

    tmp = Path(tempfile.mkdtemp(prefix="mock-bench-"))
    go_bin = tmp / "go-mock"
    env = {**os.environ, "GOCACHE": str(tmp / "gocache"), "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "build", "-o", str(go_bin), "."], cwd=GO_SRC, check=True, env=env)

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
            cwd=REPO, env=py_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        procs.append((py, "mock_inference"))
        assert py.stdout is not None
        started_line = py.stdout.readline().strip()  # "mock_inference: N workers on ..."
        workers = re.search(r"(\d+) workers", started_line)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health")
        time.sleep(1.0)  # let every worker finish starting before measuring idle memory
        apis: list[Api] = []
        for api in APIS:
            status = probe(base, api)
            if status == 404:
                print(f"{api.name}: {api.path} answers 404 in this tree; skipped")
            elif status != 200:
                print(f"{api.name}: {api.path} answers {status}; skipped", file=sys.stderr)
            else:
                apis.append(api)
        for _ in range(20):  # touch each worker once
            for api in apis:
                httpx.post(base + api.path, content=api.body)
        idle_py = tree_rss_kib(py.pid)
        idle_go = tree_rss_kib(go.pid)
        load = os.getloadavg()
        print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}; "
              f"wrk -t1 -c{args.connections} -d{args.duration}s; mock_inference --workers "
              f"{args.workers} ({workers.group(1) if workers else '?'} workers)")  # fmt: skip

        print("\n== non-streamed requests, same size (go: its chat route, the only one it has) ==")
        targets = [("go", go_url, BODY)] + [(a.name, base + a.path, a.body) for a in apis]
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in targets}
        samplers = {"go": RssSampler(go.pid), "py": RssSampler(py.pid)}
        for s in samplers.values():
            s.start()
        for r in range(args.rounds):
            for name, url, body in targets:
                script = tmp / f"{name}.lua"
                script.write_text(LUA % body)
                res = wrk(url, script, args.connections, args.duration)
                results[name].append(res)
                print(f"  round {r + 1} {name:>9}: {res['rps']:9.0f} req/s  "
                      f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                      f"non-2xx {res['non2xx']} {res['socket_errors']}")  # fmt: skip
        for s in samplers.values():
            s.stop_flag.set()
        go_rps = statistics.mean(r["rps"] for r in results["go"])
        go_p99 = statistics.mean(r["p99_ms"] for r in results["go"])
        print(f"  mean {'go':>9}: {go_rps:9.0f} req/s  p99 {go_p99:6.2f} ms")
        all_ok = True
        for api in apis:
            runs = results[api.name]
            rps = statistics.mean(r["rps"] for r in runs)
            p99 = statistics.mean(r["p99_ms"] for r in runs)
            rps_r = [p["rps"] / g["rps"] for g, p in zip(results["go"], runs, strict=True)]
            p99_r = [p["p99_ms"] / g["p99_ms"] for g, p in zip(results["go"], runs, strict=True)]
            ok_rps, ok_p99 = rps / go_rps >= 1.2, p99 / go_p99 <= 1.0
            all_ok = all_ok and ok_rps and ok_p99
            print(f"  mean {api.name:>9}: {rps:9.0f} req/s  p99 {p99:6.2f} ms")
            print(ratio_line(f"{api.name} req/s vs go", rps_r, rps / go_rps, ">= 1.2x", ok_rps))
            print(ratio_line(f"{api.name} p99 vs go  ", p99_r, p99 / go_p99, "<= 1.0x", ok_p99))

        if args.distinct_rounds:
            print("\n== non-streamed, every body different (nothing remembered; go: the same) ==")
            fresh: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in targets}
            for r in range(args.distinct_rounds):
                for name, url, body in targets:
                    script = tmp / f"{name}-distinct.lua"
                    script.write_text(LUA_DISTINCT % distinct(body))
                    res = wrk(url, script, args.connections, args.duration)
                    fresh[name].append(res)
                    print(f"  round {r + 1} {name:>9}: {res['rps']:9.0f} req/s  "
                          f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                          f"non-2xx {res['non2xx']} {res['socket_errors']}")  # fmt: skip
            go_fresh = statistics.mean(r["rps"] for r in fresh["go"])
            for api in apis:
                rps = statistics.mean(r["rps"] for r in fresh[api.name])
                print(f"  {api.name} req/s vs go, every body different: {rps / go_fresh:.2f}x")

        print(f"\n== streaming, zero latency, {args.stream_tokens} tokens per stream ==")
        sampler = RssSampler(py.pid)
        sampler.start()
        stream_errors = 0
        for api in apis:
            single = asyncio.run(streams(port, api, 1, 20))
            many = asyncio.run(streams(port, api, args.streams, 3))
            stream_errors += int(many["errors"] + single["errors"])
            print(f"  {api.name:>9}: 1 stream at a time {single['chunks_per_s']:7.0f} events/s "
                  f"TTFB p50 {single['ttfb_p50_ms']:.2f} ms | {args.streams} concurrent "
                  f"{many['chunks_per_s']:7.0f} events/s TTFB p50 {many['ttfb_p50_ms']:.2f} ms "
                  f"p99 {many['ttfb_p99_ms']:.2f} ms, streams {many['streams']}, "
                  f"errors {many['errors']}")  # fmt: skip
        sampler.stop_flag.set()

        print("\n== resident memory (process tree, /proc VmRSS) ==")
        print(f"  go-mock        idle {idle_go / 1024:7.1f} MiB   under load "
              f"{samplers['go'].peak / 1024:7.1f} MiB")  # fmt: skip
        print(f"  mock_inference idle {idle_py / 1024:7.1f} MiB   under load "
              f"{max(samplers['py'].peak, sampler.peak) / 1024:7.1f} MiB  "
              f"({workers.group(1) if workers else '?'} worker(s) + supervisor)")  # fmt: skip
        print(f"\ntargets {'met' if all_ok else 'MISSED'}; stream errors {stream_errors}")
        return 0 if stream_errors == 0 else 1
    finally:
        for proc, name in reversed(procs):
            stop(proc, name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
