"""Issue 5's bad-input corpus: every broken stack gives a SpecError with the right message.

Each file in tests/bad_stacks/ is loaded with an empty environment; the message must name
the file, contain every fragment listed in expected.yaml (which always includes the line
where YAML gives one), and carry no Python traceback text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioner.errors import SpecError
from provisioner.stackfile.loader import load_stack

CORPUS = Path(__file__).resolve().parents[1] / "bad_stacks"
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text("utf-8"))
FILES = sorted(p.name for p in CORPUS.glob("[0-9][0-9]_*.yaml"))
MINIMUM = 45
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "Error:", "pydantic")


def test_corpus_is_large_enough_and_fully_described():
    print(f"\nbad stack corpus: {len(FILES)} broken files")
    assert len(FILES) >= MINIMUM
    assert sorted(EXPECTED) == FILES, "every corpus file needs an entry in expected.yaml"


@pytest.mark.parametrize("name", FILES)
def test_bad_stack_gives_spec_error(name):
    path = CORPUS / name
    try:
        load_stack([path], environ={})
    except SpecError as err:
        message = str(err)
    except Exception as err:  # noqa: BLE001 - any other exception is the bug we look for
        pytest.fail(f"{name}: {type(err).__name__} instead of SpecError: {err}")
    else:
        pytest.fail(f"{name} loaded without error")
    assert str(path) in message, f"the message does not name the file:\n{message}"
    missing = [fragment for fragment in EXPECTED[name] if fragment not in message]
    assert not missing, f"{name}: missing {missing} in:\n{message}"
    assert any(f.startswith("line ") for f in EXPECTED[name]) or "line " not in message
    for marker in TRACEBACK_MARKERS:
        assert marker not in message, f"{name}: traceback-like text {marker!r} in:\n{message}"
