"""`export compose`: the committed docker-compose.yml is the export of stack.yaml, and the
export keeps variables, turns probes into in-container checks and adds the one-shot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from provisioner.export.compose import compose_document, render
from provisioner.export.probes import PROBE_PASSWORD_ENV
from provisioner.stackfile.loader import load_stack

REPO = Path(__file__).resolve().parents[2]


def _repo_stack():
    return load_stack([REPO / "stack.yaml"], environ={})


def test_committed_compose_file_is_the_export_of_stack_yaml():
    committed = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert committed == render(_repo_stack()), (
        "docker-compose.yml drifted from stack.yaml: run "
        "`python -m provisioner export compose -o docker-compose.yml` with a clean environment"
    )


def test_export_does_not_depend_on_the_exporters_variables():
    with_env = load_stack(
        [REPO / "stack.yaml"],
        environ={"POSTGRES_PASSWORD": "s3cr3t-from-env", "POSTGRES_IMAGE": "other:1"},
    )
    text = render(with_env)
    assert "s3cr3t-from-env" not in text
    assert "other:1" not in text
    assert text == render(_repo_stack())


def test_images_ports_and_secrets_stay_variable_references():
    services = compose_document(_repo_stack())["services"]
    assert services["postgres"]["image"] == "${POSTGRES_IMAGE:-timescale/timescaledb:latest-pg15}"
    assert services["postgres"]["ports"] == ["127.0.0.1:${POSTGRES_PORT:-5432}:5432"]
    assert services["rabbitmq"]["ports"] == [
        "127.0.0.1:${RABBITMQ_PORT:-5672}:5672",
        "127.0.0.1:${RABBITMQ_UI_PORT:-15672}:15672",
    ]
    env = services["postgres"]["environment"]
    assert env["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-dev_password}"
    assert env[PROBE_PASSWORD_ENV] == "${POSTGRES_PASSWORD:-dev_password}"
    job = services["db-migrate"]["environment"]
    assert job["SEED_VAR_admin_password"] == "${SEED_ADMIN_PASSWORD:-dev_admin_password}"
    # Every password in the file sits inside a variable reference, as its default.
    text = render(_repo_stack())
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for password in ("dev_password", "dev_admin_password"):
        for match in re.finditer(re.escape(password), body):
            assert body[: match.start()].rstrip().endswith(":-"), body[match.start() - 40 :][:80]
    header = text.split("services:")[0]
    assert "POSTGRES_PASSWORD RABBITMQ_PASSWORD SEED_ADMIN_PASSWORD" in header


def test_probes_become_in_container_checks_with_the_same_meaning():
    services = compose_document(_repo_stack())["services"]
    pg = services["postgres"]["healthcheck"]
    assert pg["test"][0] == "CMD-SHELL"
    assert "psql -w -h 127.0.0.1 -p 5432 -U ias_dev -d ias_dev" in pg["test"][1]
    assert "SELECT 1" in pg["test"][1] and "$$HEALTHCHECK_PASSWORD" in pg["test"][1]
    assert pg["start_period"] == "120s" and pg["interval"] == "2s"
    assert "redis-cli" in services["redis"]["healthcheck"]["test"][1]
    assert "PONG" in services["redis"]["healthcheck"]["test"][1]
    rabbit = services["rabbitmq"]["healthcheck"]
    assert "check_port_connectivity" in rabbit["test"][1]
    assert rabbit["start_period"] == "180s"
    http = services["mock-inference"]["healthcheck"]["test"][1]
    assert "/health" in http and "200" in http


def test_migrations_run_once_postgres_is_healthy_and_dependants_wait(tmp_path):
    (tmp_path / "stack.yaml").write_text(
        textwrap.dedent(
            """
            project: demo
            services:
              db:
                image: postgres
                environment: {POSTGRES_PASSWORD: "${DB_PASSWORD:-pw}"}
                ports: ["${DB_PORT:-5432}:5432"]
                healthcheck: {type: postgres, password: "${DB_PASSWORD:-pw}", timeout: 30s}
              api:
                image: api
                command: ["serve", "--price=$$5"]
                depends_on: {db: {condition: healthy}}
              side:
                image: side
                healthcheck: {type: exec, command: [check, "--now"]}
            migrations: {service: db, database_url: "postgres://postgres:${DB_PASSWORD:-pw}@localhost:${DB_PORT:-5432}/postgres"}
            """
        )
    )
    document = compose_document(load_stack([tmp_path / "stack.yaml"], environ={}))
    services = document["services"]
    job = services["db-migrate"]
    assert job["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert job["restart"] == "no"
    assert (
        job["environment"]["DATABASE_URL"]
        == "postgres://postgres:${DB_PASSWORD:-pw}@db:5432/postgres"
    )
    assert "--wait" in job["command"] and "30s" in job["command"]
    assert services["api"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "db-migrate": {"condition": "service_completed_successfully"},
    }
    assert services["api"]["command"] == ["serve", "--price=$$5"]  # a literal '$' stays literal
    assert services["side"]["healthcheck"]["test"] == ["CMD", "check", "--now"]
    assert "depends_on" not in services["side"]


def test_a_variable_without_default_keeps_the_stack_meaning(tmp_path):
    (tmp_path / "stack.yaml").write_text(
        "project: demo\nservices:\n  web:\n    image: ${WEB_IMAGE}\n"
    )
    services = compose_document(load_stack([tmp_path / "stack.yaml"], environ={"WEB_IMAGE": "x"}))
    assert services["services"]["web"]["image"] == "${WEB_IMAGE:?WEB_IMAGE is not set}"


def test_docker_compose_1_29_accepts_the_committed_file():
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed (.ci/setup installs it)")
        pytest.skip("docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    result = subprocess.run(
        [binary, "-f", str(REPO / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {
        "postgres",
        "redis",
        "rabbitmq",
        "mock-inference",
        "db-migrate",
    }
    assert resolved["services"]["postgres"]["image"] == "timescale/timescaledb:latest-pg15"
