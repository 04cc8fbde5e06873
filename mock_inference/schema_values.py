"""Generate a JSON value that validates against a JSON Schema.

Used for tool-call arguments and `response_format: json_schema`. Covers what
function-calling schemas use in practice (pydantic and zod output included):
objects with required and optional properties, strings with enum/const/format/
length, integers and numbers with bounds and multipleOf, booleans, null, arrays
with item bounds, nested objects, $ref into $defs/definitions, anyOf/oneOf/allOf
and type lists. Values are drawn from the caller's seeded `random.Random`.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

import orjson

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
_MAX_DEPTH = 12


_HARD_DEPTH = 40
_MAX_LEN = 256  # caps on sizes a schema asks for, so a hostile schema cannot hang us
_MAX_ITEMS = 32


def generate(schema: Any, rng: random.Random) -> Any:
    root = schema if isinstance(schema, dict) else {}
    try:
        return _value(root, rng, root, 0)
    except (RecursionError, ValueError, TypeError, OverflowError, AttributeError):
        # A schema too odd to satisfy (e.g. contradictory bounds): an empty object is a
        # valid JSON answer; the client's own validation will report the mismatch.
        return {}


def generate_json(schema: Any, rng: random.Random) -> str:
    """generate(), serialised; values orjson cannot encode (ints past 64 bits) give "{}"."""
    try:
        return orjson.dumps(generate(schema, rng)).decode()
    except orjson.JSONEncodeError:
        return "{}"


def _int_kw(schema: dict[str, Any], key: str, default: int, cap: int) -> int:
    value = schema.get(key)
    if type(value) is not int:
        return default
    return max(0, min(value, cap))


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {}
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **merged} if isinstance(target, dict) else merged
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _value(schema: Any, rng: random.Random, root: dict[str, Any], depth: int) -> Any:
    if schema is True or not isinstance(schema, dict):
        return "value"
    if depth > _HARD_DEPTH:
        return None
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(part, root) if isinstance(part, dict) else {}
            for key, val in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **val}
                elif key == "required":
                    merged["required"] = list(merged.get("required", [])) + list(val)
                else:
                    merged.setdefault(key, val)
        return _value(merged, rng, root, depth + 1)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            # Prefer a non-null branch: `Optional[X]` should still produce an X.
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            rest = {k: v for k, v in schema.items() if k != key}
            branch = (non_null or options)[0]
            branch = _resolve(branch, root) if isinstance(branch, dict) else {}
            return _value({**rest, **branch}, rng, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or kind
        kind = kinds[0] if kinds else None
    if kind is None:
        if "properties" in schema:
            kind = "object"
        elif "items" in schema:
            kind = "array"
        else:
            kind = "string"
    if depth > _MAX_DEPTH and kind in ("object", "array"):
        return {} if kind == "object" else []
    if kind == "object":
        return _object(schema, rng, root, depth)
    if kind == "array":
        return _array(schema, rng, root, depth)
    if kind == "integer":
        return _integer(schema, rng)
    if kind == "number":
        return _number(schema, rng)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _object(schema: dict[str, Any], rng: random.Random, root: dict[str, Any], depth: int) -> Any:
    raw_props = schema.get("properties")
    props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
    raw_required = schema.get("required")
    required = (
        [r for r in raw_required if isinstance(r, str)] if isinstance(raw_required, list) else []
    )
    out: dict[str, Any] = {}
    # All declared properties are filled in: a fuller object exercises more client code.
    for name, sub in props.items():
        out[name] = _value(sub, rng, root, depth + 1)
    for name in required:
        if name not in out:
            extra = schema.get("additionalProperties")
            out[name] = _value(extra if isinstance(extra, dict) else {}, rng, root, depth + 1)
    min_props = _int_kw(schema, "minProperties", 0, _MAX_ITEMS)
    if schema.get("additionalProperties") is not False:
        while len(out) < min_props:
            out[f"key{len(out)}"] = rng.choice(_WORDS)
    return out


def _array(schema: dict[str, Any], rng: random.Random, root: dict[str, Any], depth: int) -> Any:
    lo = _int_kw(schema, "minItems", 1, _MAX_ITEMS)
    hi = max(lo, _int_kw(schema, "maxItems", max(lo, 3), _MAX_ITEMS))
    raw_prefix = schema.get("prefixItems")
    prefix: list[Any] = raw_prefix if isinstance(raw_prefix, list) else []
    out = [_value(sub, rng, root, depth + 1) for sub in prefix]
    count = rng.randint(lo, min(hi, lo + 3))
    items = schema.get("items", {})
    if items is False:
        return out
    while len(out) < count:
        out.append(_value(items, rng, root, depth + 1))
    if schema.get("uniqueItems"):
        unique: list[Any] = []
        for item in out:
            if item not in unique:
                unique.append(item)
        out = unique
    return out


def _bounds(schema: dict[str, Any], default_lo: float, default_hi: float) -> tuple[float, float]:
    lo, hi = default_lo, default_hi
    if isinstance(schema.get("minimum"), int | float):
        lo = schema["minimum"]
    if isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(
        schema.get("exclusiveMinimum"), bool
    ):
        lo = max(lo, schema["exclusiveMinimum"])
    if isinstance(schema.get("maximum"), int | float):
        hi = schema["maximum"]
    if isinstance(schema.get("exclusiveMaximum"), int | float) and not isinstance(
        schema.get("exclusiveMaximum"), bool
    ):
        hi = min(hi, schema["exclusiveMaximum"])
    if hi < lo:
        hi = lo
    if "minimum" in schema and "maximum" not in schema and "exclusiveMaximum" not in schema:
        hi = lo + 100
    if "maximum" in schema and "minimum" not in schema and "exclusiveMinimum" not in schema:
        lo = hi - 100
    return lo, hi


def _integer(schema: dict[str, Any], rng: random.Random) -> int:
    lo, hi = _bounds(schema, 0, 100)
    ilo, ihi = math.ceil(lo), math.floor(hi)
    if (
        isinstance(schema.get("exclusiveMinimum"), int | float)
        and ilo <= schema["exclusiveMinimum"]
    ):
        ilo = math.floor(schema["exclusiveMinimum"]) + 1
    if (
        isinstance(schema.get("exclusiveMaximum"), int | float)
        and ihi >= schema["exclusiveMaximum"]
    ):
        ihi = math.ceil(schema["exclusiveMaximum"]) - 1
    ihi = max(ilo, ihi)
    step = schema.get("multipleOf")
    if isinstance(step, int) and step > 0:
        first = math.ceil(ilo / step)
        last = max(first, math.floor(ihi / step))
        return rng.randint(first, last) * step
    return rng.randint(ilo, ihi)


def _number(schema: dict[str, Any], rng: random.Random) -> float:
    lo, hi = _bounds(schema, 0.0, 100.0)
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        first = math.ceil(lo / step)
        last = max(first, math.floor(hi / step))
        return rng.randint(first, last) * step
    value = round(rng.uniform(lo, hi), 2)
    # Rounding or an exclusive bound can push the value out: fall back to the midpoint.
    excl_lo = schema.get("exclusiveMinimum")
    excl_hi = schema.get("exclusiveMaximum")
    if value < lo or value > hi or value in (excl_lo, excl_hi):
        value = (lo + hi) / 2
    return value


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        value = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T12:00:00Z"
    elif fmt == "date":
        value = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    elif fmt == "time":
        value = f"12:{rng.randint(10, 59)}:00"
    elif fmt == "email":
        value = f"{rng.choice(_WORDS)}@example.com"
    elif fmt in ("uri", "url"):
        value = f"https://example.com/{rng.choice(_WORDS)}"
    elif fmt == "uuid":
        value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    else:
        value = rng.choice(_WORDS)
        if rng.random() < 0.5:
            value = f"{value} {rng.choice(_WORDS)}"
    min_len = _int_kw(schema, "minLength", 0, _MAX_LEN)
    max_len = schema.get("maxLength") if type(schema.get("maxLength")) is int else None
    if len(value) < min_len:
        value += "x" * (min_len - len(value))
    if max_len is not None and len(value) > max_len:
        value = value[: max(max_len, min_len)]
    return value
