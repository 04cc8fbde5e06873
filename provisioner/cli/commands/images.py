"""`provisioner images [save FILE | load FILE]`: what the stack needs, and bundles of it."""

from __future__ import annotations

import argparse

from provisioner.cli.commands.common import desired_state, load
from provisioner.cli.render import table
from provisioner.core.bundle_manifest import BundledImage
from provisioner.engine import bundle, docker_api


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "images_command", None)
    client = docker_api.connect()
    if action == "load":  # needs no stack file: the bundle says what it holds
        manifest = bundle.load_bundle(client, args.file)
        print(f"Loaded {len(manifest.images)} image(s) from {args.file} (checksums verified):")
        print(_image_rows(manifest.images))
        return 0
    desired = desired_state(load(args))
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
    return table(
        [[", ".join(i.services), i.name, i.id[7:19]] for i in images],
        ["SERVICE", "IMAGE", "ID"],
    )
