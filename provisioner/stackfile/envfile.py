"""Read `.env` files the way docker compose v1 did: with python-dotenv.

python-dotenv handles quoting (`A="x" # note` is `x`), escapes in double quotes
(`\\n`, `\\"`), `export ` prefixes and multi-line quoted values. Where it would only log
a warning for a line it cannot parse, we refuse the file and name the line.

Values may use `${VAR}` and `${VAR:-default}`, expanded as compose v1 did
(`dotenv_values(interpolate=True)`): from variables set earlier in the same file, then
from the process environment. A name that is set nowhere expands to an empty string,
as in compose; `$VAR` without braces is kept as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream
from dotenv.variables import parse_variables

from provisioner.errors import SpecError


def read_env_file(
    path: Path, environ: Mapping[str, str] | None = None, *, expand: bool = True
) -> dict[str, str]:
    """The file's KEY=VALUE pairs; `environ` is what `${VAR}` falls back to (none if None).

    A bare `KEY` line (no `=`) sets nothing here: compose reads it as "take KEY from the
    process environment", which wins over env files anyway.
    """
    try:
        # utf-8-sig: a byte-order mark written by some editors is not part of the first key.
        with path.open(encoding="utf-8-sig") as stream:
            bindings = list(parse_stream(stream))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read env file ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: env file is not UTF-8 ({exc.reason}).") from None
    values: dict[str, str] = {}
    for binding in bindings:
        if binding.error:
            # dotenv's statement starts with the blank lines before it: skip them.
            raw = binding.original.string
            line = binding.original.line + raw[: len(raw) - len(raw.lstrip())].count("\n")
            raise SpecError(f"{path}, line {line}: expected KEY=VALUE, got '{raw.strip()}'.")
        if binding.key is None or binding.value is None:
            continue
        value = binding.value
        if expand:
            lookup = {**(environ or {}), **values}  # earlier lines win, as dotenv's override
            value = "".join(atom.resolve(lookup) for atom in parse_variables(value))
        values[binding.key] = value
    return values
