"""Image bundles: every image a stack needs in one file, for machines without a registry.

`save` asks the engine for one `docker save` archive of all the images, then appends a
manifest with the sha256 of every member. `load` checks every checksum before the
engine sees a byte, so a damaged bundle loads nothing; then it loads and checks that
each image arrived under its name with the id the manifest promises.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError

from provisioner.core.bundle_manifest import (
    MANIFEST_NAME,
    BundledImage,
    BundleInvalid,
    Manifest,
    file_problems,
    parse_manifest,
)
from provisioner.core.desired import DesiredState
from provisioner.engine.docker_api import call
from provisioner.errors import ProvisionerError

CHUNK = 1 << 20


@dataclass(frozen=True)
class NeededImage:
    """One image of the stack, which services use it, and whether the engine has it."""

    name: str
    services: tuple[str, ...]
    built: bool  # built from a context (the mock), not pulled
    id: str | None
    digests: tuple[str, ...] = ()


def needed_images(client: docker.DockerClient, desired: DesiredState) -> list[NeededImage]:
    by_name: dict[str, list[str]] = {}
    built: set[str] = set()
    for name, service in desired.services.items():
        by_name.setdefault(service.image, []).append(name)
        if service.build is not None:
            built.add(service.image)
    result = []
    for image, services in by_name.items():
        try:
            info = call(client.api.inspect_image, image)
            image_id, digests = info["Id"], tuple(info.get("RepoDigests") or ())
        except docker.errors.ImageNotFound:
            image_id, digests = None, ()
        result.append(NeededImage(image, tuple(services), image in built, image_id, digests))
    return result


def save_bundle(
    client: docker.DockerClient,
    desired: DesiredState,
    path: Path,
    note: Callable[[str], None] = lambda text: None,
) -> Manifest:
    images = needed_images(client, desired)
    missing = [i for i in images if i.id is None]
    if missing:
        names = ", ".join(f"'{i.name}' ({', '.join(i.services)})" for i in missing)
        raise ProvisionerError(
            f"Cannot write the bundle: these images are not present in the engine: {names}. "
            "Run `provisioner apply` first (it pulls and builds them); nothing was written."
        )
    partial = path.with_name(path.name + ".partial")
    try:
        note(f"saving {len(images)} image(s) to {path}")
        response = client.api._get(
            client.api._url("/images/get"), params={"names": [i.name for i in images]}, stream=True
        )
        client.api._raise_for_status(response)
        with open(partial, "wb") as handle:
            for chunk in response.iter_content(CHUNK):
                handle.write(chunk)
        files = _member_checksums(partial)
        manifest = Manifest(
            project=desired.project,
            images=tuple(BundledImage(i.services, i.name, i.id or "", i.digests) for i in images),
            files=files,
        )
        data = manifest.to_json().encode()
        with tarfile.open(partial, "a") as archive:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, path)
    except APIError as exc:
        raise ProvisionerError(f"The engine could not save the images: {exc.explanation}") from None
    except OSError as exc:
        raise ProvisionerError(f"Cannot write the bundle {path}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _member_checksums(path: Path) -> dict[str, str]:
    """sha256 of every regular member, read in one streaming pass."""
    sums: dict[str, str] = {}
    with tarfile.open(path, "r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            digest = hashlib.sha256()
            while block := handle.read(CHUNK):
                digest.update(block)
            sums[member.name] = digest.hexdigest()
    return sums


def verify_bundle(path: Path) -> Manifest:
    """The bundle's manifest, once every member's checksum matches it; else ProvisionerError."""
    if not path.is_file():
        raise ProvisionerError(f"Bundle {path} does not exist; nothing was loaded.")
    try:
        sums = _member_checksums(path)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _invalid(path, f"it is not a complete tar archive ({exc})") from None
    if MANIFEST_NAME not in sums:
        raise _invalid(
            path,
            f"it has no {MANIFEST_NAME} (not written by `provisioner images save`, or cut short)",
        )
    with tarfile.open(path, "r") as archive:
        handle = archive.extractfile(MANIFEST_NAME)
        assert handle is not None
        text = handle.read()
    try:
        manifest = parse_manifest(text)
    except BundleInvalid as exc:
        raise _invalid(path, str(exc)) from None
    del sums[MANIFEST_NAME]
    problems = file_problems(manifest, sums)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise _invalid(path, f"its contents do not match its checksums: {shown}")
    return manifest


def _invalid(path: Path, why: str) -> ProvisionerError:
    return ProvisionerError(
        f"Bundle {path} is damaged or incomplete: {why}. Nothing was loaded; copy the bundle "
        "again or write a new one with `provisioner images save FILE`."
    )


def load_bundle(client: docker.DockerClient, path: Path) -> Manifest:
    manifest = verify_bundle(path)
    try:
        with open(path, "rb") as handle:
            for event in call(client.api.load_image, handle):
                if "error" in event:
                    raise ProvisionerError(f"The engine refused bundle {path}: {event['error']}")
    except APIError as exc:
        raise ProvisionerError(f"The engine refused bundle {path}: {exc.explanation}") from None
    wrong = []
    for image in manifest.images:
        try:
            found = call(client.api.inspect_image, image.name)["Id"]
        except docker.errors.ImageNotFound:
            found = None
        if found != image.id:
            wrong.append(f"'{image.name}' is {found or 'missing'}, expected {image.id}")
    if wrong:
        raise ProvisionerError(f"Bundle {path} loaded, but: {'; '.join(wrong)}.")
    return manifest
