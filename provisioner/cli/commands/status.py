"""`status`: what runs, its health (probed now), ports and URLs."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from provisioner.cli.commands.common import desired_state, load
from provisioner.cli.render import table
from provisioner.engine import docker_api
from provisioner.masking import mask_text, mask_value


def run(args: argparse.Namespace) -> int:
    from provisioner.engine.health import ProbeFailed, run_probe

    loaded = load(args)
    desired = desired_state(loaded)
    client = docker_api.connect()
    observed = docker_api.observe(client, desired)

    def row(name: str) -> dict[str, Any]:
        service = desired.services.get(name)
        containers = observed.for_service(name)
        entry: dict[str, Any] = {
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
                    run_probe(client, probe, info or {})
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
