"""Health probes run from the provisioner, and the wait for healthy.

Probes go to the published host port when there is one (what the developer
will use), else to the container's address. Polling starts at 10 ms and backs
off to 250 ms; between attempts the container's own state is read, so a crash
or a crash loop ends the wait at once instead of at the timeout.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from provisioner.engine import docker_api
from provisioner.errors import Interrupted, ServiceFailed
from provisioner.stackfile.spec import (
    AmqpProbe,
    ExecProbe,
    HttpProbe,
    PostgresProbe,
    RedisProbe,
    TcpProbe,
)

PROBE_TIMEOUT_S = 2.0
CRASH_LOOP_RESTARTS = 2
logging.getLogger("pika").setLevel(logging.CRITICAL)


class ProbeFailed(Exception):
    """The service is not (yet) healthy; the message says what the probe saw."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int


def resolve_target(inspect: dict, port: int) -> Target:
    for host_ip, host_port in docker_api.published_ports(inspect).get(f"{port}/tcp", []):
        if ":" in host_ip:  # prefer the IPv4 binding
            continue
        return Target("127.0.0.1" if host_ip in ("", "0.0.0.0") else host_ip, host_port)
    ip = docker_api.container_ip(inspect)
    if ip is None:
        raise ProbeFailed(f"port {port} is not published and the container has no address yet")
    return Target(ip, port)


def run_probe(client: docker.DockerClient, probe: object, inspect: dict) -> None:
    """One attempt; raises ProbeFailed with the reason when not healthy."""
    try:
        if isinstance(probe, ExecProbe):
            result = client.api.exec_create(inspect["Id"], probe.command)
            output = client.api.exec_start(result["Id"]).decode(errors="replace").strip()
            code = client.api.exec_inspect(result["Id"]).get("ExitCode")
            if code != 0:
                raise ProbeFailed(f"command exited with {code}: {output[-200:]}")
            return
        probe_address(resolve_target(inspect, probe.port), probe)  # type: ignore[attr-defined]
    except ProbeFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - any client error means "not healthy yet"
        text = str(exc).strip().splitlines()
        raise ProbeFailed(f"{type(exc).__name__}: {text[0] if text else ''}".strip()) from None


def probe_address(target: Target, probe: object) -> None:
    """One attempt of a network probe against an address (not exec): raises on failure.
    Also what `provisioner wait-for` runs in a Kubernetes init container."""
    if isinstance(probe, TcpProbe):
        _tcp(target)
    elif isinstance(probe, HttpProbe):
        _http(target, probe)
    elif isinstance(probe, PostgresProbe):
        _postgres(target, probe)
    elif isinstance(probe, RedisProbe):
        _redis(target, probe)
    elif isinstance(probe, AmqpProbe):
        _amqp(target, probe)
    else:
        raise ProbeFailed(f"{type(probe).__name__} cannot be run against an address")


def _tcp(target: Target) -> None:
    with socket.create_connection((target.host, target.port), timeout=PROBE_TIMEOUT_S) as sock:
        # Docker's userland proxy accepts on the host port even when nothing listens
        # inside yet, then closes at once: an immediate EOF means "not listening".
        sock.settimeout(0.05)
        try:
            if sock.recv(1, socket.MSG_PEEK) == b"":
                raise ProbeFailed("connection closed at once (nothing listening yet)")
        except (TimeoutError, BlockingIOError):
            pass


