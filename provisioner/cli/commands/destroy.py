"""`destroy`: remove the project's containers and networks; volumes only when asked."""

from __future__ import annotations

import argparse
import sys
import threading

from provisioner.cli.commands.common import desired_state, load
from provisioner.cli.lock import project_lock
from provisioner.cli.progress import Progress
from provisioner.converge.destroy import destroy
from provisioner.core.teardown import plan_destroy
from provisioner.engine import docker_api
from provisioner.engine.docker_engine import DockerEngine
from provisioner.errors import Interrupted, ProvisionerError


def run(args: argparse.Namespace) -> int:
    desired = desired_state(load(args))
    project = desired.project
    progress = Progress()
    engine = DockerEngine(docker_api.connect())
    if args.volumes and not args.yes:
        volumes = sorted(engine.observe(desired).project_volumes)
        if volumes:
            _confirm_volume_deletion(project, volumes)
    cancelled = threading.Event()
    with project_lock(project, "destroy", args.lock_timeout, progress):
        teardown = plan_destroy(desired, engine.observe(desired), args.volumes)
        try:
            destroy(engine, teardown, progress, cancelled)
        except KeyboardInterrupt:
            cancelled.set()
            raise Interrupted("Interrupted. Run `destroy` again to finish.") from None
    kept = "" if args.volumes else " Volumes were kept (use --volumes to delete them)."
    if teardown.empty:
        print(f"Nothing to destroy for project '{project}'.{kept}")
    else:
        deleted = f" Deleted volumes: {', '.join(teardown.volumes)}." if teardown.volumes else ""
        print(
            f"Destroyed project '{project}': {len(teardown.removals)} container(s), "
            f"{len(teardown.networks)} network(s).{deleted}{kept}"
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
