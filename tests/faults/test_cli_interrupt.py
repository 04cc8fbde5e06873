"""A Ctrl-C that lands before a command's own handler (in the no-op fast path) still ends
with 'Interrupted.' and exit 130, never a traceback. In-process: no Docker needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.cli import fastpath
from provisioner.cli import main as cli


def test_ctrl_c_in_the_fast_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def interrupted(args: object) -> int | None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fastpath, "try_fast", interrupted)
    stack = tmp_path / "stack.yaml"
    stack.write_text("project: x\nservices:\n  a:\n    image: busybox\n")
    assert cli.main(["-f", str(stack), "apply"]) == 130
    assert capsys.readouterr().err == "Interrupted.\n"
