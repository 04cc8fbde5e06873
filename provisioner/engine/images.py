"""Images: hash a build context, build it, or pull a missing image."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import docker
from docker.errors import APIError

from provisioner.core.desired import DesiredService
from provisioner.core.pull_progress import BuildProgress, PullProgress
from provisioner.engine.docker_api import call
from provisioner.errors import ServiceFailed
from provisioner.labels import LABEL_CONTEXT_HASH, LABEL_PROJECT

# Build output that means "no network", not "your Dockerfile is wrong".
_NO_NETWORK = re.compile(
    r"Temporary failure in name resolution|Temporary failure resolving|"
    r"Failed to establish a new connection|"
    r"Network is unreachable|No route to host|Could not resolve|Name or service not known|"
    r"No matching distribution found|ConnectTimeout|Connection refused",
    re.I,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the engine colours RUN's stderr red

OFFLINE_HINT = (
    "Offline, load the stack's images from a bundle made on a connected machine "
    "(`provisioner images save FILE` there, `provisioner images load FILE` here) and "
    "keep the build context as it was when the bundle was made."
)

Report = Callable[[str], None]


def build_image(
    client: docker.DockerClient,
    project: str,
    service: DesiredService,
    digest: str | None,
    on_progress: Report | None = None,
) -> None:
    build = service.build
    assert build is not None and service.build_context is not None
    if not service.build_context.is_dir():
        raise ServiceFailed(
            f"Service '{service.name}': build context {service.build_context} does not exist."
        )
    output: list[str] = []
    steps = BuildProgress()
    try:
        stream = call(
            client.api.build,
            path=str(service.build_context),
            dockerfile=build.dockerfile,
            buildargs=build.args,
            tag=service.image,
            labels={LABEL_PROJECT: project, LABEL_CONTEXT_HASH: digest or ""},
            rm=True,
            forcerm=True,
            decode=True,
        )
        for event in stream:
            if "stream" in event:
                output.extend(event["stream"].splitlines())
            line = steps.update(event, time.monotonic())
            if line and on_progress:
                on_progress(f"building image: {line}")
            if "error" in event:
                tail = _ANSI.sub("", "\n".join(line for line in output[-15:] if line.strip()))
                hint = ""
                if _NO_NETWORK.search("\n".join(output) + event["error"]):
                    hint = (
                        "\nThe build needs the network (for its base image or the packages it "
                        "installs) and none is reachable. " + OFFLINE_HINT
                    )
                raise ServiceFailed(
                    f"Service '{service.name}': building image '{service.image}' failed: "
                    f"{event['error'].strip()}\nLast build output:\n{tail}{hint}"
                )
    except APIError as exc:
        raise ServiceFailed(
            f"Service '{service.name}': cannot build image '{service.image}': "
            f"{exc.explanation or exc}"
        ) from None


def split_reference(image: str) -> tuple[str, str]:
    """Repository and tag (or digest) for the pull API: `a/b:1`, `host:5000/a@sha256:..`."""
    if "@" in image:
        repository, _, digest = image.partition("@")
        return repository, digest
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag


def pull_image(
    client: docker.DockerClient, service: DesiredService, on_progress: Report | None = None
) -> None:
    """Pull; layers and bytes go to `on_progress` at most every 2 s. The engine writes
    an image only once all its layers are in, so a failed pull leaves nothing behind."""
    repository, tag = split_reference(service.image)
    progress = PullProgress()
    try:
        for event in call(client.api.pull, repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise ServiceFailed(_pull_message(service, event["error"]))
            line = progress.update(event, time.monotonic())
            if line and on_progress:
                on_progress(f"pulling image: {line}")
    except APIError as exc:
        raise ServiceFailed(_pull_message(service, str(exc.explanation or exc))) from None
    except (OSError, docker.errors.DockerException) as exc:
        # The stream broke off (the engine dropped the connection mid-pull).
        raise ServiceFailed(_pull_message(service, f"{type(exc).__name__}: {exc}")) from None
    if on_progress and progress.layers:
        on_progress(f"pulled image: {progress.summary()}")


_UNREACHABLE = re.compile(
    r"connection refused|no such host|i/o timeout|network is unreachable|"
    r"connection reset|EOF|TLS handshake timeout|dial tcp|server misbehaving",
    re.I,
)
_LOGIN = re.compile(r"no basic auth credentials|unauthorized|authentication required|denied", re.I)


def _pull_message(service: DesiredService, detail: str) -> str:
    detail = detail.strip().rstrip(".")
    head = f"Service '{service.name}': cannot pull image '{service.image}': {detail}."
    if _LOGIN.search(detail):
        return (
            f"{head} The registry wants a login: run `docker login REGISTRY` (credentials go to "
            "the Docker config file, $DOCKER_CONFIG/config.json or ~/.docker/config.json, "
            "which provisioner reads), or check the image name."
        )
    if _UNREACHABLE.search(detail):
        return (
            f"{head} The registry cannot be reached. With pull_policy 'missing' (the default) "
            "an image that is present locally is used without pulling; this one is not. "
            + OFFLINE_HINT
        )
    return (
        f"{head} Check the image name and your network or registry login; to use a local "
        "image instead, build or tag it under that name and set pull_policy: never."
    )
