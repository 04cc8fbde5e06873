"""The live view on a real terminal (a pty), and plain lines when piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest

from tests.support.docker_stacks import free_port
from tests.support.images import RABBITMQ, REDIS

pytestmark = pytest.mark.docker

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def live_stack(redis_port: int, amqp_port: int, ui_port: int) -> str:
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    ports: ["{redis_port}:6379"]
    healthcheck: {{type: redis}}
  rabbitmq:
    image: {RABBITMQ}
    hostname: rabbitmq
    # Starts 6 s late, so the wait is surely slow (past live.SLOW_WAIT_S) on any machine.
    command: ["sh", "-c", "sleep 6; exec docker-entrypoint.sh rabbitmq-server"]
    environment: {{RABBITMQ_DEFAULT_USER: dev, RABBITMQ_DEFAULT_PASS: pw_not_shown}}
    ports: ["{amqp_port}:5672", "{ui_port}:15672"]
    healthcheck: {{type: amqp, user: dev, password: pw_not_shown, timeout: 180s}}
    urls:
      RABBITMQ_MANAGEMENT_URL: http://localhost:{ui_port}
"""


def run_on_pty(stack, *args: str, timeout: float = 300) -> tuple[int, str]:
    env = {**os.environ, **stack.env, "TERM": "xterm-256color", "COLUMNS": "140"}
    env.pop("CI", None)  # CI means plain lines; this test is about a person's terminal
    argv = [sys.executable, "-m", "provisioner", "-f", str(stack.file), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the provisioner with the pty as its terminal
        os.chdir(stack.directory)
        os.execvpe(argv[0], argv, env)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output for {timeout}s:\n{output.decode()[-2000:]}")
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            output += data
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_live_view_on_a_terminal(make_stack):
    stack = make_stack(live_stack(free_port(), free_port(), free_port()))
    code, out = run_on_pty(stack, "apply")
    assert code == 0, out[-3000:]
    assert "Traceback" not in out
    assert "[+] apply 2/2" in out
    assert any(ch in out for ch in SPINNER), "no spinner"
    assert "\x1b[1A" in out, "not redrawn in place (no cursor-up)"
    # RabbitMQ takes seconds to start: the slow wait is explained in words, not exceptions.
    assert "RabbitMQ is starting (AMQP" in out, out[-3000:]
    assert "StreamLostError" not in out and "IncompatibleProtocolError" not in out
    # What a person needs next.
    assert "RabbitMQ management UI: http://localhost:" in out
    assert "login dev / " in out and "pw_not_shown" not in out
    assert ".env.local" in out and "logs -f" in out

    code, out = run_on_pty(stack, "destroy")
    assert code == 0, out[-3000:]
    assert "[+] destroy 2/2" in out and "removed" in out


def test_piped_output_stays_plain_lines(make_stack):
    stack = make_stack(live_stack(free_port(), free_port(), free_port()).split("  rabbitmq:")[0])
    result = stack.run("apply", check=True)
    assert "\x1b[" not in result.stderr and "\x1b[" not in result.stdout
    assert "[+]" not in result.stderr
    assert "healthy after" in result.stderr
    destroyed = stack.run("destroy", check=True)
    assert "\x1b[" not in destroyed.stderr


def test_no_op_fast_path_does_not_import_rich(make_stack):
    stack = make_stack(live_stack(free_port(), free_port(), free_port()).split("  rabbitmq:")[0])
    stack.run("apply", check=True)
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['provisioner', '-f', sys.argv[1], 'apply']\n"
        "try:\n    runpy.run_module('provisioner', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('RICH' if 'rich' in sys.modules else 'NO-RICH', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(stack.file)],
        cwd=stack.directory,
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "No changes" in result.stdout, result.stdout + result.stderr
    assert "NO-RICH" in result.stderr, result.stderr
