"""The commands behind the CLI. Each loads the stack, talks to Docker, prints."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from provisioner.cli.lock import project_lock
from provisioner.cli.progress import Progress
from provisioner.cli.render import plan_json, plan_text, table
from provisioner.core.desired import DesiredState, resolve
from provisioner.core.plan import Kind, plan
from provisioner.engine import docker_api
from provisioner.engine.converge import context_hashes, converge
from provisioner.errors import Interrupted, MigrationError, ProvisionerError, SpecError
from provisioner.masking import mask_text, mask_value
from provisioner.stackfile.graph import topological_order, with_dependencies
from provisioner.stackfile.loader import LoadedStack, load_stack
from provisioner.stackfile.spec import did_you_mean


def _load(args: argparse.Namespace, warnings: list[str] | None = None) -> LoadedStack:
    """Load the stack; exposure warnings are printed and, when a list is given, kept."""
    loaded = load_stack(args.files, args.env_files, project_name=args.project_name)
    if warnings is not None:
        from provisioner.stackfile.exposure import exposure_warnings

        warnings.extend(exposure_warnings(loaded.stack))
        for warning in warnings:
            print(warning, file=sys.stderr)
    return loaded


def _selected(loaded: LoadedStack, names: list[str]) -> set[str] | None:
    if not names:
        return None
    services = loaded.stack.services
    for name in names:
        if name not in services:
            raise SpecError(
                f"service '{name}' is not declared in {loaded.files[0]}"
                + did_you_mean(name, services)
                + "."
            )
    edges = {n: set(s.depends_on) for n, s in services.items()}
    return with_dependencies(edges, set(names))


def _migration_dir(loaded: LoadedStack, relative: str) -> Path:
    return (loaded.project_dir / relative).resolve()


# ---- apply ----------------------------------------------------------------------------------


def cmd_apply(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    loaded = _load(args, warnings)
    desired = resolve(loaded)
    only = _selected(loaded, args.services)
    progress = Progress()
    client = docker_api.connect()
    cancelled = threading.Event()
    migration_report: dict[str, object] = {}

    def on_healthy(service: str) -> None:
        migrations = loaded.stack.migrations
        if migrations is None or service != migrations.service:
            return
        _migrate_and_seed(loaded, args, progress, migration_report)

    with project_lock(desired.project, "apply", args.lock_timeout, progress):
        try:
            result = converge(client, desired, progress, cancelled, only, on_healthy)
        except KeyboardInterrupt:
            cancelled.set()
            raise Interrupted("Interrupted. Run `apply` again to finish converging.") from None
        from provisioner.cli.envlocal import write_env_file

        env_path = loaded.project_dir / ".env.local"
        write_env_file(env_path, loaded.stack, migration_report.get("dev_api_key"))  # type: ignore[arg-type]
        changed = (
            result.changed
            or bool(migration_report.get("migrations"))
            or bool(migration_report.get("seeds"))
        )
        kinds = {name: o.kind for name, o in result.outcomes.items()}
        print(
            _summary(
                desired,
                kinds,
                changed,
                result.elapsed,
                result.removed,
                migration_report.get("dev_api_key"),
                args.show_secrets,
            )
        )  # type: ignore[arg-type]
        if only is None:
            _record_for_fast_path(args, loaded, desired, client, warnings, env_path)
    return 0


def _record_for_fast_path(
    args, loaded: LoadedStack, desired: DesiredState, client, warnings: list[str], env_path: Path
) -> None:
    from provisioner.cli import fastpath

    if args.show_secrets:
        return
    code, text, as_json = _diff_outputs(loaded, desired, client, None, False)
    if code != 0 and not (args.skip_migrations or args.skip_seeds):
        return  # not converged after all: keep taking the full path
    unchanged = {name: Kind.UNCHANGED for name in desired.services}
    fastpath.record_converged(
        args,
        desired,
        client,
        apply_output=_summary(desired, unchanged, False, 0.0, [], None, False),
        diff_text=text,
        diff_json=as_json,
        diff_code=code,
        warnings=warnings,
        env_local=env_path,
    )


def _migrate_and_seed(
    loaded: LoadedStack, args: argparse.Namespace, progress: Progress, report: dict[str, object]
) -> None:
    migrations = loaded.stack.migrations
    assert migrations is not None
    name = migrations.service
    if not args.skip_migrations:
        from provisioner.database.migrations import migrate_up

        result = migrate_up(migrations.database_url, _migration_dir(loaded, migrations.path))
        report["migrations"] = len(result.applied)
        if result.applied:
            progress.service(
                name,
                f"applied {len(result.applied)} migration(s) in {result.elapsed_s:.2f}s",
                ok=True,
            )
    seeds = loaded.stack.seeds
    if seeds is not None and not args.skip_seeds:
        from provisioner.database.seeds import run_seeds

        seed_report = run_seeds(
            migrations.database_url, _migration_dir(loaded, seeds.path), seeds.variables
        )
        report["seeds"] = len(seed_report.applied)
        if seed_report.applied:
            progress.service(name, f"applied seed(s): {', '.join(seed_report.applied)}", ok=True)
        if seed_report.dev_api_key:
            report["dev_api_key"] = seed_report.dev_api_key


def _summary(
    desired: DesiredState,
    kinds: dict[str, Kind],
    changed: bool,
    elapsed: float,
    removed: list[str],
    dev_api_key: str | None,
    show: bool,
) -> str:
    rows = []
    for name, service in desired.services.items():
        if name not in kinds:
            continue
        urls = " ".join(mask_value("url", u, show) for u in service.service.urls.values())
        state = "healthy" if service.service.healthcheck else "running"
        rows.append([name, kinds[name].value, state, urls])
    lines = []
    if not changed:
        lines.append(
            f"No changes: project '{desired.project}' already matches the stack "
            f"({len(rows)} service(s) healthy)."
        )
    else:
        lines.append(f"Applied project '{desired.project}' in {elapsed:.1f}s.")
    if removed:
        lines.append("Removed: " + ", ".join(removed))
    lines.append(table(rows, ["SERVICE", "ACTION", "STATE", "URL"]))
    if dev_api_key:
        lines.append(
            f"\nDevelopment API key (shown once, also written to .env.local): {dev_api_key}"
        )
    return "\n".join(lines)


# ---- diff -------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    loaded = _load(args, [])
    desired = resolve(loaded)
    only = _selected(loaded, args.services)
    client = docker_api.connect()
    code, text, as_json = _diff_outputs(loaded, desired, client, only, args.show_secrets)
    print(as_json if args.json else text)
    return code


def _diff_outputs(
    loaded: LoadedStack, desired: DesiredState, client, only: set[str] | None, show: bool
) -> tuple[int, str, str]:
    observed = docker_api.observe(client, desired)
    current = plan(desired, observed, context_hashes(desired, only), only)
    pending = _pending(loaded, observed_running=_db_running(current, loaded))
    code = 2 if current.has_changes or any(pending.values()) else 0
    return code, plan_text(current, show, pending), plan_json(current, show, pending)


def _db_running(current, loaded: LoadedStack) -> bool:
    migrations = loaded.stack.migrations
    if migrations is None:
        return False
    action = current.for_service(migrations.service)
    return action is not None and action.kind is Kind.UNCHANGED


def _pending(loaded: LoadedStack, observed_running: bool) -> dict[str, list[str]]:
    """Pending migrations and seeds, when the database answers; read-only."""
    migrations = loaded.stack.migrations
    if migrations is None or not observed_running:
        return {}
    from provisioner.database.migrations import migration_status
    from provisioner.database.seeds import pending_seeds

    try:
        statuses = migration_status(
            migrations.database_url, _migration_dir(loaded, migrations.path)
        )
        result = {
            "migration": [f"{s.version:06d}_{s.name}" for s in statuses if s.state == "pending"]
        }
        if loaded.stack.seeds:
            result["seed"] = pending_seeds(
                migrations.database_url,
                _migration_dir(loaded, loaded.stack.seeds.path),
                variables=loaded.stack.seeds.variables,
            )
        return result
    except MigrationError:
        return {}


# ---- destroy --------------------------------------------------------------------------------


def cmd_destroy(args: argparse.Namespace) -> int:
    loaded = _load(args)
    desired = resolve(loaded)
    project = desired.project
    progress = Progress()
    client = docker_api.connect()
    volumes = docker_api.project_volumes(client, project) if args.volumes else []
    if volumes and not args.yes:
        _confirm_volume_deletion(project, volumes)
    with project_lock(project, "destroy", args.lock_timeout, progress):
        observed = docker_api.observe(client, desired)
        _stop_in_reverse_order(client, desired, observed.containers, progress)
        networks = docker_api.project_networks(client, project)
        docker_api.remove_networks(client, networks)
        for volume in volumes:
            docker_api.remove_volume(client, volume)
    removed = len(observed.containers)
    kept = "" if args.volumes else " Volumes were kept (use --volumes to delete them)."
    if not removed and not networks and not volumes:
        print(f"Nothing to destroy for project '{project}'.{kept}")
    else:
        deleted = f" Deleted volumes: {', '.join(volumes)}." if volumes else ""
        print(
            f"Destroyed project '{project}': {removed} container(s), "
            f"{len(networks)} network(s).{deleted}{kept}"
        )
    return 0


def _confirm_volume_deletion(project: str, volumes: list[str]) -> None:
    listing = ", ".join(volumes)
    if not sys.stdin.isatty():
        raise ProvisionerError(
            f"destroy --volumes would delete the data in {listing} of project '{project}'. "
            "Nothing was changed: there is no terminal to ask on, so pass --yes to confirm."
        )
    print(f"This deletes the volumes {listing} and all data in them.", file=sys.stderr)
    answer = input(f"Type the project name ({project}) to confirm: ").strip()
    if answer != project:
        raise ProvisionerError("Not confirmed; nothing was changed.")


def _stop_in_reverse_order(client, desired: DesiredState, containers, progress: Progress) -> None:
    """Dependents stop before what they depend on; each level stops in parallel."""
    edges = {n: set(s.depends_on) for n, s in desired.services.items()}
    order = topological_order(edges)
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth[d] for d in edges[name]), default=-1)
    levels: dict[int, list] = {}
    for container in containers:
        levels.setdefault(-depth.get(container.service, 10**6), []).append(container)

    def stop(container) -> None:
        grace = (container.config or {}).get("stop_grace_period", 10)
        progress.service(container.service, f"stopping and removing {container.name}")
        docker_api.remove_container(client, container.id, grace)

    for level in sorted(levels):
        with ThreadPoolExecutor(max_workers=len(levels[level])) as pool:
            for future in [pool.submit(stop, c) for c in levels[level]]:
                future.result()


# ---- status, logs, env, config -------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from provisioner.engine.health import ProbeFailed, run_probe

    loaded = _load(args)
    desired = resolve(loaded)
    client = docker_api.connect()
    observed = docker_api.observe(client, desired)

    def row(name: str) -> dict[str, object]:
        service = desired.services.get(name)
        containers = observed.for_service(name)
        entry: dict[str, object] = {
            "service": name,
            "state": "absent",
            "health": "-",
            "ports": [],
            "urls": {},
        }
        if service is not None:
            entry["urls"] = {
                k: mask_value("url", v, args.show_secrets) for k, v in service.service.urls.items()
            }
        if not containers:
            return entry
        container = containers[0]
        info = docker_api.inspect_container(client, container.id)
        state = (info or {}).get("State", {})
        entry["state"] = state.get("Status", container.status)
        restarts = int((info or {}).get("RestartCount") or 0)
        if restarts:  # a crash loop can look "running" between two restarts
            entry["state"] = f"{entry['state']} ({restarts} restarts)"
        entry["container"] = container.name
        entry["ports"] = [
            f"{ip}:{port}->{key}"
            for key, binds in docker_api.published_ports(info or {}).items()
            for ip, port in binds
        ]
        if service is None:
            entry["health"] = "not declared"
        elif container.config_hash != service.config_hash:
            entry["health"] = "outdated config"
        if state.get("Running") and service is not None:
            probe = service.service.healthcheck
            if probe is None:
                entry["health"] = entry["health"] if entry["health"] != "-" else "running"
            else:
                try:
                    run_probe(client, probe, info)
                    entry["health"] = "healthy" if entry["health"] == "-" else entry["health"]
                except ProbeFailed as exc:
                    # Probe output (an exec probe's, say) may hold a DSN: masked in text and JSON.
                    text = str(exc) if args.show_secrets else mask_text(str(exc))
                    entry["health"] = f"unhealthy: {text}"
        return entry

    names = list(desired.services) + sorted(
        {c.service for c in observed.containers} - set(desired.services)
    )
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        rows = list(pool.map(row, names))
    if args.json:
        print(json.dumps({"project": desired.project, "services": rows}, indent=2))
        return 0
    print(f"Project '{desired.project}'")
    print(
        table(
            [
                [
                    r["service"],
                    r["state"],
                    str(r["health"]),
                    ", ".join(r["ports"]),
                    " ".join(r["urls"].values()),
                ]
                for r in rows
            ],
            ["SERVICE", "STATE", "HEALTH", "PORTS", "URL"],
        )
    )
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    loaded = _load(args)
    desired = resolve(loaded)
    client = docker_api.connect()
    observed = docker_api.observe(client, desired)
    names = args.services or sorted({c.service for c in observed.containers})
    containers = []
    for name in names:
        found = observed.for_service(name)
        if not found:
            raise ProvisionerError(
                f"service '{name}' has no container in project '{desired.project}'"
                + did_you_mean(name, desired.services)
                + "; run `apply` first."
            )
        containers.append(found[0])
    if not containers:
        raise ProvisionerError(f"project '{desired.project}' has no containers; run `apply`.")
    prefix = len(containers) > 1
    width = max(len(c.service) for c in containers)
    lock = threading.Lock()

    def pump(container) -> None:
        stream = client.api.logs(
            container.id, stream=True, follow=args.follow, tail=args.tail, stdout=True, stderr=True
        )
        label = f"{container.service.ljust(width)} | " if prefix else ""
        pending = b""
        for chunk in stream:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            with lock:
                for line in lines:
                    sys.stdout.write(label + line.decode(errors="replace") + "\n")
                sys.stdout.flush()
        if pending:
            with lock:
                sys.stdout.write(label + pending.decode(errors="replace") + "\n")

    threads = [threading.Thread(target=pump, args=(c,), daemon=True) for c in containers]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from provisioner.cli.envlocal import write_env_file

    loaded = _load(args)
    path = args.output or loaded.project_dir / ".env.local"
    written = write_env_file(path, loaded.stack)
    print(f"{'Wrote' if written else 'Up to date:'} {path} (mode 600)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    import yaml

    loaded = _load(args)
    data = loaded.stack.model_dump(mode="json", exclude_defaults=False)
    if not args.show_secrets:
        data = mask_value("config", data)
    print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


# ---- export and the image's bootstrap ------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from provisioner.cli import export

    loaded = _load(args)
    if args.export_target == "compose":
        return export.export_compose(loaded, args.output)
    return export.export_kubernetes(loaded, args)


def cmd_wait_for(args: argparse.Namespace) -> int:
    from provisioner.cli.waitfor import run

    return run(args)


def cmd_bootstrap_db(args: argparse.Namespace) -> int:
    from provisioner.cli.bootstrap import run

    def stack_settings(args: argparse.Namespace) -> dict[str, object]:
        loaded = _load(args)
        migrations, seeds = loaded.stack.migrations, loaded.stack.seeds
        if migrations is None:
            raise SpecError(
                f"{loaded.files[0]}: no 'migrations' section is declared and DATABASE_URL "
                "is not set."
            )
        return {
            "database_url": migrations.database_url,
            "migrations": _migration_dir(loaded, migrations.path),
            "seeds": _migration_dir(loaded, seeds.path) if seeds else None,
            "variables": dict(seeds.variables) if seeds else {},
        }

    return run(args, stack_settings)


# ---- migrate ------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from provisioner.database import migrations as engine

    loaded = _load(args)
    config = loaded.stack.migrations
    if config is None:
        raise SpecError(f"{loaded.files[0]}: no 'migrations' section is declared.")
    directory = _migration_dir(loaded, config.path)
    if args.migrate_command == "new":
        up, down = engine.new_migration(directory, args.name)
        print(f"Created {up}\nCreated {down}")
        return 0
    if args.migrate_command == "status":
        rows = [
            [f"{s.version:06d}", s.name, s.state, str(s.applied_at or "")]
            for s in engine.migration_status(config.database_url, directory)
        ]
        print(table(rows, ["VERSION", "NAME", "STATE", "APPLIED AT"]))
        return 0
    progress = Progress()
    from provisioner.cli.fastpath import forget

    forget(args)  # the database changes under the recorded no-op answer
    with project_lock(loaded.stack.project, f"migrate {args.migrate_command}", 300, progress):
        if args.migrate_command == "up":
            started = time.monotonic()
            report = engine.migrate_up(
                config.database_url, directory, to=args.to, accept_changed=args.accept_changed
            )
            for migration in report.applied:
                print(f"applied {migration.version:06d}_{migration.name}")
            print(
                f"{len(report.applied)} migration(s) applied in {time.monotonic() - started:.2f}s."
            )
        else:
            reverted = engine.migrate_down(config.database_url, directory, steps=args.steps)
            for migration in reverted:
                print(f"reverted {migration.version:06d}_{migration.name}")
            print(f"{len(reverted)} migration(s) reverted.")
    return 0
