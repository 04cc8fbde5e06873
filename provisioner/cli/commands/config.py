"""`config`: the resolved stack, after variables and overrides; secrets masked."""

from __future__ import annotations

import argparse

from provisioner.cli.commands.common import load
from provisioner.masking import mask_value


def run(args: argparse.Namespace) -> int:
    import yaml

    loaded = load(args)
    data = loaded.stack.model_dump(mode="json", exclude_defaults=False)
    if not args.show_secrets:
        data = mask_value("config", data)
    print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0
