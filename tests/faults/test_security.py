"""Security defaults: loopback ports, secrets masked everywhere, .env.local 0600,
unprivileged containers without the Docker socket, and `destroy --volumes` that asks."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys

import pytest

from tests.support.docker_stacks import free_port
from tests.support.images import POSTGRES, REDIS
from tests.support.runs import project_state

pytestmark = pytest.mark.docker

PG_PW = "Pg-Secret-4711"
PROBE_PW = "Wrong-Probe-0815"
TOKEN = "tok-Secret-2342"


def secret_stack(pg_port: int, redis_port: int, pg_pw: str = PG_PW) -> str:
    return f"""
project: PROJECT
services:
  postgres:
    image: {POSTGRES}
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: {pg_pw}
      POSTGRES_DB: app
      APP_DATABASE_URL: postgres://app:{pg_pw}@postgres:5432/app
      SERVICE_TOKEN: {TOKEN}
    ports: ["{pg_port}:5432"]
    healthcheck: {{type: postgres, user: app, password: {PROBE_PW}, database: app, timeout: 6s}}
    urls:
      DATABASE_URL: postgres://app:{pg_pw}@localhost:{pg_port}/app
  redis:
    image: {REDIS}
    ports: ["{redis_port}:6379"]
    healthcheck: {{type: redis}}
  checker:
    image: {REDIS}
    healthcheck:
      type: exec
      command:
        - sh
        - -c
        - >-
          echo no answer from postgres://app:{pg_pw}@postgres/app;
          echo host=postgres password={pg_pw} token={TOKEN}; exit 1
      timeout: 6s
"""


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (PG_PW, PROBE_PW, TOKEN, "Other-Secret-99"):
            assert secret not in text, f"{secret} leaked in:\n{text}"


def test_secrets_are_masked_everywhere(make_stack, docker_client) -> None:
    pg_port, redis_port = free_port(), free_port()
    stack = make_stack(secret_stack(pg_port, redis_port))

    # The probe's password is wrong: apply fails at the probe's timeout, and neither the
    # progress output nor the error shows a password.
    failed = stack.run("apply", timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Service 'postgres' did not become healthy (postgres probe)" in failed.stderr
    assert "password authentication failed" in failed.stderr, failed.stderr
    assert "still waiting for health" in failed.stderr, failed.stderr  # progress was shown
    # The exec probe's output is in the error, with the DSNs' passwords masked.
    assert "no answer from postgres://app:********@postgres/app" in failed.stderr, failed.stderr
    assert "host=postgres password=******** token=********" in failed.stderr, failed.stderr
    assert_no_secret(failed.stdout, failed.stderr)

    text = stack.run("status", check=True)
    as_json = stack.run("status", "--json", check=True)
    rows = {r["service"]: r for r in json.loads(as_json.stdout)["services"]}
    assert rows["postgres"]["health"].startswith("unhealthy:"), rows
    assert "password=********" in rows["checker"]["health"], rows
    assert rows["postgres"]["urls"]["DATABASE_URL"] == (
        f"postgres://app:********@localhost:{pg_port}/app"
    )
    assert "********" in text.stdout
    assert_no_secret(text.stdout, text.stderr, as_json.stdout, as_json.stderr)
    shown = stack.run("--show-secrets", "status", "--json", check=True)
    assert PG_PW in shown.stdout

    # A changed password: diff shows which fields change, never the values.
    stack.write(
        secret_stack(pg_port, redis_port, "Other-Secret-99").replace("PROJECT", stack.project)
    )
    diff = stack.run("diff")
    diff_json = stack.run("diff", "--json")
    assert diff.returncode == 2 and diff_json.returncode == 2
    assert "environment.POSTGRES_PASSWORD" in diff.stdout
    assert "environment.APP_DATABASE_URL" in diff.stdout
    assert "postgres://app:********@postgres:5432/app" in diff.stdout, diff.stdout
    assert_no_secret(diff.stdout, diff.stderr, diff_json.stdout, diff_json.stderr)
    config = stack.run("config", check=True)
    assert_no_secret(config.stdout)
    revealed = stack.run("--show-secrets", "diff")
    assert "Other-Secret-99" in revealed.stdout and PG_PW in revealed.stdout

    # Containers: loopback ports, unprivileged, no-new-privileges, no Docker socket.
    for service, (found,) in project_state(docker_client, stack.project).containers.items():
        host = found["HostConfig"]
        assert host["Privileged"] is False, service
        assert any(o.startswith("no-new-privileges") for o in host["SecurityOpt"] or []), host
        assert all(b["HostIp"] == "127.0.0.1" for bs in host["PortBindings"].values() for b in bs)
        assert not any("docker.sock" in m.get("Source", "") for m in found["Mounts"]), service


def test_every_interface_warning_and_docker_socket_refused(make_stack) -> None:
    port = free_port()
    stack = make_stack(
        f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    ports: ["0.0.0.0:{port}:6379"]
"""
    )
    diff = stack.run("diff")
    assert diff.returncode == 2
    assert f"warning: service 'redis' publishes port {port} on every interface" in diff.stderr

    for source in ("/var/run/docker.sock", "/run/docker.sock"):
        stack.write(
            f"""
project: {stack.project}
services:
  redis:
    image: {REDIS}
    volumes: ["{source}:/var/run/docker.sock"]
"""
        )
        for command in ("diff", "apply"):
            refused = stack.run(command)
            assert refused.returncode == 1, refused.stdout
            assert "mounting the Docker socket into a container is not allowed" in refused.stderr
            assert "stack.yaml" in refused.stderr, refused.stderr


