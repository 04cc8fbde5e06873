"""The stack's text before interpolation, so an export can keep `${VAR:-default}`.

Compose interpolates the same syntax as the stack loader, so a value written with a
variable in stack.yaml can be copied into a compose file as it was written. Values
without a variable are taken after interpolation, with `$` escaped for compose.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner.stackfile.loader import LoadedStack

# A reference compose would expand: `$$` is a literal dollar, not a reference.
_REFERENCE = re.compile(r"\$(?:\{[A-Za-z_]|[A-Za-z_])")
# `${VAR}` with no default: unset is an error for the stack loader, an empty string for
# compose; `:?` keeps the loader's meaning.
_BARE_BRACED = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BARE = re.compile(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)")


def raw_at(loaded: LoadedStack, *path: Any) -> Any:
    """The value at `path` in the merged, uninterpolated document, or None."""
    node = loaded.template
    for step in path:
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_dict or in_list):
            return None
        node = node[step]
    return node


def has_reference(text: Any) -> bool:
    return isinstance(text, str) and bool(_REFERENCE.search(text.replace("$$", "")))


def strict_references(text: str) -> str:
    """`${VAR}` and `$VAR` become `${VAR:?VAR is not set}`, as the stack loader treats them."""
    text = _BARE_BRACED.sub(lambda m: f"${{{m.group(1)}:?{m.group(1)} is not set}}", text)
    return _BARE.sub(lambda m: f"${{{m.group(1)}:?{m.group(1)} is not set}}", text)


def escape(value: str) -> str:
    """A literal value for a compose file: `$` doubled so compose does not expand it."""
    return value.replace("$", "$$")


def compose_text(loaded: LoadedStack, value: str, *path: Any) -> str:
    """The template written at `path` when it holds a variable, else the literal value."""
    raw = raw_at(loaded, *path)
    if has_reference(raw):
        return strict_references(str(raw))
    return escape(value)


def split_outside_braces(text: str, separator: str) -> list[str]:
    """Split on `separator` except inside `${...}` (whose defaults may contain it)."""
    parts, current, depth, i = [], [], 0, 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            current.append("${")
            i += 2
            continue
        char = text[i]
        if char == "}" and depth:
            depth -= 1
        if char == separator and not depth:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts
