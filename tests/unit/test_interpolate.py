"""`${VAR}` interpolation and env-file parsing."""

from __future__ import annotations

import pytest

from provisioner.errors import SpecError
from provisioner.stackfile.interpolate import (
    MissingVariable,
    interpolate,
    interpolate_string,
    parse_env_file,
)
from provisioner.stackfile.yamlsource import Location, load_yaml_text

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}", "value"),
        ("$SET", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("${SET:-d}", "value"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${UNSET:-}", ""),
        ("${UNSET:-a b:c}", "a b:c"),
        ("${UNSET:-$SET}", "value"),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("$$", "$"),
        ("$${SET}", "${SET}"),
        ("cost: $$5", "cost: $5"),
        ("no variables", "no variables"),
    ],
)
def test_forms(text, expected):
    assert interpolate_string(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("${UNSET}", "UNSET", None),
        ("$UNSET", "UNSET", None),
        ("${UNSET:?set it please}", "UNSET", "set it please"),
        ("${EMPTY:?not empty}", "EMPTY", "not empty"),
        ("${UNSET?}", "UNSET", None),
    ],
)
def test_missing(text, name, message):
    with pytest.raises(MissingVariable) as info:
        interpolate_string(text, ENV)
    assert (info.value.name, info.value.message) == (name, message)


@pytest.mark.parametrize("text", ["${", "${SET", "${1abc}", "${}", "price $5", "$"])
def test_invalid_references(text):
    with pytest.raises(ValueError, match="invalid variable reference"):
        interpolate_string(text, ENV)


def test_interpolate_document_keeps_locations_and_keys():
    document = load_yaml_text("a:\n  ${KEY}: ${SET}\n  list:\n    - x${SET}\n", "f.yaml")
    result = interpolate(document, ENV)
    assert result == {"a": {"${KEY}": "value", "list": ["xvalue"]}}
    assert result["a"].locations["list"] == Location("f.yaml", 3)
    assert result["a"]["list"].locations == [Location("f.yaml", 4)]


def test_interpolate_leaves_non_strings_alone():
    document = load_yaml_text("a: 1\nb: true\nc: null\nd: 1.5\n", "f.yaml")
    assert interpolate(document, {}) == {"a": 1, "b": True, "c": None, "d": 1.5}


def test_missing_variable_error_names_location():
    document = load_yaml_text("a:\n  b: ${NOPE:?needed for b}\n", "f.yaml")
    with pytest.raises(SpecError) as info:
        interpolate(document, {})
    message = str(info.value)
    assert message.startswith("f.yaml, line 2: variable 'NOPE' is not set: needed for b.")


def test_invalid_reference_error_names_location():
    document = load_yaml_text("a:\n  - ok\n  - ${BROKEN\n", "f.yaml")
    with pytest.raises(SpecError, match=r"^f\.yaml, line 3: invalid variable reference"):
        interpolate(document, {})


def test_parse_env_file(tmp_path):
    path = tmp_path / "x.env"
    path.write_text(
        "# comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=1\n"
        "  SPACED = padded  \n"
        'DOUBLE="quoted # not a comment"\n'
        "SINGLE='single'\n"
        "COMMENTED=value # trailing comment\n"
        "EQUALS=a=b\n"
        "EMPTY=\n"
        "URL=postgres://u:p@h:5432/db?sslmode=disable\n",
        encoding="utf-8",
    )
    assert parse_env_file(path) == {
        "PLAIN": "value",
        "EXPORTED": "1",
        "SPACED": "padded",
        "DOUBLE": "quoted # not a comment",
        "SINGLE": "single",
        "COMMENTED": "value",
        "EQUALS": "a=b",
        "EMPTY": "",
        "URL": "postgres://u:p@h:5432/db?sslmode=disable",
    }


def test_parse_env_file_rejects_garbage_with_line(tmp_path):
    path = tmp_path / "x.env"
    path.write_text("A=1\n\nnot an assignment\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"x\.env, line 3: expected KEY=VALUE"):
        parse_env_file(path)


def test_parse_env_file_missing(tmp_path):
    with pytest.raises(SpecError, match="cannot read env file"):
        parse_env_file(tmp_path / "absent.env")
