"""The stack's typed probes as commands that run inside the service's own container.

Compose healthchecks and Kubernetes exec probes run in the container, not from the
host, so each probe becomes a shell script with the same meaning, using the tools
the official image ships: `psql` for a real query over TCP (not the init-time
socket), `redis-cli PING`, `rabbitmq-diagnostics check_port_connectivity` (the AMQP
listener accepts connections, not merely "the node runs"), and an HTTP GET checking
status and body with Python, curl or wget, whichever the image has.

A probe password is never written into the script: it is read from the container's
environment variable PROBE_PASSWORD_ENV, which the export fills from a variable
reference (compose) or a Secret (Kubernetes).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from provisioner.stackfile.spec import (
    AmqpProbe,
    ExecProbe,
    HttpProbe,
    PostgresProbe,
    RedisProbe,
    TcpProbe,
)

Probe = TcpProbe | HttpProbe | PostgresProbe | RedisProbe | AmqpProbe | ExecProbe

PROBE_PASSWORD_ENV = "HEALTHCHECK_PASSWORD"
# One attempt may take this long before it counts as failed.
ATTEMPT_TIMEOUT_S = 5
# How often an in-container check runs. Docker runs the first check one interval after
# start, so a short interval is what makes `depends_on: service_healthy` quick.
INTERVAL_S = 2
# RabbitMQ's CLI boots an Erlang VM per call (about a second of CPU): check less often.
SLOW_INTERVAL_S = 5


@dataclass(frozen=True)
class InContainerCheck:
    script: str | None  # a POSIX sh script; None for an exec probe kept as its argv
    argv: list[str] | None
    needs_password: bool
    interval_s: int


def probe_password(probe: Probe) -> str | None:
    password = getattr(probe, "password", None)
    return password or None


def in_container_check(probe: Probe) -> InContainerCheck:
    needs_password = probe_password(probe) is not None
    if isinstance(probe, ExecProbe):
        return InContainerCheck(None, list(probe.command or []), False, INTERVAL_S)
    if isinstance(probe, PostgresProbe):
        script = _postgres(probe)
    elif isinstance(probe, RedisProbe):
        script = _redis(probe)
    elif isinstance(probe, AmqpProbe):
        script = f"rabbitmq-diagnostics -q check_port_connectivity -t {ATTEMPT_TIMEOUT_S}"
        return InContainerCheck(script, None, False, SLOW_INTERVAL_S)
    elif isinstance(probe, HttpProbe):
        script = http_script(probe)
    else:
        script = tcp_script(probe.port)
    return InContainerCheck(script, None, needs_password, INTERVAL_S)


def _postgres(probe: PostgresProbe) -> str:
    password = f'PGPASSWORD="${PROBE_PASSWORD_ENV}" ' if probe_password(probe) else ""
    database = probe.database or probe.user
    return (
        f"{password}PGCONNECT_TIMEOUT={ATTEMPT_TIMEOUT_S} psql -w -h 127.0.0.1 -p {probe.port} "
        f"-U {shlex.quote(probe.user)} -d {shlex.quote(database)} -Atqc 'SELECT 1' "
        "| grep -qx 1"
    )


def _redis(probe: RedisProbe) -> str:
    password = f'REDISCLI_AUTH="${PROBE_PASSWORD_ENV}" ' if probe_password(probe) else ""
    return f"{password}redis-cli -h 127.0.0.1 -p {probe.port} ping | grep -qx PONG"


def tcp_script(port: int) -> str:
    return (
        "if command -v nc >/dev/null 2>&1; then "
        f"nc -z -w {ATTEMPT_TIMEOUT_S} 127.0.0.1 {port}; "
        "elif command -v bash >/dev/null 2>&1; then "
        f"bash -c '</dev/tcp/127.0.0.1/{port}'; "
        "else "
        f'python3 -c \'import socket; socket.create_connection(("127.0.0.1", {port}), '
        f"{ATTEMPT_TIMEOUT_S})'; fi"
    )


def http_script(probe: HttpProbe) -> str:
    url = f"http://127.0.0.1:{probe.port}{probe.path}"
    body = probe.body or ""
    # One line, double quotes only, so it sits in single quotes for sh; any error exits 1.
    python = (
        "import http.client as h, sys; "
        f'c = h.HTTPConnection("127.0.0.1", {probe.port}, timeout={ATTEMPT_TIMEOUT_S}); '
        f'c.request("GET", {json.dumps(probe.path)}); r = c.getresponse(); '
        f"sys.exit(0 if r.status == {probe.status} and {json.dumps(body)} in "
        'r.read(65536).decode(errors="replace") else 1)'
    )
    curl_body = (
        f" && curl -s --max-time {ATTEMPT_TIMEOUT_S} {shlex.quote(url)} "
        f"| grep -qF -- {shlex.quote(body)}"
        if body
        else ""
    )
    wget_body = f" | grep -qF -- {shlex.quote(body)}" if body else " >/dev/null"
    return (
        "py=$(command -v python3 || command -v python || true); "
        f'if [ -n "$py" ]; then "$py" -c {shlex.quote(python)}; '
        "elif command -v curl >/dev/null 2>&1; then "
        f"test \"$(curl -s -o /dev/null -w '%{{http_code}}' --max-time {ATTEMPT_TIMEOUT_S} "
        f'{shlex.quote(url)})" = {probe.status}{curl_body}; '
        # busybox wget cannot report the status: a 2xx answer (and the body) is all it checks
        f"else wget -q -T {ATTEMPT_TIMEOUT_S} -O - {shlex.quote(url)}{wget_body}; fi"
    )
