"""YAML documents that remember where each value came from.

Mappings load as `SourcedDict` and sequences as `SourcedList`; both record the
file and line of every key or item. Merging and interpolation copy that record
along, so a validation error on the merged stack can still name the file and
line that the user has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provisioner.errors import SpecError


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}"


class SourcedDict(dict[Any, Any]):
    """A dict that records the Location of each key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locations: dict[Any, Location] = {}
        self.location: Location | None = None


class SourcedList(list[Any]):
    """A list that records the Location of each item."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.locations: list[Location | None] = [None] * len(self)
        self.location: Location | None = None


# What PyYAML's scalar constructors raise on a bad value under an explicit tag.
_CONSTRUCTOR_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def _loader_for(file_label: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            # PyYAML's scalar constructors raise plain Python errors on explicit tags
            # with bad values (`!!int abc`, `!!timestamp 2020-13-45`, `!!bool x`):
            # turn them into a YAML error that carries the node's line.
            try:
                return super().construct_object(node, deep=deep)
            except _CONSTRUCTOR_ERRORS as exc:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                raise yaml.constructor.ConstructorError(
                    None, None, f"cannot read this {tag} value ({exc})", node.start_mark
                ) from None

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> SourcedDict:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found {type(node).__name__}", node.start_mark
            )
        loader.flatten_mapping(node)
        result = SourcedDict()
        result.location = Location(file_label, node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise SpecError(
                    f"{file_label}, line {key_node.start_mark.line + 1}: "
                    "a mapping key must be a plain value, not a list or mapping."
                ) from None
            if key in result:
                raise SpecError(
                    f"{file_label}, line {key_node.start_mark.line + 1}: "
                    f"key '{key}' appears twice in the same mapping."
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.locations[key] = Location(file_label, key_node.start_mark.line + 1)
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.Node) -> SourcedList:
        if not isinstance(node, yaml.SequenceNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a sequence, but found {type(node).__name__}", node.start_mark
            )
        result = SourcedList(loader.construct_object(child, deep=True) for child in node.value)
        result.locations = [Location(file_label, child.start_mark.line + 1) for child in node.value]
        result.location = Location(file_label, node.start_mark.line + 1)
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_yaml_file(path: Path, label: str | None = None) -> Any:
    """Parse one YAML file; YAML errors become a SpecError with file and line."""
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{label}: file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{label}: cannot read the file ({exc}).") from None
    return load_yaml_text(text, label)


def load_yaml_text(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=_loader_for(label))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SpecError(f"{label}{where}: invalid YAML: {problem}.") from None
    except yaml.reader.ReaderError as exc:
        # Raised before parsing (e.g. a NUL or control character); it knows the offset.
        line = text.count("\n", 0, exc.position) + 1
        raise SpecError(
            f"{label}, line {line}: invalid YAML: the control character "
            f"#x{exc.character:04x} is not allowed."
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{label}: invalid YAML: {exc}.") from None
    except RecursionError:
        raise SpecError(f"{label}: invalid YAML: nesting is too deep.") from None


def location_of(document: Any, path: tuple[Any, ...]) -> Location | None:
    """The most precise Location known along `path` (keys and list indexes)."""
    best: Location | None = getattr(document, "location", None)
    node = document
    for step in path:
        if isinstance(node, SourcedDict) and step in node:
            best = node.locations.get(step, best)
            node = node[step]
        elif isinstance(node, SourcedList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.locations[step] or best
            node = node[step]
        else:
            break
    return best
