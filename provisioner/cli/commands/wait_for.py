"""`wait-for HOST PROBE_JSON`: poll one typed probe against an address.

What a Kubernetes init container runs for `depends_on: {x: {condition: healthy}}`: the
same probe code `apply` uses, against the dependency's Service. The probe's password
comes from the environment (PROBE_PASSWORD_ENV, filled from a Secret), never from
the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from provisioner.errors import ServiceFailed
from provisioner.export.probes import PROBE_PASSWORD_ENV
from provisioner.masking import mask_text


def run(args: argparse.Namespace) -> int:
    from pydantic import TypeAdapter, ValidationError

    from provisioner.engine.health import ProbeFailed, Target, probe_address
    from provisioner.stackfile.spec import HealthCheck

    try:
        fields = json.loads(args.probe)
        password = os.environ.get(PROBE_PASSWORD_ENV)
        if password is not None and fields.get("type") in ("postgres", "redis", "amqp"):
            fields["password"] = password
        probe: Any = TypeAdapter(HealthCheck).validate_python(fields)
    except (ValueError, ValidationError) as exc:
        raise ServiceFailed(f"wait-for: invalid probe {args.probe!r}: {exc}") from None
    target = Target(args.host, probe.port)
    timeout = args.timeout if args.timeout is not None else probe.timeout
    deadline = time.monotonic() + timeout
    delay, last = 0.1, ""
    started = time.monotonic()
    while True:
        try:
            probe_address(target, probe)
            print(
                f"{args.host}:{target.port} is healthy ({probe.type}) after "
                f"{time.monotonic() - started:.1f}s",
                flush=True,
            )
            return 0
        except ProbeFailed as exc:
            last = str(exc)
        except Exception as exc:  # noqa: BLE001 - any client error means "not yet"
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    print(
        f"error: {args.host}:{target.port} was not healthy ({probe.type}) within "
        f"{timeout:g}s; last: {mask_text(last)}",
        file=sys.stderr,
    )
    return 1
