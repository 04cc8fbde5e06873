"""`destroy`: carry out a DestroyPlan with the same runner as apply."""

from __future__ import annotations

import threading
from collections.abc import Callable

from provisioner.converge.engine import Engine, Reporter
from provisioner.converge.runner import Step, raise_first, run_steps
from provisioner.core.teardown import DestroyPlan


def destroy(
    engine: Engine, teardown: DestroyPlan, progress: Reporter, cancelled: threading.Event
) -> None:
    by_name = {r.container.name: r for r in teardown.removals}

    def one(name: str, mark_started: Callable[[], None]) -> None:
        container = by_name[name].container
        grace = float((container.config or {}).get("stop_grace_period", 10))
        progress.service(container.service, f"stopping and removing {name}")
        engine.remove_container(container.id, grace)

    steps = [Step(name, {other: "done" for other in r.after}) for name, r in by_name.items()]
    errors = run_steps(steps, one, cancelled, command="destroy")
    raise_first(errors, cancelled, command="destroy")
    for network in teardown.networks:
        engine.remove_network(network)
    for volume in teardown.volumes:
        progress.note(f"deleting volume {volume}")
        engine.remove_volume(volume)
