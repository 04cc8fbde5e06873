"""Make the images a stack uses available to the cluster.

Images the stack builds are built with Docker exactly as on the Docker target, then
tagged by content (`NAME:id-<12 hex of the image ID>`): the manifests name that tag, so a
rebuild with new content rolls its workload and an unchanged one changes nothing. They
reach the cluster by `--registry HOST[:PORT]` (tag under the registry, push) or by
`--load-images-with CMD` (run `CMD IMAGE...`, as `kind load docker-image` or the test
harness's load-images.sh take them). Without either, the cluster must already have them.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from provisioner.converge.engine import Reporter as Progress
from provisioner.core.desired import DesiredService
from provisioner.engine import images as docker_images
from provisioner.engine.docker_api import call
from provisioner.errors import ProvisionerError, ServiceFailed
from provisioner.labels import LABEL_CONTEXT_HASH
from provisioner.stackfile.spec import Build, Service

ID_TAG_PREFIX = "id-"


@dataclass(frozen=True)
class Publish:
    """How built images reach the cluster: at most one of the two is set."""

    registry: str | None = None
    load_with: str | None = None


def build_spec(
    name: str,
    image: str,
    context: Path,
    dockerfile: str = "Dockerfile",
    args: dict[str, str] | None = None,
) -> DesiredService:
    """A DesiredService for an image built outside the stack's services (the provisioner's)."""
    build = Build(context=str(context), dockerfile=dockerfile, args=args or {})
    service = Service.model_validate({"image": image, "build": build})
    return DesiredService(
        name=name,
        container_name="",
        image=image,
        config={},
        config_hash="",
        service=service,
        build_context=context,
    )


def ensure_built(
    client: docker.DockerClient,
    project: str,
    spec: DesiredService,
    digest: str | None,
    progress: Progress,
) -> str:
    """Build when what the build reads changed (as the Docker target does); the image ID."""
    current = _image_id_and_hash(client, spec.image)
    if current is None or current[1] != (digest or ""):
        progress.service(spec.name, f"building image {spec.image}")
        docker_images.build_image(client, project, spec, digest)
        current = _image_id_and_hash(client, spec.image)
        if current is None:
            raise ServiceFailed(f"Service '{spec.name}': the build left no image {spec.image}.")
    return current[0]


def _image_id_and_hash(client: docker.DockerClient, ref: str) -> tuple[str, str] | None:
    try:
        attrs = call(client.api.inspect_image, ref)
    except ImageNotFound:
        return None
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return attrs["Id"], labels.get(LABEL_CONTEXT_HASH, "")


def content_ref(image: str, image_id: str, registry: str | None) -> str:
    """`repo:id-<12 hex>`, under `registry/` when one is given. Pure."""
    repository = _repository(image)
    if registry:
        repository = f"{registry.rstrip('/')}/{_strip_registry(repository)}"
    return f"{repository}:{ID_TAG_PREFIX}{image_id.removeprefix('sha256:')[:12]}"


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def _strip_registry(repository: str) -> str:
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return repository


def tag(client: docker.DockerClient, source: str, ref: str) -> None:
    repository, _, tag_name = ref.rpartition(":")
    call(client.api.tag, source, repository, tag_name)


def untag(client: docker.DockerClient, ref: str) -> None:
    """Remove the name only: the image stays under its other names."""
    with contextlib.suppress(ImageNotFound, APIError):  # best effort, another error is due
        call(client.api.remove_image, ref, noprune=True)


def push(client: docker.DockerClient, ref: str, service: str) -> None:
    repository, _, tag_name = ref.rpartition(":")
    try:
        for event in call(client.api.push, repository, tag=tag_name, stream=True, decode=True):
            if "error" in event:
                raise ProvisionerError(_push_message(service, ref, event["error"]))
    except APIError as exc:
        raise ProvisionerError(_push_message(service, ref, str(exc.explanation or exc))) from None


def _push_message(service: str, ref: str, detail: str) -> str:
    return (
        f"Service '{service}': cannot push image {ref}: {detail.strip()}. Check that the "
        "registry given to --registry runs, that Docker may push to it (a plain-HTTP registry "
        "other than localhost must be in the engine's insecure-registries) and that the "
        "cluster pulls from the same address. Nothing was applied to the cluster."
    )


def normalise(ref: str) -> str:
    """The fully qualified name containerd reports for a Docker-style reference. Pure."""
    repository = _repository(ref)
    tag_name = ref[len(repository) + 1 :] if ref.startswith(repository + ":") else "latest"
    first, _, rest = repository.partition("/")
    if not rest:
        repository = f"docker.io/library/{repository}"
    elif not ("." in first or ":" in first or first == "localhost"):
        repository = f"docker.io/{repository}"
    return f"{repository}:{tag_name}"


def missing_on_nodes(wanted: Iterable[str], node_images: set[str]) -> list[str]:
    """The references no node lists (names normalised as containerd reports them). Pure."""
    return [ref for ref in wanted if normalise(ref) not in node_images]


def load(command: str, refs: list[str], progress: Progress) -> None:
    argv = shlex.split(command) + refs
    progress.note(f"loading {len(refs)} image(s) into the cluster: {shlex.join(argv)}")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ProvisionerError(
            f"--load-images-with: cannot run {argv[0]!r} ({exc.strerror}). Give a command "
            "that takes image names as arguments, such as `kind load docker-image`. Nothing "
            "was applied to the cluster."
        ) from None
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise ProvisionerError(
            f"--load-images-with: `{shlex.join(argv)}` exited with {result.returncode}. "
            f"Nothing was applied to the cluster. Its last output:\n{tail}"
        )


def current_id(client: docker.DockerClient, spec: DesiredService, digest: str | None) -> str | None:
    """The local image's ID when it was built from the current inputs; None otherwise."""
    found = _image_id_and_hash(client, spec.image)
    if found is None or found[1] != (digest or ""):
        return None
    return found[0]


def exists_locally(client: docker.DockerClient, ref: str) -> bool:
    return _image_id_and_hash(client, ref) is not None
