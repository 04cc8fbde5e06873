"""apply / diff / destroy against a real Docker engine, on small stacks."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis

from tests.support.docker_stacks import container_of, free_port
from tests.support.stacks import two_service_stack

pytestmark = pytest.mark.docker


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


def ids(client, project: str) -> dict[str, str]:
    result = {}
    for service in ("redis", "postgres"):
        found = container_of(client, project, service)
        assert len(found) <= 1, f"more than one container for {service}"
        if found:
            result[service] = found[0].id
    return result


def test_apply_diff_cycle(make_stack, docker_client, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))

    before = stack.run("diff")
    assert before.returncode == 2, before.stdout
    assert "+ redis" in before.stdout and "+ postgres" in before.stdout

    stack.run("apply", check=True)
    assert redis.Redis(port=redis_port).ping()
    with psycopg.connect(f"postgresql://app:secret_pw@127.0.0.1:{pg_port}/app") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    first = ids(docker_client, stack.project)
    assert set(first) == {"redis", "postgres"}

    # Ports are published on 127.0.0.1 only.
    bindings = docker_client.api.inspect_container(first["redis"])["HostConfig"]["PortBindings"]
    assert bindings["6379/tcp"][0]["HostIp"] == "127.0.0.1"

    # A second apply changes nothing and says so.
    again = stack.run("apply", check=True)
    assert "No changes" in again.stdout
    assert ids(docker_client, stack.project) == first
    converged = stack.run("diff")
    assert converged.returncode == 0, converged.stdout
    assert "No changes" in converged.stdout

    # Changing one service's environment recreates that service only.
    stack.write(
        two_service_stack(redis_port, pg_port, redis_env="two").replace("PROJECT", stack.project)
    )
    planned = stack.run("diff", "--json")
    assert planned.returncode == 2
    actions = {a["service"]: a for a in json.loads(planned.stdout)["actions"]}
    assert actions["redis"]["action"] == "recreate"
    assert [c["path"] for c in actions["redis"]["changes"]] == ["environment.FOO"]
    assert actions["postgres"]["action"] == "unchanged"
    stack.run("apply", check=True)
    after = ids(docker_client, stack.project)
    assert after["postgres"] == first["postgres"]
    assert after["redis"] != first["redis"]
    env = docker_client.api.inspect_container(after["redis"])["Config"]["Env"]
    assert "FOO=two" in env


def test_diff_masks_secrets(make_stack, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)
    stack.write(
        two_service_stack(redis_port, pg_port)
        .replace("secret_pw", "other_pw")
        .replace("PROJECT", stack.project)
    )
    shown = stack.run("diff")
    assert shown.returncode == 2
    assert "environment.POSTGRES_PASSWORD" in shown.stdout
    assert "other_pw" not in shown.stdout and "secret_pw" not in shown.stdout
    as_json = stack.run("diff", "--json")
    assert "other_pw" not in as_json.stdout
    revealed = stack.run("--show-secrets", "diff")
    assert "other_pw" in revealed.stdout


def test_removed_service_is_removed(make_stack, docker_client, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)
    text = two_service_stack(redis_port, pg_port)
    only_postgres = text[: text.index("  redis:")] + text[text.index("  postgres:") :]
    stack.write(
        only_postgres.replace("    volumes: [redis_data:/data]\n", "").replace(
            "PROJECT", stack.project
        )
    )
    plan = stack.run("diff")
    assert plan.returncode == 2 and "- redis" in plan.stdout, plan.stdout
    stack.run("apply", check=True)
    assert container_of(docker_client, stack.project, "redis") == []
    assert len(container_of(docker_client, stack.project, "postgres")) == 1


def test_hand_removed_or_stopped_container_is_restored(make_stack, docker_client, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)

    container_of(docker_client, stack.project, "redis")[0].stop(timeout=5)
    plan = stack.run("diff")
    assert plan.returncode == 2 and "start" in plan.stdout, plan.stdout
    # diff is read-only: the stopped container is still there, still stopped.
    stopped = container_of(docker_client, stack.project, "redis")[0]
    assert stopped.status == "exited"
    stack.run("apply", check=True)
    stopped.reload()
    assert stopped.status == "running"

    container_of(docker_client, stack.project, "postgres")[0].remove(force=True)
    plan = stack.run("diff")
    assert plan.returncode == 2 and "+ postgres" in plan.stdout
    stack.run("apply", check=True)
    with psycopg.connect(f"postgresql://app:secret_pw@127.0.0.1:{pg_port}/app") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_destroy_keeps_volumes_and_data(make_stack, docker_client, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)
    dsn = f"postgresql://app:secret_pw@127.0.0.1:{pg_port}/app"
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
    redis.Redis(port=redis_port).set("kept", "survives")

    done = stack.run("destroy", check=True)
    assert "Volumes were kept" in done.stdout
    assert container_of(docker_client, stack.project, "postgres") == []
    assert docker_client.networks.list(names=[f"{stack.project}_default"]) == []
    volumes = {
        v.name
        for v in docker_client.volumes.list(
            filters={"label": f"org.provisioner.project={stack.project}"}
        )
    }
    assert volumes == {f"{stack.project}_pg_data", f"{stack.project}_redis_data"}
    again = stack.run("destroy", check=True)
    assert "Nothing to destroy" in again.stdout

    stack.run("apply", check=True)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("survives",)
    assert redis.Redis(port=redis_port).get("kept") == b"survives"
    # PostgreSQL was stopped with its own stop signal and finished a clean shutdown:
    # the restarted server finds no crash to recover from.
    log = stack.run("logs", "postgres", check=True).stdout
    assert "database system was shut down at" in log, log
    assert "not properly shut down" not in log and "automatic recovery" not in log


def test_destroy_volumes_needs_confirmation(make_stack, docker_client, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)
    refused = stack.run("destroy", "--volumes")
    assert refused.returncode == 1
    assert "--yes" in refused.stderr and f"{stack.project}_pg_data" in refused.stderr
    assert len(container_of(docker_client, stack.project, "postgres")) == 1  # nothing changed
    stack.run("destroy", "--volumes", "--yes", check=True)
    assert (
        docker_client.volumes.list(filters={"label": f"org.provisioner.project={stack.project}"})
        == []
    )


def test_diff_exit_codes_and_errors(make_stack, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    assert stack.run("diff").returncode == 2
    stack.run("apply", check=True)
    assert stack.run("diff").returncode == 0
    stack.write(
        "project: PROJECT\nservices:\n  redis:\n    imgae: x\n".replace("PROJECT", stack.project)
    )
    broken = stack.run("diff")
    assert broken.returncode == 1
    assert "stack.yaml, line 4" in broken.stderr and "did you mean 'image'" in broken.stderr


def test_status_and_logs(make_stack, ports):
    redis_port, pg_port = ports
    stack = make_stack(two_service_stack(redis_port, pg_port))
    stack.run("apply", check=True)
    status = json.loads(stack.run("status", "--json", check=True).stdout)
    health = {s["service"]: s["health"] for s in status["services"]}
    assert health == {"redis": "healthy", "postgres": "healthy"}
    logs = stack.run("logs", "postgres", "--tail", "50", check=True)
    assert "database system is ready to accept connections" in logs.stdout
    missing = stack.run("logs", "nosuch")
    assert missing.returncode == 1 and "nosuch" in missing.stderr
