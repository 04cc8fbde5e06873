"""The stack loader: short and long forms, override merging, error locations, the repo stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provisioner.errors import SpecError
from provisioner.stackfile.loader import load_stack
from provisioner.stackfile.spec import parse_duration

REPO = Path(__file__).resolve().parents[2]


def load(path: Path, *more: Path, environ: dict[str, str] | None = None, **kwargs):
    return load_stack([path, *more], environ={} if environ is None else environ, **kwargs)


def error(path: Path, *more: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(SpecError) as info:
        load(path, *more, environ=environ)
    return str(info.value)


# ---- ports ------------------------------------------------------------------------------


def test_port_short_forms_and_default_host_ip(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              web:
                image: nginx
                ports:
                  - 8080
                  - "8000:80"
                  - "0.0.0.0:8443:443"
                  - "53:53/udp"
                  - "[::1]:9000:9000"
            """,
        )
    ).stack
    ports = stack.services["web"].ports
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in ports] == [
        ("127.0.0.1", None, 8080, "tcp"),
        ("127.0.0.1", 8000, 80, "tcp"),
        ("0.0.0.0", 8443, 443, "tcp"),
        ("127.0.0.1", 53, 53, "udp"),
        ("::1", 9000, 9000, "tcp"),
    ]


def test_port_long_form_defaults_to_loopback(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              web:
                image: nginx
                ports:
                  - {target: 80, published: 8080}
                  - {target: 81, published: 8081, host_ip: 0.0.0.0, protocol: udp}
            """,
        )
    ).stack
    first, second = stack.services["web"].ports
    assert (first.host_ip, first.published, first.target) == ("127.0.0.1", 8080, 80)
    assert (second.host_ip, second.protocol) == ("0.0.0.0", "udp")


def test_same_host_port_on_different_addresses_is_allowed(write):
    load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              a: {image: x, ports: ["127.0.0.1:80:80"]}
              b: {image: x, ports: ["127.0.0.2:80:80", "80:80/udp"]}
            """,
        )
    )


def test_wildcard_host_port_clashes_with_loopback(write):
    message = error(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              a: {image: x, ports: ["0.0.0.0:80:80"]}
              b: {image: x, ports: ["80:80"]}
            """,
        )
    )
    assert "already published by service 'a'" in message
    assert "line 4" in message


# ---- volumes ----------------------------------------------------------------------------


def test_volume_forms(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              db:
                image: postgres
                volumes:
                  - data:/var/lib/postgresql/data
                  - ./conf:/etc/conf:ro
                  - /srv/logs:/logs:rw
                  - {type: bind, source: ~/x, target: /x, read_only: true}
            volumes:
              data:
            """,
        )
    ).stack
    mounts = stack.services["db"].volumes
    assert [(m.type, m.source, m.target, m.read_only) for m in mounts] == [
        ("volume", "data", "/var/lib/postgresql/data", False),
        ("bind", "./conf", "/etc/conf", True),
        ("bind", "/srv/logs", "/logs", False),
        ("bind", "~/x", "/x", True),
    ]
    assert "data" in stack.volumes


@pytest.mark.parametrize(
    "volume",
    [
        "/var/run/docker.sock:/var/run/docker.sock",
        "/run/docker.sock:/sock:ro",
        "{type: bind, source: /var/run/docker.sock/, target: /s}",
    ],
)
def test_docker_socket_is_refused(write, volume):
    message = error(
        write(
            "stack.yaml",
            f"""
            project: demo
            services:
              web:
                image: x
                volumes:
                  - {volume}
            """,
        )
    )
    assert "Docker socket" in message
    assert "services.web.volumes[0]" in message
    assert "line 6" in message


def test_same_container_path_mounted_twice(write):
    message = error(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              web: {image: x, volumes: ["./a:/data", "./b:/data"]}
            """,
        )
    )
    assert "/data is mounted twice" in message


# ---- environment, depends_on, durations ------------------------------------------------------


def test_environment_list_and_mapping_are_equivalent(write):
    as_list = load(
        write(
            "list.yaml",
            """
            project: demo
            services:
              web:
                image: x
                environment: ["A=1", "B=x=y", "C="]
            """,
        )
    ).stack
    as_dict = load(
        write(
            "dict.yaml",
            """
            project: demo
            services:
              web:
                image: x
                environment: {A: 1, B: "x=y", C: null}
            """,
        )
    ).stack
    expected = {"A": "1", "B": "x=y", "C": ""}
    assert as_list.services["web"].environment == expected
    assert as_dict.services["web"].environment == expected


def test_environment_booleans_become_lowercase_strings(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              web: {image: x, environment: {DEBUG: yes, QUIET: false, RATIO: 0.5}}
            """,
        )
    ).stack
    assert stack.services["web"].environment == {"DEBUG": "true", "QUIET": "false", "RATIO": "0.5"}


