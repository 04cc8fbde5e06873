"""`logs`: one service's log, or all of them interleaved with a prefix."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from provisioner.cli.commands.common import desired_state, load
from provisioner.engine import docker_api
from provisioner.errors import ProvisionerError
from provisioner.stackfile.spec import did_you_mean


def run(args: argparse.Namespace) -> int:
    loaded = load(args)
    desired = desired_state(loaded)
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

    def pump(container: Any) -> None:
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
