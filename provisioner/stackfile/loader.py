"""Load stack files: parse, interpolate, merge overrides, validate.

Every failure is a SpecError naming the file and line (where YAML gives one),
the field, and what is allowed.
"""

from __future__ import annotations

import copy
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from provisioner.errors import SpecError
from provisioner.stackfile.graph import find_cycle
from provisioner.stackfile.interpolate import interpolate, parse_env_file
from provisioner.stackfile.spec import ReferenceProblem, Stack, check_references, did_you_mean
from provisioner.stackfile.yamlsource import (
    Location,
    SourcedDict,
    SourcedList,
    load_yaml_file,
    location_of,
)

DEFAULT_FILE = "stack.yaml"
# Service keys whose list form is normalised to a mapping before merging, so an
# override can change one entry without repeating the others (as compose does).
_KEYED_LISTS = ("environment", "labels", "depends_on")
MAX_ERRORS_SHOWN = 8


@dataclass(frozen=True)
class LoadedStack:
    stack: Stack
    project_dir: Path
    files: tuple[Path, ...]
    document: Any = field(repr=False, compare=False)
    # The merged document before `${VAR}` interpolation: exports keep variable references.
    template: Any = field(default=None, repr=False, compare=False)

    def location(self, *path: Any) -> Location | None:
        return location_of(self.document, path)


def load_environment(
    env_files: Sequence[Path], project_dir: Path, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Env files first, then the process environment (`environ`, default os.environ), which
    wins (compose's order)."""
    values: dict[str, str] = {}
    files = list(env_files)
    if not files and (project_dir / ".env").is_file():
        files = [project_dir / ".env"]
    for env_file in files:
        if not env_file.is_file():
            raise SpecError(f"{env_file}: env file not found.")
        values.update(parse_env_file(env_file))
    values.update(os.environ if environ is None else environ)
    return values


def load_stack(
    files: Sequence[Path] = (),
    env_files: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
    project_name: str | None = None,
) -> LoadedStack:
    """Load and validate the stack; `environ` stands in for the process environment."""
    paths = [Path(f) for f in files] or [Path(DEFAULT_FILE)]
    project_dir = paths[0].resolve().parent
    env = load_environment(env_files, project_dir, environ)

    merged: Any = None
    template: Any = None
    for path in paths:
        document = load_yaml_file(path, label=str(path))
        if document is None:
            document = SourcedDict()
        if not isinstance(document, dict):
            where = getattr(document, "location", None) or Location(str(path), 1)
            raise SpecError(
                f"{where}: the top level must be a mapping with 'project' and 'services', "
                f"not {'a list' if isinstance(document, list) else 'a single value'}."
            )
        raw: Any = copy.deepcopy(document)
        raw = _normalise(raw)
        template = raw if template is None else merge(template, raw)
        document = _normalise(interpolate(document, env))
        merged = document if merged is None else merge(merged, document)
    if project_name:
        merged["project"] = project_name

    try:
        stack = Stack.model_validate(merged)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, merged, paths)) from None
    try:
        check_references(stack)
    except ReferenceProblem as problem:
        raise SpecError(_with_location(merged, problem.path, str(problem))) from None
    edges = {name: set(s.depends_on) for name, s in stack.services.items()}
    cycle = find_cycle(edges)
    if cycle:
        raise SpecError(
            _with_location(
                merged,
                ("services", cycle[0], "depends_on", cycle[1]),
                "dependency cycle: "
                + " -> ".join(cycle)
                + "; remove one of these depends_on entries",
            )
        )
    return LoadedStack(stack, project_dir, tuple(paths), merged, template)


# ---- merging --------------------------------------------------------------------------


def _normalise(document: SourcedDict) -> SourcedDict:
    """List forms that merge by key become mappings; a bare build context becomes a mapping."""
    services = document.get("services")
    if not isinstance(services, dict):
        return document
    for service in services.values():
        if not isinstance(service, dict):
            continue
        for key in _KEYED_LISTS:
            value = service.get(key)
            if isinstance(value, list):
                service[key] = _list_to_mapping(value, key)
        if isinstance(service.get("build"), str):
            build = SourcedDict(context=service["build"])
            build.location = getattr(service, "locations", {}).get("build")
            if build.location is not None:
                build.locations["context"] = build.location
            service["build"] = build
    return document


def _list_to_mapping(items: SourcedList | list[Any], key: str) -> SourcedDict | list[Any]:
    result = SourcedDict()
    result.location = getattr(items, "location", None)
    locations = getattr(items, "locations", [None] * len(items))
    for item, location in zip(items, locations, strict=True):
        if not isinstance(item, str):
            return items  # leave it for validation to report
        if key == "depends_on":
            name, value = item, None
        elif "=" in item:
            name, _, value = item.partition("=")
        else:
            return items
        result[name] = value
        result.locations[name] = location
    return result