def test_depends_on_list_and_mapping(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              db: {image: x}
              cache: {image: x}
              web:
                image: x
                depends_on: [db, cache]
              worker:
                image: x
                depends_on:
                  db: {condition: service_healthy}
                  cache:
                  web: {condition: started}
            """,
        )
    ).stack
    web, worker = stack.services["web"], stack.services["worker"]
    assert {k: v.condition for k, v in web.depends_on.items()} == {
        "db": "started",
        "cache": "started",
    }
    assert {k: v.condition for k, v in worker.depends_on.items()} == {
        "db": "healthy",
        "cache": "started",
        "web": "started",
    }


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (7, 7.0), ("1.5", 1.5)],
)
def test_durations(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["-1s", "1d", "soon", True, -3, float("nan"), float("inf")])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_duration_fields_in_stack(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              db:
                image: x
                stop_grace_period: 1m
                healthcheck: {type: tcp, port: 5432, timeout: 250ms}
            """,
        )
    ).stack
    assert stack.services["db"].stop_grace_period == 60.0
    assert stack.services["db"].healthcheck.timeout == 0.25


def test_restart_no_survives_yaml_boolean(write):
    stack = load(write("stack.yaml", "project: d\nservices: {a: {image: x, restart: no}}\n")).stack
    assert stack.services["a"].restart == "no"


def test_build_short_form_and_image_default(write):
    from provisioner.stackfile.spec import service_image

    stack = load(write("stack.yaml", "project: d\nservices: {web: {build: ./web}}\n")).stack
    web = stack.services["web"]
    assert web.build.context == "./web" and web.build.dockerfile == "Dockerfile"
    assert service_image("d", "web", web) == "d-web:local"


def test_project_name_option_overrides_file(write):
    loaded = load(write("s.yaml", "project: d\nservices: {a: {image: x}}\n"), project_name="other")
    assert loaded.stack.project == "other"


def test_default_network_is_added(write):
    stack = load(write("s.yaml", "project: d\nservices: {a: {image: x}}\n")).stack
    assert "default" in stack.networks
    assert stack.services["a"].networks == ["default"]


# ---- interpolation and env files --------------------------------------------------------


def test_interpolation_forms(write):
    stack = load(
        write(
            "stack.yaml",
            """
            project: demo
            services:
              web:
                image: ${IMAGE:-nginx}:${TAG-latest}
                environment:
                  SET: ${SET}
                  BARE: $SET-suffix
                  EMPTY_COLON: ${EMPTY:-fallback}
                  EMPTY_DASH: ${EMPTY-fallback}
                  PRICE: $$5
                  REQUIRED: ${SET:?must be set}
            """,
        ),
        environ={"SET": "v", "EMPTY": "", "TAG": ""},
    ).stack
    web = stack.services["web"]
    assert web.image == "nginx:"
    assert web.environment == {
        "SET": "v",
        "BARE": "v-suffix",
        "EMPTY_COLON": "fallback",
        "EMPTY_DASH": "",
        "PRICE": "$5",
        "REQUIRED": "v",
    }


def test_missing_variable_names_file_line_and_message(write):
    path = write(
        "stack.yaml",
        """
        project: demo
        services:
          web:
            image: nginx
            environment:
              TOKEN: ${API_TOKEN:?set API_TOKEN in .env}
        """,
    )
    message = error(path)
    assert f"{path}, line 6" in message
    assert "'API_TOKEN' is not set: set API_TOKEN in .env" in message


def test_env_file_values_are_used(write):
    stack_file = write("stack.yaml", "project: demo\nservices: {web: {image: '${IMAGE}'}}\n")
    env_file = write("custom.env", "# comment\nexport IMAGE='from-file:1'\n")
    stack = load_stack([stack_file], [env_file], environ={}).stack
    assert stack.services["web"].image == "from-file:1"


