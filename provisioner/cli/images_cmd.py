"""`provisioner images [save FILE | load FILE]`: what the stack needs, and bundles of it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.core.bundle_manifest import BundledImage


def add_parser(sub: argparse._SubParsersAction) -> None:
    images = sub.add_parser(
        "images", help="images the stack needs and which are present; save/load a bundle"
    )
    actions = images.add_subparsers(dest="images_command", metavar="ACTION")
    save = actions.add_parser("save", help="write every image the stack needs to one file")
    save.add_argument("file", type=Path)
    load = actions.add_parser("load", help="check a bundle's checksums, then load its images")
    load.add_argument("file", type=Path)


def cmd_images(args: argparse.Namespace) -> int:
    # Imported here: the parser above is built on the no-op fast path, which stays light.
    from provisioner.cli.render import table
    from provisioner.core.desired import resolve
    from provisioner.engine import bundle, docker_api
    from provisioner.stackfile.loader import load_stack

    action = getattr(args, "images_command", None)
    client = docker_api.connect()
    if action == "load":  # needs no stack file: the bundle says what it holds
        manifest = bundle.load_bundle(client, args.file)
        print(f"Loaded {len(manifest.images)} image(s) from {args.file} (checksums verified):")
        print(_image_rows(manifest.images))
        return 0
    loaded = load_stack(args.files, args.env_files, project_name=args.project_name)
    desired = resolve(loaded)
    if action == "save":
        manifest = bundle.save_bundle(client, desired, args.file)
        size = args.file.stat().st_size / 1e6
        print(f"Saved {len(manifest.images)} image(s) to {args.file} ({size:.0f} MB):")
        print(_image_rows(manifest.images))
        print(f"Load it on another machine with: provisioner images load {args.file}")
        return 0
    needed = bundle.needed_images(client, desired)
    rows = [
        [
            ", ".join(i.services),
            i.name,
            "build" if i.built else "pull",
            i.id[7:19] if i.id else "MISSING",
        ]
        for i in needed
    ]
    print(f"Images for project '{desired.project}':")
    print(table(rows, ["SERVICE", "IMAGE", "SOURCE", "PRESENT"]))
    missing = [i.name for i in needed if i.id is None]
    if missing:
        print(
            f"{len(missing)} missing: `apply` pulls or builds them (network needed), or "
            "`provisioner images load FILE` loads them from a bundle."
        )
    else:
        print(f"All {len(needed)} present: `apply` needs no registry for this stack.")
    return 0


def _image_rows(images: tuple[BundledImage, ...]) -> str:
    from provisioner.cli.render import table

    return table(
        [[", ".join(i.services), i.name, i.id[7:19]] for i in images],
        ["SERVICE", "IMAGE", "ID"],
    )