def merge(base: Any, override: Any, path: tuple[str, ...] = ()) -> Any:
    """Compose-style override merge: mappings merge, most lists replace, some concatenate."""
    if isinstance(base, dict) and isinstance(override, dict) and not _replaced_whole(path):
        result = SourcedDict(base)
        result.location = getattr(base, "location", None)
        result.locations = dict(getattr(base, "locations", {}))
        for key, value in override.items():
            result[key] = merge(base[key], value, (*path, str(key))) if key in base else value
            if key in getattr(override, "locations", {}):
                result.locations[key] = getattr(override, "locations", {})[key]
        return result
    if isinstance(base, list) and isinstance(override, list) and len(path) == 3:
        if path[2] == "ports":
            added = [(item, at) for item, at in _located(override) if item not in base]
            return _sourced_list(_located(base) + added)
        if path[2] == "volumes":
            targets = {_mount_target(v) for v in override}
            kept = [(item, at) for item, at in _located(base) if _mount_target(item) not in targets]
            return _sourced_list(kept + _located(override))
    return override


def _replaced_whole(path: tuple[str, ...]) -> bool:
    # A health check is one typed probe: fields of two probe types must not mix.
    return len(path) == 3 and path[0] == "services" and path[2] == "healthcheck"


def _located(items: list[Any]) -> list[tuple[Any, Location | None]]:
    """(item, location) pairs, so filtering a list keeps each item's own file and line."""
    return list(zip(items, getattr(items, "locations", [None] * len(items)), strict=True))


def _sourced_list(pairs: list[tuple[Any, Location | None]]) -> SourcedList:
    result = SourcedList(item for item, _ in pairs)
    result.locations = [location for _, location in pairs]
    return result


def _mount_target(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.split(":")
        return parts[1] if len(parts) > 1 else value
    if isinstance(value, dict):
        return value.get("target")
    return None


# ---- error messages -------------------------------------------------------------------


def _with_location(document: Any, path: tuple[Any, ...], message: str) -> str:
    location = location_of(document, path)
    return f"{location}: {message}." if location else f"{message}."


def format_validation_error(exc: ValidationError, document: Any, files: Sequence[Path]) -> str:
    errors = exc.errors(include_url=False)
    lines = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        model_path, doc_path, allowed = _walk(error["loc"])
        location = location_of(document, tuple(doc_path)) or Location(str(files[0]), 1)
        lines.append(f"{location}: {_dotted(doc_path)}: {_describe(error, allowed, doc_path)}")
    more = len(errors) - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"... and {more} more problem(s).")
    head = "Invalid stack definition" if len(lines) > 1 else "Invalid stack definition:"
    if len(lines) == 1:
        return f"{head} {lines[0]}"
    return head + ":\n  - " + "\n  - ".join(lines)


def _dotted(path: Sequence[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "(top level)"


def _describe(error: Mapping[str, Any], allowed: list[str] | None, path: Sequence[Any]) -> str:
    kind, message = str(error["type"]), str(error["msg"])
    key = path[-1] if path else ""
    if kind == "extra_forbidden":
        hint = did_you_mean(str(key), allowed or [])
        listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}{listing}"
    if kind == "missing":
        return f"required key '{key}' is missing"
    if kind == "union_tag_not_found":
        return "the health check needs a 'type': one of tcp, http, postgres, redis, amqp, exec"
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return (
            f"unknown health check type '{tag}'; use one of tcp, http, postgres, redis, amqp, exec"
        )
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    given = error.get("input")
    if kind not in ("value_error", "assertion_error") and isinstance(given, str | int | float):
        message += f" (got {given!r})"
    return message


def _walk(loc: Sequence[Any]) -> tuple[list[Any], list[Any], list[str] | None]:
    """Follow pydantic's error location through the Stack model.

    Returns the model path, the document path (without union tags, which are
    not keys in the file) and the field names allowed at the last step.
    """
    current: Any = Stack
    doc_path: list[Any] = []
    parent_fields: list[str] | None = None
    for step in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent_fields = list(current.model_fields)
            doc_path.append(step)
            info = current.model_fields.get(step) if isinstance(step, str) else None
            current = info.annotation if info else None
        elif isinstance(current, list) and all(_is_model(m) for m in current):
            # A discriminated union: pydantic puts the tag in the location.
            current = next((m for m in current if _tag(m) == step), None)
        elif typing.get_origin(current) is list:
            doc_path.append(step)
            current = typing.get_args(current)[0]
            parent_fields = None
        elif typing.get_origin(current) is dict:
            doc_path.append(step)
            current = typing.get_args(current)[1]
            parent_fields = None
        else:
            doc_path.append(step)
            current = None
    return list(loc), doc_path, parent_fields


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
            else:
                return [_unwrap(m) for m in members]
        else:
            return annotation


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _tag(model: type[BaseModel]) -> Any:
    info = model.model_fields.get("type")
    args = typing.get_args(info.annotation) if info else ()
    return args[0] if args else None
