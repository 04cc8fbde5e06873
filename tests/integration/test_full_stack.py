"""The repo's own stack.yaml, end to end, on the stand-in images.

Same file as developers use; only variables differ (images, ports, project),
as in .ci/standin.env. The folder is a temp copy so `.env.local` lands there.
"""

from __future__ import annotations

import os
import stat

import pika
import psycopg
import pytest
import redis

from tests.support.docker_stacks import REPO, Stack, cleanup_project, container_of, free_port
from tests.support.images import standin_image

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory, docker_client):
    directory = tmp_path_factory.mktemp("full")
    (directory / "stack.yaml").write_text((REPO / "stack.yaml").read_text())
    for folder in ("mock_inference", "migrations", "seeds"):
        (directory / folder).symlink_to(REPO / folder)
    project = f"full{os.getpid()}"
    ports = {
        name: str(free_port())
        for name in (
            "POSTGRES_PORT",
            "REDIS_PORT",
            "RABBITMQ_PORT",
            "RABBITMQ_UI_PORT",
            "MOCK_INFERENCE_PORT",
        )
    }
    env = {
        "PROJECT_NAME": project,
        "POSTGRES_IMAGE": standin_image("timescaledb"),  # what users run
        "REDIS_IMAGE": standin_image("redis"),
        "RABBITMQ_IMAGE": standin_image("rabbitmq"),
        "PYTHON_IMAGE": standin_image("python"),
        "XDG_CACHE_HOME": str(directory / "cache"),
        **ports,
    }
    stack = Stack(directory, project, env)
    first = stack.run("apply", check=True, timeout=900)
    yield stack, first, ports
    cleanup_project(docker_client, project)


def test_all_services_healthy_and_reachable(full_stack, docker_client):
    stack, first, ports = full_stack
    assert "Applied project" in first.stdout
    for service in ("postgres", "redis", "rabbitmq", "mock-inference"):
        found = container_of(docker_client, stack.project, service)
        assert len(found) == 1 and found[0].status == "running", service

    dsn = f"postgresql://ias_dev:dev_password@127.0.0.1:{ports['POSTGRES_PORT']}/ias_dev"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert redis.Redis(port=int(ports["REDIS_PORT"])).ping()
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(
            "127.0.0.1",
            int(ports["RABBITMQ_PORT"]),
            credentials=pika.PlainCredentials("ias_dev", "dev_password"),
        )
    )
    assert connection.is_open
    connection.close()

    # Services reach each other by name on the project network.
    mock = container_of(docker_client, stack.project, "mock-inference")[0]
    code, output = mock.exec_run(
        [
            "python",
            "-c",
            "import socket\n"
            "for host, port in [('postgres', 5432), ('redis', 6379), ('rabbitmq', 5672)]:\n"
            "    socket.create_connection((host, port), timeout=5).close()\n"
            "print('reached all')",
        ]
    )
    assert code == 0 and b"reached all" in output, output


def test_migrations_and_seeds_ran(full_stack):
    stack, first, ports = full_stack
    dsn = f"postgresql://ias_dev:dev_password@127.0.0.1:{ports['POSTGRES_PORT']}/ias_dev"
    with psycopg.connect(dsn) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        assert {"organizations", "users", "api_keys", "model_mappings", "usage_events"} <= tables, (
            tables
        )
        # The TimescaleDB stand-in: usage data in a hypertable with its policies.
        hypertables = conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ).fetchall()
        assert ("usage_events",) in hypertables, hypertables
        jobs = conn.execute(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
            "WHERE hypertable_name IS NOT NULL ORDER BY 1"
        ).fetchall()
        assert [j[0] for j in jobs] == [
            "policy_compression",
            "policy_refresh_continuous_aggregate",
            "policy_retention",
        ], jobs
        caggs = conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates"
        ).fetchall()
        assert caggs == [("usage_hourly",)]
        mapping = conn.execute(
            "SELECT base_url FROM model_mappings WHERE public_name = 'mock-gpt'"
        ).fetchone()
        assert mapping == ("http://mock-inference:8000/v1",)
    env_local = stack.directory / ".env.local"
    assert stat.S_IMODE(env_local.stat().st_mode) == 0o600
    text = env_local.read_text()
    for key in (
        "DATABASE_URL=",
        "REDIS_URL=",
        "RABBITMQ_URL=",
        "MOCK_INFERENCE_URL=",
        "DEV_API_KEY=",
    ):
        assert key in text, key
    assert "Development API key" in first.stdout


def test_second_apply_changes_nothing(full_stack, docker_client):
    stack, _, _ = full_stack
    before = {
        c.id
        for c in docker_client.containers.list(
            all=True, filters={"label": f"org.provisioner.project={stack.project}"}
        )
    }
    again = stack.run("apply", check=True)
    assert "No changes" in again.stdout
    assert "Development API key" not in again.stdout  # printed once only
    after = {
        c.id
        for c in docker_client.containers.list(
            all=True, filters={"label": f"org.provisioner.project={stack.project}"}
        )
    }
    assert before == after
    assert stack.run("diff").returncode == 0


def test_mock_inference_answers_openai_client(full_stack):
    from openai import OpenAI

    _, _, ports = full_stack
    client = OpenAI(
        base_url=f"http://127.0.0.1:{ports['MOCK_INFERENCE_PORT']}/v1",
        api_key="unused",
        max_retries=0,
    )
    reply = client.chat.completions.create(
        model="mock-gpt", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content
    assert reply.usage.total_tokens > 0
