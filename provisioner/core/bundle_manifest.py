"""The manifest of an image bundle (`provisioner images save`): what is in it, and the
checksums that prove the bundle arrived whole. Pure: no files, no Docker.

A bundle is the tar that `docker save` writes for all the stack's images, plus one
extra member, MANIFEST_NAME, appended last: the images (service, name, id, registry
digests) and the sha256 of every other member. `docker load` ignores the extra member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

FORMAT = "provisioner-image-bundle/1"
MANIFEST_NAME = "provisioner-bundle.json"


class BundleInvalid(Exception):
    """The bundle is not one we wrote, or it was damaged on the way."""


@dataclass(frozen=True)
class BundledImage:
    services: tuple[str, ...]
    name: str
    id: str
    digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    project: str
    images: tuple[BundledImage, ...]
    files: dict[str, str]  # tar member name -> sha256 hex

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "project": self.project,
                "images": [
                    {
                        "services": list(i.services),
                        "name": i.name,
                        "id": i.id,
                        "digests": list(i.digests),
                    }
                    for i in self.images
                ],
                "files": dict(sorted(self.files.items())),
            },
            indent=2,
        )


def parse_manifest(text: bytes | str) -> Manifest:
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise BundleInvalid(f"unknown bundle format {data.get('format')!r}")
        images = tuple(
            BundledImage(
                services=tuple(str(s) for s in entry["services"]),
                name=str(entry["name"]),
                id=str(entry["id"]),
                digests=tuple(str(d) for d in entry.get("digests", [])),
            )
            for entry in data["images"]
        )
        files = {str(k): str(v) for k, v in data["files"].items()}
        return Manifest(project=str(data["project"]), images=images, files=files)
    except BundleInvalid:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleInvalid(f"its manifest is unreadable ({type(exc).__name__}: {exc})") from None


def file_problems(manifest: Manifest, actual: dict[str, str]) -> list[str]:
    """Members missing, added or changed since the bundle was written."""
    problems = []
    for name, checksum in sorted(manifest.files.items()):
        if name not in actual:
            problems.append(f"{name} is missing")
        elif actual[name] != checksum:
            problems.append(f"{name} has checksum {actual[name][:12]}, expected {checksum[:12]}")
    problems.extend(
        f"{name} is not listed in the manifest"
        for name in sorted(set(actual) - set(manifest.files))
    )
    return problems
