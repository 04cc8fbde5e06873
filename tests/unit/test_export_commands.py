"""The commands behind the exports: expected failures are one clear message, exit 1."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env=env,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bootstrap_db_gives_up_after_wait_with_a_masked_message():
    url = f"postgresql://u:hunter2secret@127.0.0.1:{closed_port()}/x"
    result = run(
        "bootstrap-db", "--database-url", url, "--migrations", "migrations", "--wait", "1s"
    )
    assert result.returncode == 1
    assert "did not answer within 1s" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_wait_for_refuses_a_bad_probe_and_times_out_cleanly():
    bad = run("wait-for", "db", '{"type": "postgress"}')
    assert bad.returncode == 1 and "invalid probe" in bad.stderr and "Traceback" not in bad.stderr
    port = closed_port()
    late = run("wait-for", "127.0.0.1", f'{{"type": "tcp", "port": {port}}}', "--timeout", "1s")
    assert late.returncode == 1
    assert f"127.0.0.1:{port} was not healthy (tcp) within 1s" in late.stderr


def test_export_kubernetes_writes_a_folder_and_masks_the_notes(tmp_path):
    out = tmp_path / "k8s"
    result = run("export", "kubernetes", "-o", str(out), "-n", "dev")
    assert result.returncode == 0, result.stderr
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "dev"
    assert all((out / name).is_file() for name in kustomization["resources"])
    assert "kubectl -n dev port-forward service/postgres 5432:5432" in result.stdout
    assert "dev_password" not in result.stdout
    again = run("export", "kubernetes", "-o", str(out), "-n", "dev", "--image", "nope=x")
    assert again.returncode == 1 and "SERVICE=IMAGE" in again.stderr
    swapped = run("export", "kubernetes", "-o", str(out), "--image", "db-migrate=reg/prov:1")
    assert swapped.returncode == 0, swapped.stderr
    assert "image: reg/prov:1" in (out / "job-db-migrate.yaml").read_text()


def test_export_compose_prints_the_committed_file():
    result = run("export", "compose", env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "docker-compose.yml").read_text(encoding="utf-8")