def _http(target: Target, probe: HttpProbe) -> None:
    conn = http.client.HTTPConnection(target.host, target.port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", probe.path)
        response = conn.getresponse()
        body = response.read(65536).decode(errors="replace")
    finally:
        conn.close()
    if response.status != probe.status:
        raise ProbeFailed(f"GET {probe.path} answered {response.status}, expected {probe.status}")
    if probe.body is not None and probe.body not in body:
        raise ProbeFailed(f"GET {probe.path} body does not contain {probe.body!r}")


def _postgres(target: Target, probe: PostgresProbe) -> None:
    import psycopg

    with psycopg.connect(
        host=target.host,
        port=target.port,
        user=probe.user,
        password=probe.password,
        dbname=probe.database or probe.user,
        connect_timeout=int(PROBE_TIMEOUT_S),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT 1").fetchone()


def _redis(target: Target, probe: RedisProbe) -> None:
    import redis

    client = redis.Redis(
        host=target.host,
        port=target.port,
        password=probe.password,
        socket_timeout=PROBE_TIMEOUT_S,
        socket_connect_timeout=PROBE_TIMEOUT_S,
    )
    try:
        if not client.ping():
            raise ProbeFailed("PING did not answer PONG")
    finally:
        client.close()


def _amqp(target: Target, probe: AmqpProbe) -> None:
    import pika

    params = pika.ConnectionParameters(
        host=target.host,
        port=target.port,
        virtual_host=probe.vhost,
        credentials=pika.PlainCredentials(probe.user, probe.password),
        connection_attempts=1,
        socket_timeout=PROBE_TIMEOUT_S,
        blocked_connection_timeout=PROBE_TIMEOUT_S,
        stack_timeout=PROBE_TIMEOUT_S * 2,
    )
    pika.BlockingConnection(params).close()


class _NotRunning(Exception):
    pass


def wait_until_healthy(
    client: docker.DockerClient,
    service: str,
    container_id: str,
    probe: object | None,
    cancelled: threading.Event,
    on_wait: Callable[[float, str], None] = lambda elapsed, last: None,
) -> float:
    """Block until the probe passes; return seconds waited. ServiceFailed when it will not."""
    start = time.monotonic()
    timeout = getattr(probe, "timeout", 60.0)
    last_error = "no probe attempt yet"
    initial_restarts: int | None = None

    def stop(state: RetryCallState) -> bool:
        return cancelled.is_set() or time.monotonic() - start >= timeout

    def attempt() -> None:
        nonlocal last_error, initial_restarts
        inspect = docker_api.inspect_container(client, container_id)
        if inspect is None:
            raise ServiceFailed(
                f"Service '{service}': its container disappeared while waiting "
                "for it to become healthy."
            )
        state = inspect["State"]
        restarts = int(inspect.get("RestartCount") or 0)
        if initial_restarts is None:
            initial_restarts = restarts
        if state.get("Status") in ("exited", "dead") and not state.get("Restarting"):
            if state.get("ExitCode") in (137, 143) and not docker_api.engine_alive():
                # Killed from outside: the engine stopping its containers as it shuts down.
                raise docker_api.lost_engine(f"while waiting for '{service}' to become healthy")
            _fail(
                client,
                service,
                container_id,
                probe,
                f"the container exited with code {state.get('ExitCode')}",
            )
        if restarts - initial_restarts >= CRASH_LOOP_RESTARTS or (
            state.get("Restarting") and restarts - initial_restarts >= 1
        ):
            _fail(
                client,
                service,
                container_id,
                probe,
                f"the container keeps restarting (exit code {state.get('ExitCode')}, "
                f"{restarts} restarts)",
            )
        if not state.get("Running") or state.get("Restarting"):
            last_error = f"container is {state.get('Status')}"
            raise _NotRunning(last_error)
        if probe is None:
            return
        try:
            run_probe(client, probe, inspect)
        except ProbeFailed as exc:
            last_error = str(exc)
            on_wait(time.monotonic() - start, last_error)
            raise

    retrying = Retrying(
        retry=retry_if_exception_type((ProbeFailed, _NotRunning)),
        stop=stop,
        wait=wait_exponential(multiplier=0.01, min=0.01, max=0.25),
        reraise=True,
    )
    try:
        retrying(attempt)
    except (ProbeFailed, _NotRunning):
        if cancelled.is_set():
            raise Interrupted(f"Stopped waiting for '{service}'.") from None
        _fail(
            client,
            service,
            container_id,
            probe,
            f"not healthy after {timeout:.0f}s; last probe error: {last_error}",
        )
    return time.monotonic() - start


def _fail(
    client: docker.DockerClient, service: str, container_id: str, probe: object | None, reason: str
) -> None:
    kind = getattr(probe, "type", "running state")
    tail = docker_api.log_tail(client, container_id)
    raise ServiceFailed(
        f"Service '{service}' did not become healthy ({kind} probe): {reason}.\n"
        f"Last lines of its log:\n{_indent(tail)}"
    )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
