"""`${VAR}` interpolation as docker compose does it, and env-file parsing.

Supported: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
(unset), `${VAR:?message}`, `${VAR?message}`, and `$$` for a literal `$`.
Unlike compose, a plain `${VAR}` that is unset is an error rather than an empty
string: a silently empty password or image name is the worse surprise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.errors import SpecError
from provisioner.stackfile.yamlsource import Location, SourcedDict, SourcedList

_PATTERN = re.compile(
    r"""\$(?:
        (?P<escaped>\$) |
        (?P<bare>[A-Za-z_][A-Za-z0-9_]*) |
        \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\} |
        (?P<invalid>\{[^}]*\}?|)
    )""",
    re.VERBOSE,
)


class MissingVariable(Exception):
    def __init__(self, name: str, message: str | None) -> None:
        super().__init__(name)
        self.name = name
        self.message = message


def interpolate_string(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("bare"):
            name = match.group("bare")
            if name not in env:
                raise MissingVariable(name, None)
            return env[name]
        name = match.group("braced")
        if name is None:
            raise ValueError(f"invalid variable reference '{match.group(0)}'")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op is None:
            if value is None:
                raise MissingVariable(name, None)
            return value
        # ':' variants also treat an empty value as unset.
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return interpolate_string(arg, env) if unset else value  # type: ignore[return-value]
        if unset:
            raise MissingVariable(name, arg or None)
        return value  # type: ignore[return-value]

    return _PATTERN.sub(replace, text)


def interpolate(document: Any, env: Mapping[str, str], location: Location | None = None) -> Any:
    """Interpolate every string value (not keys) in a loaded document, keeping locations."""
    if isinstance(document, SourcedDict):
        result = SourcedDict()
        result.location, result.locations = document.location, dict(document.locations)
        for key, value in document.items():
            result[key] = interpolate(value, env, document.locations.get(key, location))
        return result
    if isinstance(document, SourcedList):
        result_list = SourcedList(
            interpolate(item, env, document.locations[i] or location)
            for i, item in enumerate(document)
        )
        result_list.location, result_list.locations = document.location, list(document.locations)
        return result_list
    if isinstance(document, str):
        try:
            return interpolate_string(document, env)
        except MissingVariable as exc:
            where = f"{location}: " if location else ""
            detail = f": {exc.message}" if exc.message else ""
            raise SpecError(
                f"{where}variable '{exc.name}' is not set{detail}. Set it in the environment "
                f"or an env file, or give a default with ${{{exc.name}:-default}}."
            ) from None
        except ValueError as exc:
            where = f"{location}: " if location else ""
            raise SpecError(f"{where}{exc}; write '$$' for a literal '$'.") from None
    return document


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments; optional quotes; 'export ' prefix allowed."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read env file ({exc.strerror}).") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise SpecError(f"{path}, line {number}: expected KEY=VALUE, got '{line.strip()}'.")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values
