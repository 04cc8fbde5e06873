"""`env`: write .env.local with the stack's connection URLs."""

from __future__ import annotations

import argparse

from provisioner.cli.commands.common import load


def run(args: argparse.Namespace) -> int:
    from provisioner.cli.envlocal import write_env_file

    loaded = load(args)
    path = args.output or loaded.project_dir / ".env.local"
    written = write_env_file(path, loaded.stack)
    print(f"{'Wrote' if written else 'Up to date:'} {path} (mode 600)")
    return 0
