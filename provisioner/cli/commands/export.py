"""`export compose|kubernetes`: write the generated views of the stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioner.cli.commands.common import load
from provisioner.errors import SpecError
from provisioner.masking import mask_text
from provisioner.stackfile.loader import LoadedStack


def run(args: argparse.Namespace) -> int:
    loaded = load(args)
    if args.export_target == "compose":
        return export_compose(loaded, args.output)
    return export_kubernetes(loaded, args)


def export_compose(loaded: LoadedStack, output: Path | None) -> int:
    from provisioner.export.compose import render

    text = render(loaded, loaded.files[0].name)
    if output is None:
        sys.stdout.write(text)
        return 0
    if output.resolve().parent != loaded.project_dir:
        print(
            f"note: build contexts and bind mounts are relative to {loaded.project_dir}; "
            f"run compose with --project-directory {loaded.project_dir}",
            file=sys.stderr,
        )
    _write(output, text)
    print(f"Wrote {output}", file=sys.stderr)
    return 0


def export_kubernetes(loaded: LoadedStack, args: argparse.Namespace) -> int:
    from provisioner.export.common import JOB_NAME
    from provisioner.export.kubernetes import (
        export_notes,
        manifests,
        port_forward_notes,
        render_files,
    )

    known = [*loaded.stack.services, JOB_NAME]
    overrides = {}
    for item in args.image or []:
        service, sep, image = item.partition("=")
        if not sep or service not in known or not image:
            raise SpecError(
                f"--image {item!r}: expected SERVICE=IMAGE with one of {', '.join(known)} "
                f"({JOB_NAME} is the provisioner image of the Job and the init containers)."
            )
        overrides[service] = image
    objects = manifests(loaded, namespace=args.namespace, image_overrides=overrides)
    directory: Path = args.output
    directory.mkdir(parents=True, exist_ok=True)
    files = render_files(objects, namespace=args.namespace)
    stale = {p.name for p in directory.glob("*.yaml")} - set(files)
    for name, text in files.items():
        _write(directory / name, text)
    print(f"Wrote {len(files)} files to {directory}", file=sys.stderr)
    if stale:
        print(
            f"note: not written by this export, left as they are: {', '.join(sorted(stale))}",
            file=sys.stderr,
        )
    for note in export_notes(loaded):
        print(f"note: {note}", file=sys.stderr)
    notes = port_forward_notes(loaded, namespace=args.namespace)
    print(notes if args.show_secrets else mask_text(notes))
    return 0


def _write(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.write_text(text, encoding="utf-8")
