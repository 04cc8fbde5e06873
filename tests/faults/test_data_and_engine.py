"""Nothing lost: a PostgreSQL row, a Redis key (append-only) and a persistent message in a
durable RabbitMQ queue survive `destroy` + `apply`, a recreate caused by a config change,
and a restart of the Docker engine, during which `status` tells the truth. Plus: the
engine unreachable (down, or DOCKER_HOST at a dead socket) is a clear error."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pika
import psycopg
import pytest
import redis

from tests.support.docker_stacks import free_port
from tests.support.runs import assert_converged, background, project_state
from tests.support.stacks import data_stack, interrupt_stack

pytestmark = pytest.mark.docker
SERVICES = {"postgres", "redis", "rabbitmq"}
QUEUE = "faults.kept"


class Data:
    def __init__(self, pg_port: int, redis_port: int, amqp_port: int) -> None:
        self.pg = f"postgresql://app:pg_secret_pw@127.0.0.1:{pg_port}/app"
        self.redis_port = redis_port
        self.amqp = pika.ConnectionParameters(
            "127.0.0.1",
            amqp_port,
            credentials=pika.PlainCredentials("app", "mq_secret_pw"),
            connection_attempts=1,
        )

    def write(self) -> None:
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('pg survives')")
        client = redis.Redis(port=self.redis_port)
        client.set("kept", "redis survives")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()
        connection = pika.BlockingConnection(self.amqp)
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(QUEUE, durable=True)
        channel.basic_publish(
            "",
            QUEUE,
            b"mq survives",
            pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent),
            mandatory=True,
        )
        connection.close()

    def check(self, when: str) -> None:
        with psycopg.connect(self.pg) as conn:
            rows = conn.execute("SELECT v FROM kept").fetchall()
        assert rows == [("pg survives",)], when
        client = redis.Redis(port=self.redis_port)
        assert client.get("kept") == b"redis survives", when
        client.close()
        connection = pika.BlockingConnection(self.amqp)
        channel = connection.channel()
        declared = channel.queue_declare(QUEUE, durable=True, passive=True)
        assert declared.method.message_count == 1, when
        method, _, body = channel.basic_get(QUEUE, auto_ack=False)
        assert body == b"mq survives", when
        channel.basic_nack(method.delivery_tag, requeue=True)  # leave it for the next check
        connection.close()


def status_of(stack) -> dict[str, tuple[str, str]]:
    result = stack.run("status", "--json", check=True)
    rows = json.loads(result.stdout)["services"]
    return {r["service"]: (r["state"], r["health"]) for r in rows}


def test_data_survives_destroy_recreate_and_engine_restart(
    make_stack, docker_client, engine
) -> None:
    ports = free_port(), free_port(), free_port()
    stack = make_stack(data_stack(*ports))
    stack.run("apply", check=True)
    data = Data(*ports)
    data.write()
    data.check("after writing")

    # (a) destroy, then apply.
    stack.run("destroy", check=True)
    assert project_state(docker_client, stack.project).containers == {}
    stack.run("apply", check=True)
    data.check("after destroy and apply")

    # (b) a config change recreates every service.
    before = {
        s: c[0]["Id"] for s, c in project_state(docker_client, stack.project).containers.items()
    }
    stack.write(data_stack(*ports, marker="two").replace("PROJECT", stack.project))
    stack.run("apply", check=True)
    after = project_state(docker_client, stack.project).containers
    assert all(after[s][0]["Id"] != before[s] for s in SERVICES), "not recreated"
    data.check("after a recreate")

    # (c) the engine restarts under the running stack.
    engine.stop()
    down = stack.run("status")
    assert down.returncode == 1
    assert "Cannot reach the Docker engine" in down.stderr, down.stderr
    assert "Start the Docker engine" in down.stderr, down.stderr
    engine.start()
    # postgres has restart: unless-stopped and came back; the others were stopped.
    status = status_of(stack)
    assert status["postgres"] == ("running", "healthy"), status
    assert status["redis"][0] == "exited" and status["rabbitmq"][0] == "exited", status
    planned = stack.run("diff")
    assert planned.returncode == 2 and "container is exited" in planned.stdout, planned.stdout
    stack.run("apply", check=True)
    assert_converged(docker_client, stack.project, SERVICES, stack)
    assert {s: h for s, (_, h) in status_of(stack).items()} == dict.fromkeys(SERVICES, "healthy")
    data.check("after an engine restart")


def test_engine_lost_during_apply(make_stack, docker_client, engine) -> None:
    stack = make_stack(interrupt_stack(free_port(), free_port(), delay=3.0))
    run = background(stack, "apply")
    run.wait_for(r"slow .*waiting for health")
    engine.stop()
    assert run.finish(60) == 1, run.err
    assert "Docker engine" in run.err and "Start the Docker engine" in run.err, run.err
    engine.start()
    stack.run("apply", check=True, timeout=120)
    assert_converged(docker_client, stack.project, {"redis", "slow", "app"}, stack)


@pytest.mark.parametrize("kind", ["missing", "dead-socket", "tcp"])
def test_docker_unreachable(make_stack, tmp_path: Path, kind: str) -> None:
    stack = make_stack(interrupt_stack(free_port(), free_port()))
    if kind == "missing":
        host = f"unix://{tmp_path}/nothing-here.sock"
    elif kind == "dead-socket":
        path = tmp_path / "dead.sock"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        listener.close()  # the file stays, nobody listens
        host = f"unix://{path}"
    else:
        host = f"tcp://127.0.0.1:{free_port()}"
    stack.env["DOCKER_HOST"] = host
    for command in (["apply"], ["diff"], ["status"], ["destroy"], ["logs"]):
        result = stack.run(*command, timeout=60)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("error: Cannot reach the Docker engine"), result.stderr
        assert "DOCKER_HOST" in result.stderr and "Start the Docker engine" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
