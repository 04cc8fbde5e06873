"""Errors the user is expected to see: one clear paragraph, no traceback.

Every failure that a user can cause or fix (bad stack.yaml, Docker down, a port
in use, a failing migration) is raised as a ProvisionerError; the CLI prints its
message and exits 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ProvisionerError(Exception):
    """Base of all expected failures; `str(err)` is the message shown to the user."""

    exit_code = 1


class SpecError(ProvisionerError):
    """stack.yaml (or an override or env file) is invalid."""


class DockerUnavailable(ProvisionerError):
    """The Docker engine cannot be reached."""


class ConflictError(ProvisionerError):
    """Something not ours stands in the way (a port, a container name)."""


class ServiceFailed(ProvisionerError):
    """A service did not start or did not become healthy."""


class MigrationError(ProvisionerError):
    """A migration or seed failed, or the migration history disagrees with the files."""


class LockedError(ProvisionerError):
    """Another provisioner run holds this project's lock."""


class Interrupted(ProvisionerError):
    """The user pressed Ctrl-C; the state left behind is one `apply` can resume."""

    exit_code = 130
