"""`.dockerignore` matching: Docker's rules, checked against the Docker SDK's own matcher."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.digest import folder_digest
from provisioner.dockerignore import context_files


def _tree(root: Path, files: list[str], ignore: str) -> None:
    for relative in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative, encoding="utf-8")
    (root / ".dockerignore").write_text(ignore, encoding="utf-8")


def _changes_digest(root: Path, relative: str) -> bool:
    before = folder_digest(root)
    (root / relative).write_text("edited", encoding="utf-8")
    return folder_digest(root) != before


# ---- the digest follows what Docker sends -------------------------------------------------


def test_star_does_not_cross_folders(tmp_path):
    _tree(tmp_path, ["Dockerfile", "top.md", "docs/a.md"], "*.md\n")
    assert _changes_digest(tmp_path, "docs/a.md")  # Docker keeps docs/a.md
    assert not _changes_digest(tmp_path, "top.md")


def test_exception_reincludes(tmp_path):
    _tree(tmp_path, ["Dockerfile", "README.md", "NOTES.md"], "*.md\n!README.md\n")
    assert _changes_digest(tmp_path, "README.md")
    assert not _changes_digest(tmp_path, "NOTES.md")


def test_double_star_spans_folders_and_anchoring(tmp_path):
    files = ["Dockerfile", "a/b/c/x.log", "x.log", "build/out", "src/build/keep"]
    _tree(tmp_path, files, "**/*.log\n/build/\n")
    assert not _changes_digest(tmp_path, "a/b/c/x.log")
    assert not _changes_digest(tmp_path, "x.log")
    assert not _changes_digest(tmp_path, "build/out")
    assert _changes_digest(tmp_path, "src/build/keep")  # /build is anchored at the root


def test_dockerfile_and_dockerignore_are_always_sent(tmp_path):
    _tree(tmp_path, ["Dockerfile", "Dockerfile.dev", "app.py"], "Dockerfile*\n.dockerignore\n")
    assert _changes_digest(tmp_path, "Dockerfile")
    assert _changes_digest(tmp_path, ".dockerignore")
    before = folder_digest(tmp_path, dockerfile="Dockerfile.dev")
    (tmp_path / "Dockerfile.dev").write_text("FROM scratch\n", encoding="utf-8")
    assert folder_digest(tmp_path, dockerfile="Dockerfile.dev") != before


def test_the_digest_module_does_not_import_docker():
    code = "import sys, provisioner.digest; print('docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- parity with the Docker SDK on a generated tree ----------------------------------------

_NAMES = ["a", "B", "docs", "Docs", "build", "keep", "x.md", "A.MD", "y.txt", "z.py", ".hidden"]
_DIRS = ["", "a", "docs", "docs/sub", "Docs", "build", "a/b", "a/b/c", "src/build", "x.md"]

_FIXED_PATTERNS = [
    "*.md",
    "**/*.md",
    "docs",
    "!docs/keep",
    "/build/",
    "a/**/c",
    "?.txt",
    "[a-c]*",
    "[!a]*",
    "*/y.txt",
    "../z.py",
    "./a",
    "**",
    "!**/keep",
    "docs/*/",
    "a/b",
    "!a/b/c",
    "[",
    "x.md/",
    "DOCS",
    "*",
    "!*.py",
    "**/b/**",
    ".*",
    "!.hidden",
    "a\\b",
    "src/**",
    "/",
    ".",
    "#x.md",
    "  spaced.md  ",
    "[^a]*",
    "**/",
    "!Dockerfile",
    "Dockerfile",
]
_SEGMENT = st.sampled_from(
    [
        "*",
        "**",
        "?",
        "a",
        "b",
        "c",
        "docs",
        "build",
        "keep",
        "*.md",
        "x.md",
        "[a-z]*",
        "[!b]",
        "D*",
        "..",
        ".",
        "sub",
        "y.*",
    ]
)
_GENERATED = st.builds(
    lambda bang, lead, parts, trail: (
        ("!" if bang else "") + ("/" if lead else "") + "/".join(parts) + ("/" if trail else "")
    ),
    st.booleans(),
    st.booleans(),
    st.lists(_SEGMENT, min_size=1, max_size=4),
    st.booleans(),
)
_PATTERNS = st.lists(st.one_of(st.sampled_from(_FIXED_PATTERNS), _GENERATED), max_size=12)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("context")
    rng = random.Random(9)
    files = {"Dockerfile", "docs/Dockerfile.dev"}
    for folder in _DIRS:
        for name in rng.sample(_NAMES, 6):
            files.add(f"{folder}/{name}".lstrip("/"))
    files = {f for f in files if f not in _DIRS}  # a name is either a file or a folder
    for relative in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative, encoding="utf-8")
    return root


def _sdk_files(root: Path, patterns: list[str], dockerfile: str) -> set[str]:
    kept = exclude_paths(str(root), list(patterns), dockerfile=dockerfile)
    return {p for p in kept if (root / p).is_file()}


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(patterns=_PATTERNS, dockerfile=st.sampled_from(["Dockerfile", "docs/Dockerfile.dev"]))
def test_same_files_as_the_docker_sdk(tree, patterns, dockerfile):
    (tree / ".dockerignore").write_text("\n".join(patterns) + "\n", encoding="utf-8")
    # The SDK reads .dockerignore the same way: stripped lines, no blanks, no '#' lines.
    lines = [ln.strip() for ln in "\n".join(patterns).splitlines()]
    sdk_patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert set(context_files(tree, dockerfile)) == _sdk_files(tree, sdk_patterns, dockerfile)