def test_process_environment_wins_over_env_file(write):
    stack_file = write(
        "stack.yaml",
        "project: demo\nservices: {web: {image: '${IMAGE}', environment: {ONLY: '${ONLY}'}}}\n",
    )
    env_file = write("custom.env", "IMAGE=from-file\nONLY=file-only\n")
    stack = load_stack([stack_file], [env_file], environ={"IMAGE": "from-process"}).stack
    assert stack.services["web"].image == "from-process"
    assert stack.services["web"].environment["ONLY"] == "file-only"


def test_dot_env_next_to_the_stack_is_read_by_default(write):
    stack_file = write("stack.yaml", "project: demo\nservices: {web: {image: '${IMAGE}'}}\n")
    write(".env", "IMAGE=from-dot-env\n")
    assert load_stack([stack_file], environ={}).stack.services["web"].image == "from-dot-env"


def test_missing_env_file_is_a_spec_error(write, tmp_path):
    stack_file = write("stack.yaml", "project: demo\nservices: {web: {image: x}}\n")
    with pytest.raises(SpecError, match="env file not found"):
        load_stack([stack_file], [tmp_path / "nope.env"], environ={})


def test_bad_env_file_line_names_file_and_line(write):
    stack_file = write("stack.yaml", "project: demo\nservices: {web: {image: x}}\n")
    env_file = write("bad.env", "A=1\nthis is not an assignment\n")
    with pytest.raises(SpecError) as info:
        load_stack([stack_file], [env_file], environ={})
    assert f"{env_file}, line 2" in str(info.value)


def test_env_file_quotes_comments_and_escapes_as_compose(write):
    stack_file = write(
        "stack.yaml",
        "project: demo\nservices: {web: {image: x, environment: "
        "{A: '${A}', B: '${B}', C: '${C}', D: '${D}', E: '${E}'}}}\n",
    )
    env_file = write(
        "quotes.env",
        'A="quoted" # note\n'
        "B='single' # note\n"
        'C="say \\"hi\\"\\tthere"\n'
        'D="two\nlines"\n'
        "E=${A}-${UNSET:-fallback}\n",
    )
    environment = load_stack([stack_file], [env_file], environ={}).stack.services["web"].environment
    assert environment["A"] == "quoted"
    assert environment["B"] == "single"
    assert environment["C"] == 'say "hi"\tthere'
    assert environment["D"] == "two\nlines"
    assert environment["E"] == "quoted-fallback"


def test_env_file_error_after_a_multiline_value_names_the_right_line(write):
    stack_file = write("stack.yaml", "project: demo\nservices: {web: {image: x}}\n")
    env_file = write("bad.env", 'A="one\ntwo"\nB=1\nnot an assignment\n')
    with pytest.raises(SpecError) as info:
        load_stack([stack_file], [env_file], environ={})
    assert f"{env_file}, line 4: expected KEY=VALUE, got 'not an assignment'" in str(info.value)


# ---- override merging ---------------------------------------------------------------------

BASE = """
project: demo
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: secret
    ports:
      - "5432:5432"
    volumes:
      - data:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
    healthcheck:
      type: postgres
      user: app
      password: secret
    depends_on: [cache]
  cache:
    image: redis:7
volumes:
  data:
  other:
"""


def test_override_merges_compose_style(write):
    base = write("stack.yaml", BASE)
    override = write(
        "override.yaml",
        """
        services:
          db:
            image: postgres:16
            environment:
              - POSTGRES_PASSWORD=changed
              - EXTRA=1
            ports:
              - "5432:5432"
              - "6432:6432"
            volumes:
              - other:/var/lib/postgresql/data
            healthcheck:
              type: tcp
              port: 5432
            depends_on:
              cache: {condition: service_healthy}
        """,
    )
    db = load(base, override).stack.services["db"]
    assert db.image == "postgres:16"
    assert db.environment == {
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": "changed",
        "EXTRA": "1",
    }
    assert [(p.published, p.target) for p in db.ports] == [(5432, 5432), (6432, 6432)]
    assert sorted((m.source, m.target) for m in db.volumes) == [
        ("./init", "/docker-entrypoint-initdb.d"),
        ("other", "/var/lib/postgresql/data"),
    ]
    # Replaced whole: no 'user'/'password' of the postgres probe leak into the tcp probe.
    assert db.healthcheck.type == "tcp" and db.healthcheck.port == 5432
    assert db.depends_on["cache"].condition == "healthy"


def test_override_can_add_a_service(write):
    base = write("stack.yaml", BASE)
    override = write("override.yaml", "services:\n  web:\n    image: nginx\n")
    assert set(load(base, override).stack.services) == {"db", "cache", "web"}


