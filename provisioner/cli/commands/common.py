"""What every command starts with: the stack loaded, the services selected, the engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioner.core.desired import DesiredState, resolve
from provisioner.digest import DiskContents
from provisioner.errors import SpecError
from provisioner.stackfile.graph import with_dependencies
from provisioner.stackfile.loader import LoadedStack, load_stack
from provisioner.stackfile.spec import did_you_mean


def load(args: argparse.Namespace, warnings: list[str] | None = None) -> LoadedStack:
    """Load the stack; exposure warnings are printed and, when a list is given, kept."""
    loaded = load_stack(args.files, args.env_files, project_name=args.project_name)
    if warnings is not None:
        from provisioner.stackfile.exposure import exposure_warnings

        warnings.extend(exposure_warnings(loaded.stack))
        for warning in warnings:
            print(warning, file=sys.stderr)
    return loaded


def desired_state(loaded: LoadedStack) -> DesiredState:
    return resolve(loaded, DiskContents())


def selected(loaded: LoadedStack, names: list[str]) -> set[str] | None:
    """The named services and what they depend on; None for the whole stack."""
    if not names:
        return None
    services = loaded.stack.services
    for name in names:
        if name not in services:
            raise SpecError(
                f"service '{name}' is not declared in {loaded.files[0]}"
                + did_you_mean(name, services)
                + "."
            )
    edges = {n: set(s.depends_on) for n, s in services.items()}
    return with_dependencies(edges, set(names))


def stack_path(loaded: LoadedStack, relative: str) -> Path:
    return (loaded.project_dir / relative).resolve()
