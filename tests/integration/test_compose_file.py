"""The committed docker-compose.yml, run by docker-compose 1.29 on the stand-in images.

`up -d` brings every service to healthy and the migration one-shot to exit 0; real
clients see the schema and the seeds; a second `up -d` keeps every container; `down`
keeps the data. A unique project name and free host ports (through the file's port
variables) keep it apart from everything else on the engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pika
import psycopg
import pytest
import redis

from tests.support.docker_stacks import free_port
from tests.support.images import standin_image

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
# The migration versions the repository ships (golang-migrate names: 000007_x.up.sql).
SHIPPED = sorted(int(f.name.split("_", 1)[0]) for f in REPO.glob("migrations/*.up.sql"))
LONG_RUNNING = ("postgres", "redis", "rabbitmq", "mock-inference")
ONE_SHOT = "db-migrate"
READY_TIMEOUT_S = 420

pytestmark = pytest.mark.docker


class Compose:
    def __init__(self, project: str, env_file: Path) -> None:
        self.project = project
        self.env_file = env_file
        self.binary = shutil.which("docker-compose")

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        assert self.binary
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        result = subprocess.run(
            [
                self.binary,
                "-p",
                self.project,
                "--env-file",
                str(self.env_file),
                "-f",
                str(COMPOSE_FILE),
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"docker-compose {' '.join(args)}:\n{result.stderr}"
        return result


@pytest.fixture
def stack(docker_client, tmp_path):
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed (.ci/setup installs it)")
        pytest.skip("docker-compose is not installed")
    project = f"tc{uuid.uuid4().hex[:8]}"
    ports = {
        name: free_port()
        for name in (
            "POSTGRES_PORT",
            "REDIS_PORT",
            "RABBITMQ_PORT",
            "RABBITMQ_UI_PORT",
            "MOCK_INFERENCE_PORT",
        )
    }
    values = {
        "POSTGRES_IMAGE": standin_image("postgres"),
        "REDIS_IMAGE": standin_image("redis"),
        "RABBITMQ_IMAGE": standin_image("rabbitmq"),
        "PYTHON_IMAGE": standin_image("python"),
        "PROJECT_NAME": project,  # names the two built images, removed below
        **{k: str(v) for k, v in ports.items()},
    }
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    compose = Compose(project, env_file)
    compose.ports = ports  # type: ignore[attr-defined]
    try:
        yield compose
    finally:
        subprocess.run(
            [
                compose.binary or "docker-compose",
                "-p",
                project,
                "--env-file",
                str(env_file),
                "-f",
                str(COMPOSE_FILE),
                "down",
                "-v",
                "--remove-orphans",
            ],
            capture_output=True,
            cwd=REPO,
            check=False,
        )
        for image in (f"{project}-provisioner:local", f"{project}-mock-inference:local"):
            with contextlib.suppress(Exception):  # already gone or never built
                docker_client.images.remove(image, force=True)


def containers(client, project: str) -> dict[str, object]:
    found = client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    )
    return {c.labels["com.docker.compose.service"]: c for c in found}


def wait_until_ready(client, project: str) -> dict[str, object]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    state: dict[str, str] = {}
    while time.monotonic() < deadline:
        found = containers(client, project)
        state = {}
        for name, container in found.items():
            container.reload()
            s = container.attrs["State"]
            state[name] = s.get("Health", {}).get("Status") or f"{s['Status']}:{s['ExitCode']}"
        if state.get(ONE_SHOT, "").startswith("exited:") and state[ONE_SHOT] != "exited:0":
            logs = found[ONE_SHOT].logs().decode(errors="replace")
            pytest.fail(f"{ONE_SHOT} failed: {state[ONE_SHOT]}\n{logs}")
        if (
            all(state.get(n) == "healthy" for n in LONG_RUNNING)
            and state.get(ONE_SHOT) == "exited:0"
        ):
            return found
        time.sleep(1)
    pytest.fail(f"not ready within {READY_TIMEOUT_S}s: {state}")


def dsn(ports: dict[str, int]) -> str:
    return f"postgresql://ias_dev:dev_password@127.0.0.1:{ports['POSTGRES_PORT']}/ias_dev"


def test_compose_file_runs_the_stack_and_keeps_data(stack, docker_client):
    ports = stack.ports
    stack.run("up", "-d")
    found = wait_until_ready(docker_client, stack.project)
    ids = {name: c.id for name, c in found.items()}

    with psycopg.connect(dsn(ports), autocommit=True) as conn:
        versions = conn.execute(
            "SELECT version FROM provisioner_schema_migrations ORDER BY version"
        ).fetchall()
        assert [v for (v,) in versions] == SHIPPED
        assert conn.execute("SELECT name FROM organizations WHERE slug = 'bootstrap'").fetchone()
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] >= 1
        conn.execute("INSERT INTO organizations (slug, name) VALUES ('kept', 'Kept Org')")
    cache = redis.Redis(host="127.0.0.1", port=ports["REDIS_PORT"])
    assert cache.ping()
    cache.set("kept", "yes")
    cache.close()
    pika.BlockingConnection(
        pika.ConnectionParameters(
            host="127.0.0.1",
            port=ports["RABBITMQ_PORT"],
            credentials=pika.PlainCredentials("ias_dev", "dev_password"),
        )
    ).close()
    base = f"http://127.0.0.1:{ports['MOCK_INFERENCE_PORT']}"
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    assert httpx.get(f"{base}/v1/models", timeout=10).json()["data"]

    # The init-container wait of the Kubernetes export, against the same database.
    probe = {
        "type": "postgres",
        "port": ports["POSTGRES_PORT"],
        "user": "ias_dev",
        "database": "ias_dev",
    }
    waited = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioner",
            "wait-for",
            "127.0.0.1",
            json.dumps(probe),
            "--timeout",
            "20s",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={**os.environ, "HEALTHCHECK_PASSWORD": "dev_password"},
    )
    assert waited.returncode == 0, waited.stderr

    # A second `up -d` keeps every container; the one-shot runs again and changes nothing.
    stack.run("up", "-d")
    again = wait_until_ready(docker_client, stack.project)
    assert {name: c.id for name, c in again.items()} == ids
    with psycopg.connect(dsn(ports), autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM provisioner_schema_migrations").fetchone()[0]
        assert count == len(SHIPPED)

    # The image's command also works from the host with the stack's own settings (no
    # DATABASE_URL): everything is applied already, so it changes nothing.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("SEED_")}
    bootstrap = subprocess.run(
        [sys.executable, "-m", "provisioner", "bootstrap-db", "--wait", "20s"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={**env, "POSTGRES_PORT": str(ports["POSTGRES_PORT"])},
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert f"0 migration(s) applied, {len(SHIPPED)} already there." in bootstrap.stdout
    assert "seeds applied: none (up to date)" in bootstrap.stdout

    # `down` removes the containers but keeps the volumes, so the data survives.
    stack.run("down")
    assert containers(docker_client, stack.project) == {}
    stack.run("up", "-d")
    wait_until_ready(docker_client, stack.project)
    with psycopg.connect(dsn(ports), autocommit=True) as conn:
        assert conn.execute("SELECT name FROM organizations WHERE slug = 'kept'").fetchone()
    cache = redis.Redis(host="127.0.0.1", port=ports["REDIS_PORT"])
    assert cache.get("kept") == b"yes"
    cache.close()
