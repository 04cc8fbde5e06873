"""What both exports derive from the stack the same way: secrets, the database job."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import SpecError
from provisioner.masking import is_secret_key, mask_text
from provisioner.stackfile.loader import LoadedStack
from provisioner.stackfile.spec import Stack

# The one-shot that runs migrations and seeds, and the image it runs.
JOB_NAME = "db-migrate"
PROVISIONER_IMAGE_SUFFIX = "provisioner:local"
# The bootstrap command reads seed variables from the environment under this prefix.
SEED_ENV_PREFIX = "SEED_VAR_"
# How long the job waits for the database before giving up.
DEFAULT_DB_WAIT_S = 120.0


def is_secret(key: str, value: str) -> bool:
    """The masking rules' verdict: a secret-looking key, or a value with a password in it."""
    return is_secret_key(key) or mask_text(value) != value


def format_duration(seconds: float) -> str:
    """Compose's duration syntax: '30s', '1500ms'."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True)
class DatabaseEndpoint:
    service: str
    host_port: int | None  # the port in the stack's (host-side) URL
    target: int  # the container port it reaches


def database_endpoint(loaded: LoadedStack) -> DatabaseEndpoint | None:
    """Where the job reaches the database from inside the stack: the migrations service's
    name and the container port behind the host port in `migrations.database_url`."""
    stack = loaded.stack
    if stack.migrations is None:
        return None
    name = stack.migrations.service
    service = stack.services[name]
    host_port = url_port(stack.migrations.database_url)
    for port in service.ports:
        if host_port is not None and port.published == host_port:
            return DatabaseEndpoint(name, host_port, port.target)
    probe_port = getattr(service.healthcheck, "port", None)
    return DatabaseEndpoint(name, host_port, probe_port or host_port or 5432)


def url_port(url: str) -> int | None:
    """The port of a URL's authority, without urllib (this package stays import-pure)."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    for mark in "/?#":
        rest = rest.split(mark, 1)[0]
    host = rest.rsplit("@", 1)[-1]
    port = host.rsplit(":", 1)[-1] if ":" in host.lstrip("[").split("]")[-1] else ""
    return int(port) if port.isdigit() else None


def job_name(stack: Stack) -> str:
    if JOB_NAME in stack.services:
        raise SpecError(
            f"service '{JOB_NAME}' is declared in the stack, but the export needs that name "
            "for the one-shot that runs migrations and seeds; rename the service."
        )
    return JOB_NAME


def schema_dependants(stack: Stack) -> list[str]:
    """Services that depend on the database service: they start after migrations and seeds."""
    if stack.migrations is None:
        return []
    database = stack.migrations.service
    return [name for name, s in stack.services.items() if database in s.depends_on]


def replace_url_host(url: str, host: str, port: int) -> str:
    """`url` with its host:port replaced, leaving user, password, path and query as written
    (the text may hold `${...}` references, whose defaults may contain ':' or '/')."""
    from provisioner.export.templates import split_outside_braces

    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # The authority ends at the first '/', '?' or '#' outside a reference.
    end = len(rest)
    for mark in "/?#":
        head = split_outside_braces(rest, mark)[0]
        end = min(end, len(head))
    authority, tail = rest[:end], rest[end:]
    userinfo = split_outside_braces(authority, "@")
    prefix = "@".join(userinfo[:-1]) + "@" if len(userinfo) > 1 else ""
    return f"{scheme}://{prefix}{host}:{port}{tail}"
