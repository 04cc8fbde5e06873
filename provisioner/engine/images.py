"""Images: hash a build context, build it, or pull a missing image."""

from __future__ import annotations

import docker
from docker.errors import APIError

from provisioner.core.desired import DesiredService
from provisioner.engine.docker_api import call
from provisioner.errors import ServiceFailed
from provisioner.labels import LABEL_CONTEXT_HASH, LABEL_PROJECT


def build_image(
    client: docker.DockerClient, project: str, service: DesiredService, digest: str | None
) -> None:
    build = service.build
    assert build is not None and service.build_context is not None
    if not service.build_context.is_dir():
        raise ServiceFailed(
            f"Service '{service.name}': build context {service.build_context} does not exist."
        )
    output: list[str] = []
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
            if "error" in event:
                tail = "\n".join(line for line in output[-15:] if line.strip())
                raise ServiceFailed(
                    f"Service '{service.name}': building image '{service.image}' failed: "
                    f"{event['error'].strip()}\nLast build output:\n{tail}"
                )
    except APIError as exc:
        raise ServiceFailed(
            f"Service '{service.name}': cannot build image '{service.image}': "
            f"{exc.explanation or exc}"
        ) from None


def pull_image(client: docker.DockerClient, service: DesiredService) -> None:
    repository, _, tag = service.image.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = service.image, "latest"
    try:
        for event in call(client.api.pull, repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise ServiceFailed(_pull_message(service, event["error"]))
    except APIError as exc:
        raise ServiceFailed(_pull_message(service, str(exc.explanation or exc))) from None


def _pull_message(service: DesiredService, detail: str) -> str:
    return (
        f"Service '{service.name}': cannot pull image '{service.image}': {detail.strip()}. "
        "Check the image name and your network or registry login; to use a local image "
        "instead, build or tag it under that name and set pull_policy: never."
    )
