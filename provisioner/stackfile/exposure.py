"""Warnings about ports reachable from other machines. Pure."""

from __future__ import annotations

from provisioner.stackfile.spec import Stack

_EVERY_INTERFACE = ("0.0.0.0", "::")


def exposure_warnings(stack: Stack) -> list[str]:
    warnings = []
    for name, service in stack.services.items():
        for port in service.ports:
            if port.host_ip in _EVERY_INTERFACE:
                warnings.append(
                    f"warning: service '{name}' publishes port {port.published or port.target} on "
                    f"every interface ({port.host_ip}); anyone on your network can reach it. "
                    "Drop the address to publish on 127.0.0.1 only."
                )
    return warnings
