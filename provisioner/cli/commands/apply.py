"""`apply`: converge the engine to the stack, migrate and seed, write .env.local."""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from pathlib import Path

from provisioner.cli.commands.common import desired_state, load, selected, stack_path
from provisioner.cli.commands.diff import diff_outputs
from provisioner.cli.lock import project_lock
from provisioner.cli.progress import Progress
from provisioner.cli.render import table
from provisioner.converge.apply import converge
from provisioner.core.desired import DesiredState
from provisioner.core.plan import Kind
from provisioner.engine import docker_api
from provisioner.engine.docker_engine import DockerEngine
from provisioner.errors import Interrupted
from provisioner.masking import mask_value
from provisioner.stackfile.loader import LoadedStack


@dataclass
class DatabaseReport:
    migrations: int = 0
    seeds: int = 0
    dev_api_key: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.migrations or self.seeds)


def run(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    loaded = load(args, warnings)
    desired = desired_state(loaded)
    only = selected(loaded, args.services)
    progress = Progress()
    client = docker_api.connect()
    engine = DockerEngine(client)
    cancelled = threading.Event()
    database = DatabaseReport()

    def on_healthy(service: str) -> None:
        migrations = loaded.stack.migrations
        if migrations is not None and service == migrations.service:
            migrate_and_seed(loaded, args, progress, database)

    with project_lock(desired.project, "apply", args.lock_timeout, progress):
        try:
            result = converge(engine, desired, progress, cancelled, only, on_healthy)
        except KeyboardInterrupt:
            cancelled.set()
            raise Interrupted("Interrupted. Run `apply` again to finish converging.") from None
        from provisioner.cli.envlocal import write_env_file

        env_path = loaded.project_dir / ".env.local"
        write_env_file(env_path, loaded.stack, database.dev_api_key)
        kinds = {name: o.kind for name, o in result.outcomes.items()}
        print(
            summary(
                desired,
                kinds,
                result.changed or database.changed,
                result.elapsed,
                result.removed,
                database.dev_api_key,
                args.show_secrets,
            )
        )
        if only is None:
            _record_for_fast_path(args, loaded, desired, engine, warnings, env_path)
    return 0


def _record_for_fast_path(
    args: argparse.Namespace,
    loaded: LoadedStack,
    desired: DesiredState,
    engine: DockerEngine,
    warnings: list[str],
    env_path: Path,
) -> None:
    from provisioner.cli import fastpath

    if args.show_secrets:
        return
    code, text, as_json = diff_outputs(loaded, desired, engine, None, False)
    if code != 0 and not (args.skip_migrations or args.skip_seeds):
        return  # not converged after all: keep taking the full path
    unchanged = {name: Kind.UNCHANGED for name in desired.services}
    fastpath.record_converged(
        args,
        desired,
        engine.client,
        apply_output=summary(desired, unchanged, False, 0.0, [], None, False),
        diff_text=text,
        diff_json=as_json,
        diff_code=code,
        warnings=warnings,
        env_local=env_path,
    )


def migrate_and_seed(
    loaded: LoadedStack, args: argparse.Namespace, progress: Progress, report: DatabaseReport
) -> None:
    migrations = loaded.stack.migrations
    assert migrations is not None
    name = migrations.service
    if not args.skip_migrations:
        from provisioner.database.migrations import migrate_up

        result = migrate_up(migrations.database_url, stack_path(loaded, migrations.path))
        report.migrations = len(result.applied)
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
            migrations.database_url, stack_path(loaded, seeds.path), seeds.variables
        )
        report.seeds = len(seed_report.applied)
        if seed_report.applied:
            progress.service(name, f"applied seed(s): {', '.join(seed_report.applied)}", ok=True)
        if seed_report.dev_api_key:
            report.dev_api_key = seed_report.dev_api_key


def summary(
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
        urls = " ".join(str(mask_value("url", u, show)) for u in service.service.urls.values())
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
