"""Env files, read with python-dotenv as compose v1 did."""

from __future__ import annotations

import pytest

from provisioner.errors import SpecError
from provisioner.stackfile.envfile import read_env_file


def test_read_env_file(tmp_path):
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
    assert read_env_file(path) == {
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


def test_read_env_file_rejects_garbage_with_line(tmp_path):
    path = tmp_path / "x.env"
    path.write_text("A=1\n\nnot an assignment\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"x\.env, line 3: expected KEY=VALUE"):
        read_env_file(path)


def test_read_env_file_missing(tmp_path):
    with pytest.raises(SpecError, match="cannot read env file"):
        read_env_file(tmp_path / "absent.env")


def test_read_env_file_expands_braced_variables_as_compose_v1(tmp_path):
    path = tmp_path / "x.env"
    path.write_text(
        "HOST=db\nURL=postgres://${HOST}:${PORT}/${NAME:-app}\nRAW=$HOST\n", encoding="utf-8"
    )
    assert read_env_file(path, {"PORT": "5432", "HOST": "process"}) == {
        "HOST": "db",  # earlier lines of the file win over the process environment
        "URL": "postgres://db:5432/app",
        "RAW": "$HOST",
    }
    assert read_env_file(path, expand=False)["URL"] == "postgres://${HOST}:${PORT}/${NAME:-app}"


def test_read_env_file_bare_key_sets_nothing(tmp_path):
    path = tmp_path / "x.env"
    path.write_text("\ufeffA=1\nINHERITED\n", encoding="utf-8")
    assert read_env_file(path) == {"A": "1"}