def test_docker_socket_never_reaches_a_container(make_stack, docker_client) -> None:
    """Validation refuses the socket's own path; apply also refuses it under another name
    (a symlink) or inside a mounted folder, before anything is created."""
    stack = make_stack("")
    (stack.directory / "sock").symlink_to("/var/run/docker.sock")
    for source in ("/var/run", "/", "./sock"):
        stack.write(
            f"""
project: {stack.project}
services:
  redis:
    image: {REDIS}
    volumes: ["{source}:/host:ro"]
"""
        )
        refused = stack.run("apply")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        # Folders are refused at validation (with file and line), a symlink by apply.
        expected = f"bind-mounts '{source}'" if source == "./sock" else f"binding {source} "
        assert expected in refused.stderr, refused.stderr
        assert "the Docker socket" in refused.stderr, refused.stderr
        state = project_state(docker_client, stack.project)
        assert state.containers == {} and state.networks == [], state


def test_env_local_is_owner_only(make_stack) -> None:
    stack = make_stack(secret_stack(free_port(), free_port()))
    target = stack.directory / ".env.local"
    target.write_text("OLD=1\n")
    os.chmod(target, 0o644)
    old_umask = os.umask(0)
    try:
        written = stack.run("env", check=True)
    finally:
        os.umask(old_umask)
    assert "mode 600" in written.stdout
    assert_no_secret(written.stdout, written.stderr)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "DATABASE_URL=postgres://app:" in target.read_text()
    target.unlink()
    stack.run("env", check=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def _destroy_on_a_terminal(stack, answer: str) -> tuple[int, str]:
    """Run `destroy --volumes` with a pseudo-terminal as stdin and type `answer`."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "-f", str(stack.file), "destroy", "--volumes"],
        cwd=stack.directory,
        env={**os.environ, **stack.env},
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(terminal)
    try:
        os.write(controller, answer.encode() + b"\n")
        output, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
    assert "Traceback" not in output, output
    return process.returncode, output


def test_destroy_volumes_asks_on_a_terminal(make_stack, docker_client) -> None:
    stack = make_stack(
        f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    volumes: [redis_data:/data]
volumes:
  redis_data:
"""
    )
    stack.run("apply", check=True)
    volume = f"{stack.project}_redis_data"

    code, output = _destroy_on_a_terminal(stack, "yes")
    assert code == 1, output
    assert f"This deletes the volumes {volume}" in output, output
    assert f"Type the project name ({stack.project})" in output, output
    assert "Not confirmed; nothing was changed." in output, output
    state = project_state(docker_client, stack.project)
    assert list(state.containers) == ["redis"] and state.volumes == [volume], state

    code, output = _destroy_on_a_terminal(stack, stack.project)
    assert code == 0, output
    assert f"Deleted volumes: {volume}" in output, output
    state = project_state(docker_client, stack.project)
    assert state.containers == {} and state.networks == [] and state.volumes == [], state
