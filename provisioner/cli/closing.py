"""The note that ends an apply: where things are and what to do next. Pure."""

from __future__ import annotations

import shlex
from pathlib import Path

from provisioner.core.desired import DesiredState
from provisioner.masking import mask_value

# Management UIs whose login is the service's own environment (user, password).
_UI_LOGINS = (("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS", "RabbitMQ management UI"),)


def closing_note(
    desired: DesiredState,
    env_path: Path,
    show_secrets: bool,
    cli_prefix: list[str],
) -> str:
    lines = ["", "Next:"]
    for name, service in desired.services.items():
        environment = service.service.environment
        for user_key, password_key, label in _UI_LOGINS:
            if user_key not in environment:
                continue
            ui = [u for u in service.service.urls.values() if u.startswith("http")]
            password = mask_value("password", environment.get(password_key, ""), show_secrets)
            where = "" if show_secrets else " (see --show-secrets or the URLs in .env.local)"
            lines.append(
                f"  {label}: {ui[0] if ui else f'published by {name}'}  "
                f"login {environment[user_key]} / {password}{where}"
            )
    lines.append(f"  Connection URLs for your app: {env_path} (mode 600)")
    command = shlex.join(["provisioner", *cli_prefix])
    lines.append(f"  Follow logs: {command} logs -f [SERVICE]   Status: {command} status")
    return "\n".join(lines)
