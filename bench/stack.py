"""Speed of apply / diff / destroy against docker-compose 1.29, in one run.

Same four services, same (stand-in) images, same ports, fresh volumes each time:

  cold:    `provisioner apply` from nothing to all healthy, vs `docker-compose up -d`
           followed by polling every service with the same probes until healthy,
           and vs the slowest single service's own time to healthy (`docker run`
           of that service alone, polled every 10 ms).
  no-op:   `apply` and `diff` on the converged stack vs compose's no-op `up -d`.
  destroy: `destroy` vs `docker-compose down`, and whether PostgreSQL shut down
           clean (pg_controldata on its volume says "shut down").

Usage: python bench/stack.py [--rounds N]   (needs the stand-ins: make test-env)
Prints figures and ratios; targets from issue 2 are shown next to each ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provisioner.core.desired import resolve  # noqa: E402
from provisioner.digest import DiskContents  # noqa: E402
from provisioner.engine.health import ProbeFailed, run_probe  # noqa: E402
from provisioner.stackfile.loader import load_stack  # noqa: E402

PROJECT = "benchprov"
COMPOSE_PROJECT = "benchcompose"
ENV = {
    **os.environ,
    "PROJECT_NAME": PROJECT,
    "POSTGRES_IMAGE": "provisioner-standin/postgres:latest",
    "REDIS_IMAGE": "provisioner-standin/redis:latest",
    "RABBITMQ_IMAGE": "provisioner-standin/rabbitmq:latest",
    "PYTHON_IMAGE": "provisioner-standin/python:latest",
    "POSTGRES_PORT": "25432",
    "REDIS_PORT": "26379",
    "RABBITMQ_PORT": "25672",
    "RABBITMQ_UI_PORT": "35672",
    "MOCK_INFERENCE_PORT": "28000",
}
PROVISIONER = [sys.executable, "-m", "provisioner", "-f", str(REPO / "stack.yaml")]


def run(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=ENV, cwd=REPO, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def clean(client: docker.DockerClient) -> None:
    for label in (
        f"org.provisioner.project={PROJECT}",
        f"com.docker.compose.project={COMPOSE_PROJECT}",
        "org.provisioner.bench=single",
    ):
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True, v=True)
    for prefix in (PROJECT, COMPOSE_PROJECT):
        for volume in client.volumes.list():
            if volume.name.startswith(prefix + "_"):
                volume.remove(force=True)
        for network in client.networks.list():
            if network.name.startswith(prefix + "_"):
                network.remove()


def compose_file(desired, directory: Path) -> Path:
    """The same services as a compose file (prebuilt mock image, same ports and volumes)."""
    services = {}
    for name, svc in desired.services.items():
        spec = svc.service
        entry: dict = {"image": svc.image}
        if spec.command:
            entry["command"] = spec.command
        if spec.environment:
            entry["environment"] = dict(spec.environment)
        if spec.hostname:
            entry["hostname"] = spec.hostname
        entry["ports"] = [f"{p.host_ip}:{p.published}:{p.target}" for p in spec.ports]
        volumes = [f"{m.source}:{m.target}" for m in spec.volumes if m.type == "volume"]
        if volumes:
            entry["volumes"] = volumes
        entry["stop_grace_period"] = f"{int(spec.stop_grace_period)}s"
        services[name] = entry
    document = {
        "version": "3.8",
        "services": services,
        "volumes": {name: {} for name in desired.volumes},
    }
    path = directory / "docker-compose.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def wait_healthy(client, desired, container_for) -> float:
    """Poll every service with its own probe (10 ms backoff to 250 ms); seconds until all pass."""
    start = time.perf_counter()
    done: dict[str, float] = {}

    def one(name: str) -> None:
        probe = desired.services[name].service.healthcheck
        delay = 0.01
        while time.perf_counter() - start < 300:
            container = container_for(name)
            if container is not None:
                info = client.api.inspect_container(container)
                if info["State"]["Running"]:
                    try:
                        run_probe(client, probe, info)
                        done[name] = time.perf_counter() - start
                        return
                    except ProbeFailed:
                        pass
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    threads = [threading.Thread(target=one, args=(n,)) for n in desired.services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(done) != len(desired.services):
        raise SystemExit(f"not all healthy: {done}")
    return max(done.values())


def single_service_times(client, desired) -> dict[str, float]:
    """Each service alone via `docker run`, polled every 10 ms: its own time to healthy."""
    times = {}
    for name, svc in desired.services.items():
        spec = svc.service
        volumes = {
            f"bench-single-{m.source}": {"bind": m.target, "mode": "rw"}
            for m in spec.volumes
            if m.type == "volume"
        }
        start = time.perf_counter()
        container = client.containers.run(
            svc.image,
            command=spec.command,
            environment=dict(spec.environment),
            hostname=spec.hostname,
            detach=True,
            labels={"org.provisioner.bench": "single"},
            ports={f"{p.target}/tcp": ("127.0.0.1", p.published) for p in spec.ports},
            volumes=volumes,
        )
        probe = spec.healthcheck
        while True:
            info = client.api.inspect_container(container.id)
            try:
                run_probe(client, probe, info)
                break
            except ProbeFailed:
                time.sleep(0.01)
            if time.perf_counter() - start > 300:
                raise SystemExit(f"{name} never became healthy alone")
        times[name] = time.perf_counter() - start
        container.remove(force=True, v=True)
        for volume in volumes:
            client.volumes.get(volume).remove(force=True)
    return times


def postgres_clean(client, volume: str, image: str) -> bool:
    output = client.containers.run(
        image,
        entrypoint=["pg_controldata", "/var/lib/postgresql/data"],
        remove=True,
        volumes={volume: {"bind": "/var/lib/postgresql/data", "mode": "ro"}},
        user="postgres",
    ).decode()
    return "Database cluster state:               shut down" in output


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = docker.from_env()
    os.environ.update(ENV)
    desired = resolve(load_stack([REPO / "stack.yaml"], environ=ENV), DiskContents())
    clean(client)
    # Build the mock image once so neither side pays for a build.
    run([*PROVISIONER, "apply", "mock-inference", "--skip-migrations"])
    run([*PROVISIONER, "destroy"])
    clean(client)

    workdir = Path(tempfile.mkdtemp())
    compose = ["docker-compose", "-p", COMPOSE_PROJECT, "-f", str(compose_file(desired, workdir))]

    results: dict[str, list[float]] = {
        k: []
        for k in (
            "apply_cold",
            "compose_cold",
            "single_slowest",
            "apply_noop",
            "diff_noop",
            "compose_noop",
            "destroy",
            "compose_down",
        )
    }
    clean_shutdowns = []
    for round_number in range(args.rounds):
        singles = single_service_times(client, desired)
        results["single_slowest"].append(max(singles.values()))
        print(
            f"round {round_number + 1}: single services "
            f"{ {k: round(v, 2) for k, v in singles.items()} }"
        )

        start = time.perf_counter()
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True, env=ENV)

        def compose_container(name: str) -> str | None:
            found = client.containers.list(
                all=True,
                filters={
                    "label": [
                        f"com.docker.compose.project={COMPOSE_PROJECT}",
                        f"com.docker.compose.service={name}",
                    ]
                },
            )
            return found[0].id if found else None

        wait_healthy(client, desired, compose_container)
        results["compose_cold"].append(time.perf_counter() - start)
        for _ in range(3):
            results["compose_noop"].append(run([*compose, "up", "-d"]))
        results["compose_down"].append(run([*compose, "down"]))
        clean(client)

        results["apply_cold"].append(
            run([*PROVISIONER, "apply", "--skip-seeds", "--skip-migrations"])
        )
        for _ in range(3):
            results["apply_noop"].append(
                run([*PROVISIONER, "apply", "--skip-seeds", "--skip-migrations"])
            )
            results["diff_noop"].append(run([*PROVISIONER, "diff"]))
        results["destroy"].append(run([*PROVISIONER, "destroy"]))
        clean_shutdowns.append(
            postgres_clean(client, f"{PROJECT}_postgres_data", desired.services["postgres"].image)
        )
        clean(client)

    m = {k: median(v) for k, v in results.items()}
    print("\nmedians over", args.rounds, "rounds (seconds)")
    for key, value in m.items():
        print(f"  {key:16s} {value:7.3f}   all: {[round(v, 3) for v in results[key]]}")
    print("\nratios (target)")
    ratios = [
        ("apply cold / compose cold", m["apply_cold"] / m["compose_cold"], "<= 1.0"),
        ("apply cold / slowest single", m["apply_cold"] / m["single_slowest"], "<= 1.3"),
        (
            "apply no-op / compose no-op up",
            m["apply_noop"] / m["compose_noop"],
            f"< 0.5, and < 1 s: {m['apply_noop']:.2f} s",
        ),
        (
            "diff no-op / compose no-op up",
            m["diff_noop"] / m["compose_noop"],
            f"< 0.5, and < 1 s: {m['diff_noop']:.2f} s",
        ),
        ("destroy / compose down", m["destroy"] / m["compose_down"], "<= 1.0"),
    ]
    for label, ratio, target in ratios:
        print(f"  {label:34s} {ratio:.2f}  ({target})")
    print(f"  PostgreSQL clean shutdown on destroy: {all(clean_shutdowns)} ({clean_shutdowns})")


if __name__ == "__main__":
    main()