def test_error_in_override_names_the_override_file_and_line(write):
    base = write("stack.yaml", BASE)
    override = write(
        "override.yaml",
        """
        services:
          db:
            ports:
              - "6432:6432"
              - "99999:5432"
        """,
    )
    message = error(base, override)
    assert f"{override}, line 5" in message
    assert "services.db.ports[2].published" in message


def test_unknown_key_in_override_names_the_override_file(write):
    base = write("stack.yaml", BASE)
    override = write("override.yaml", "services:\n  cache:\n    imgae: redis:6\n")
    message = error(base, override)
    assert f"{override}, line 3" in message
    assert "did you mean 'image'" in message


def test_error_in_base_keeps_base_location_after_merge(write):
    base = write(
        "stack.yaml",
        """
        project: demo
        services:
          db:
            image: postgres
            environment: {A: "1"}
            volumes:
              - ./init:/init
              - missing:/data
        """,
    )
    override = write(
        "override.yaml",
        """
        services:
          db:
            environment: {B: "2"}
            volumes:
              - ./other:/init
        """,
    )
    message = error(base, override)
    assert "mounts volume 'missing'" in message
    assert f"{base}, line 8" in message, message


def test_duplicate_host_port_across_files_points_at_the_second(write):
    base = write("stack.yaml", BASE)
    override = write(
        "override.yaml",
        """
        services:
          cache:
            ports:
              - "5432:6379"
        """,
    )
    message = error(base, override)
    assert "already published by service 'db'" in message
    assert f"{override}, line 4" in message


def test_environment_override_error_location(write):
    base = write("stack.yaml", BASE)
    override = write(
        "override.yaml",
        """
        services:
          db:
            environment:
              POSTGRES_USER:
                nested: mapping
        """,
    )
    message = error(base, override)
    assert f"{override}, line 3" in message
    assert "services.db.environment" in message
    assert "'POSTGRES_USER' must be a string, number or boolean, not a mapping" in message


# ---- the repository's own stack -------------------------------------------------------------


@pytest.fixture
def repo_stack(tmp_path: Path) -> Path:
    """A copy of the repo's stack.yaml, away from any developer .env file."""
    target = tmp_path / "stack.yaml"
    shutil.copy(REPO / "stack.yaml", target)
    return target


def test_repo_stack_loads_with_default_variables(repo_stack):
    stack = load_stack([repo_stack], environ={}).stack
    assert stack.project == "ias-dev"
    assert set(stack.services) == {"postgres", "redis", "rabbitmq", "mock-inference"}
    assert stack.services["postgres"].image == "timescale/timescaledb:latest-pg15"
    assert all(p.host_ip == "127.0.0.1" for s in stack.services.values() for p in s.ports)
    assert stack.services["postgres"].healthcheck.type == "postgres"
    assert stack.migrations is not None and stack.migrations.service == "postgres"
    assert stack.migrations.database_url.startswith("postgres://ias_dev:dev_password@")
    assert set(stack.volumes) == {"postgres_data", "redis_data", "rabbitmq_data"}


def test_repo_stack_loads_with_standin_env(repo_stack):
    stack = load_stack([repo_stack], [REPO / ".ci" / "standin.env"], environ={}).stack
    assert stack.services["postgres"].image == "provisioner-standin/timescaledb:latest"
    assert stack.services["redis"].image == "provisioner-standin/redis:latest"
    assert stack.services["mock-inference"].build.args == {
        "BASE_IMAGE": "provisioner-standin/python:latest"
    }


def test_repo_stack_variables_change_ports_and_urls(repo_stack):
    stack = load_stack([repo_stack], environ={"POSTGRES_PORT": "15432"}).stack
    assert stack.services["postgres"].ports[0].published == 15432
    assert "localhost:15432" in stack.services["postgres"].urls["DATABASE_URL"]


@pytest.mark.parametrize("source", ["/var/run", "/run/", "/", "/var"])
def test_binding_a_folder_that_holds_the_docker_socket_is_refused(write, source):
    path = write(
        "stack.yaml",
        f"project: p\nservices:\n  a:\n    image: x\n    volumes: ['{source}:/host']\n",
    )
    with pytest.raises(SpecError) as error:
        load_stack([path], environ={})
    assert "Docker socket" in str(error.value) and "line 5" in str(error.value)
