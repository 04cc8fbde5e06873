"""The no-op fast path: answer `apply`/`diff` on a converged stack without the heavy imports.

Importing the Docker SDK, pydantic and psycopg costs more than a converged stack
needs checking. So after every successful full `apply` we record what it left
behind: a digest of every input (stack files, env files, the variables they
use, build contexts, bind-mounted files, migration and seed folders) and, per
service, the container id, config hash, image id and start time. A later
`apply` or `diff` whose inputs have the same digest asks Docker (stdlib HTTP on
the local socket) whether exactly those containers still run, unrestarted, on
those images, with those networks and volumes. Only then does it print the
recorded no-op answer. Anything else, or any doubt, falls through to the full
path, which is always right; deleting the cache only costs speed.

A container that restarted (crash, engine restart) has a new start time, so it
is probed again by the full path. The record lives under ~/.cache/provisioner.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from provisioner import __version__
from provisioner.digest import path_digest
from provisioner.labels import LABEL_HASH, LABEL_PROJECT, LABEL_SERVICE

CACHE_FORMAT = 1
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _stack_files(args: Any) -> list[Path]:
    return [Path(f) for f in args.files] or [Path("stack.yaml")]


def _env_files(args: Any, project_dir: Path) -> list[Path]:
    if args.env_files:
        return [Path(f) for f in args.env_files]
    default = project_dir / ".env"
    return [default] if default.is_file() else []


def input_digest(args: Any) -> tuple[Path, str]:
    """Digest of everything the loader reads; raises OSError when a file is missing."""
    files = _stack_files(args)
    project_dir = files[0].resolve().parent
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{__version__}:{args.project_name}".encode())
    texts = []
    for path in [*files, *_env_files(args, project_dir)]:
        data = path.read_bytes()
        digest.update(str(path.resolve()).encode() + b"\0" + data)
        texts.append(data.decode("utf-8", errors="replace"))
    for name in sorted({n for t in texts for n in _VARIABLE.findall(t)}):
        digest.update(f"{name}={os.environ.get(name)!r}\n".encode())
    return project_dir, digest.hexdigest()


def cache_file(args: Any) -> Path:
    files = [str(p.resolve()) for p in _stack_files(args)]
    key = hashlib.sha256("\n".join(files).encode()).hexdigest()[:20]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "provisioner" / f"{key}.json"


def forget(args: Any) -> None:
    with contextlib.suppress(OSError):
        cache_file(args).unlink()


def try_fast(args: Any) -> int | None:
    """The recorded answer when nothing changed, else None (run the full command).

    With --debug (or PROVISIONER_DEBUG=1) it says on stderr why it fell through.
    """
    try:
        outcome = _check(args)
    except Exception as exc:  # noqa: BLE001 - any doubt means "take the full path"
        outcome = f"{type(exc).__name__}: {exc}"
    if isinstance(outcome, str):
        if getattr(args, "debug", False):
            print(f"debug: fast path not taken: {outcome}", file=sys.stderr)
        return None
    if getattr(args, "debug", False):
        print("debug: answered by the fast path from the last apply's record", file=sys.stderr)
    return outcome


def _check(args: Any) -> int | str:
    """The exit status of the recorded answer, or why it cannot be given."""
    if args.show_secrets:
        return "--show-secrets is never answered from the record"
    if getattr(args, "services", None):
        return "a limited run (services named)"
    if getattr(args, "destroy", False):
        return "diff --destroy is planned in full"
    path = cache_file(args)
    if not path.is_file():
        return f"no record of a converged apply ({path})"
    record = json.loads(path.read_text())
    if record.get("format") != CACHE_FORMAT:
        return "the record is of another format"
    _, digest = input_digest(args)
    if record["input"] != digest:
        return "a stack file, env file or variable changed"
    for dependency, expected in record["dependencies"].items():
        if path_digest(Path(dependency)) != expected:
            return f"{dependency} changed"
    if args.command == "apply":
        if not (record["migrated"] or args.skip_migrations):
            return "the recorded apply skipped migrations"
        if not (record["seeded"] or args.skip_seeds):
            return "the recorded apply skipped seeds"
        env_local = Path(record["env_local"])
        if path_digest(env_local) != record["env_local_digest"]:
            return f"{env_local} changed"
    from provisioner.cli.lock import unless_busy

    with unless_busy(record["project"]) as free:
        # Another run holds the project (e.g. a destroy in progress): take the full path,
        # which waits for it, instead of answering from a state that is being changed.
        if not free:
            return "another run holds the project lock"
        mismatch = _docker_mismatch(record)
        if mismatch:
            return mismatch
    for warning in record["warnings"]:
        print(warning, file=sys.stderr)
    if args.command == "apply":
        print(record["apply_output"])
        return 0
    print(record["diff_json"] if args.json else record["diff_text"])
    return int(record["diff_code"])


def _docker_mismatch(record: dict[str, Any]) -> str | None:
    """How Docker differs from the record; None when it matches exactly."""
    from provisioner.engine.docker_socket import DockerLite

    docker = DockerLite.connect()
    if docker is None:
        return "the Docker socket does not answer"
    try:
        project = f"{LABEL_PROJECT}={record['project']}"
        containers = docker.get("/containers/json?all=1", label=[project])
        expected = record["services"]
        if len(containers) != len(expected):
            return f"{len(containers)} containers, {len(expected)} recorded"
        by_id = {c["Id"]: c for c in containers}
        for name, service in expected.items():
            row = by_id.get(service["id"])
            if row is None or row.get("State") != "running":
                return f"the container of '{name}' is gone or not running"
            labels = row.get("Labels") or {}
            if labels.get(LABEL_HASH) != service["hash"]:
                return f"the container of '{name}' has another config"
            if row.get("ImageID") != service["image_id"]:
                return f"the container of '{name}' runs another image"
            state = docker.get(f"/containers/{service['id']}/json")["State"]
            if (
                state.get("StartedAt") != service["started_at"]
                or not state.get("Running")
                or state.get("Restarting")
                or state.get("Paused")
            ):
                return f"the container of '{name}' restarted, or is paused"
        for ref, image_id in record["images"].items():
            image = docker.get(f"/images/{ref}/json")
            if image is None or image.get("Id") != image_id:
                return f"image {ref} changed"
        networks = {n["Name"] for n in docker.get("/networks", label=[project])}
        if not set(record["networks"]) <= networks:
            return "a network is missing"
        for volume in record["volumes"]:
            if docker.get(f"/volumes/{volume}") is None:
                return f"volume {volume} is missing"
        return None
    finally:
        docker.close()


def record_converged(
    args: Any,
    desired: Any,
    client: Any,
    *,
    apply_output: str,
    diff_text: str,
    diff_json: str,
    diff_code: int,
    warnings: list[str],
    env_local: Path,
) -> None:
    """Write the record after a successful full apply of the whole stack."""
    if getattr(args, "services", None):
        return
    try:
        _, digest = input_digest(args)
        loaded = desired.loaded
        dependencies: dict[str, str | None] = {}
        for service in desired.services.values():
            if service.build_context is not None:
                dependencies[str(service.build_context)] = path_digest(service.build_context)
            for mount in service.service.volumes:
                if mount.type == "bind":
                    path = (loaded.project_dir / Path(mount.source).expanduser()).resolve()
                    dependencies[str(path)] = path_digest(path)
        stack = loaded.stack
        if stack.migrations:
            path = (loaded.project_dir / stack.migrations.path).resolve()
            dependencies[str(path)] = path_digest(path)
        if stack.seeds:
            path = (loaded.project_dir / stack.seeds.path).resolve()
            dependencies[str(path)] = path_digest(path)
        services = {}
        label = f"{LABEL_PROJECT}={desired.project}"
        for row in client.api.containers(all=True, filters={"label": label}):
            name = row["Labels"][LABEL_SERVICE]
            inspect = client.api.inspect_container(row["Id"])
            services[name] = {
                "id": row["Id"],
                "hash": row["Labels"].get(LABEL_HASH),
                "image_id": row["ImageID"],
                "started_at": inspect["State"]["StartedAt"],
            }
        images = {
            s.image: client.api.inspect_image(s.image)["Id"] for s in desired.services.values()
        }
        record = {
            "format": CACHE_FORMAT,
            "input": digest,
            "dependencies": dependencies,
            "project": desired.project,
            "services": services,
            "images": images,
            "networks": sorted(set(desired.networks.values())),
            "volumes": sorted(desired.volumes.values()),
            "migrated": stack.migrations is None or not args.skip_migrations,
            "seeded": stack.seeds is None or not args.skip_seeds,
            "env_local": str(env_local),
            "env_local_digest": path_digest(env_local),
            "warnings": warnings,
            "apply_output": apply_output,
            "diff_text": diff_text,
            "diff_json": diff_json,
            "diff_code": diff_code,
        }
        path = cache_file(args)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        os.chmod(temporary, 0o600)
        temporary.replace(path)
    except Exception:  # noqa: BLE001 - the record is an optimisation, never a failure
        forget(args)
