"""Fixtures for tests on the real test cluster (`.ci/kube-up`, shared/k8s).

The cluster's kubeconfig comes from PROVISIONER_TEST_KUBECONFIG (set by .ci/run), else
the one `.ci/kube-up` writes. Outside CI the tests skip when no cluster answers; under
CI (CI=true) they fail, so a cluster that did not start never passes as a silent no-op.
Each module gets its own namespace, deleted afterwards with everything in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
K8S_HOME = Path(os.environ.get("K8S_HOME", "/var/cache/provisioner-k8s"))
HARNESS = Path(os.environ.get("K8S_HARNESS", REPO.parent / "shared" / "k8s"))


def kubeconfig_path() -> Path:
    return Path(os.environ.get("PROVISIONER_TEST_KUBECONFIG", K8S_HOME / "host.kubeconfig"))


def kubectl_binary() -> str:
    """kubectl on PATH, else the one the harness built (CI machines may have only that)."""
    return shutil.which("kubectl") or str(K8S_HOME / "bin" / "kubectl")


@pytest.fixture(scope="session")
def kubeconfig(docker_client) -> Path:
    path = kubeconfig_path()
    problem = None
    if not path.is_file():
        problem = f"no kubeconfig at {path} (run .ci/kube-up)"
    else:
        from lightkube import Client, KubeConfig
        from lightkube.resources.core_v1 import Namespace

        try:
            client = Client(KubeConfig.from_file(path), trust_env=False)
            client.get(Namespace, "default")
        except Exception as exc:
            problem = f"the cluster of {path} does not answer: {exc}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"test cluster not available under CI: {problem}")
        pytest.skip(f"test cluster not available: {problem}")
    return path


@pytest.fixture(scope="session")
def kube(kubeconfig: Path) -> Any:
    from lightkube import Client, KubeConfig

    client = Client(KubeConfig.from_file(kubeconfig), trust_env=False)
    yield client
    client.close()


@dataclass
class Cluster:
    """Runs the CLI against the test cluster in one namespace, and kubectl there."""

    kubeconfig: Path
    namespace: str
    project: str
    client: Any

    def cli(
        self,
        *args: str,
        files: tuple[Path, ...] = (REPO / "stack.yaml",),
        env: dict[str, str] | None = None,
        project: str | None = None,
        kubeconfig: Path | None = None,
        namespace: str | None = None,
        load_images: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "provisioner"]
        for file in files:
            command += ["-f", str(file)]
        command += [
            "--env-file",
            str(REPO / ".ci" / "standin.env"),
            "-p",
            project or self.project,
            "--target",
            "kubernetes",
            "--kubeconfig",
            str(kubeconfig or self.kubeconfig),
            "--namespace",
            namespace or self.namespace,
        ]
        if load_images:  # else the stack's images come from elsewhere (--registry)
            command += [
                "--load-images-with",
                f"env K8S_HOME={K8S_HOME} bash {HARNESS / 'load-images.sh'}",
            ]
        command += args
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
        return result

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 150, input_json: Any = None
    ) -> str:
        result = subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=json.dumps(input_json) if input_json is not None else None,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def get_json(self, *what: str) -> dict[str, Any]:
        return json.loads(self.kubectl("get", *what, "-o", "json"))

    def pods(self) -> dict[str, dict[str, Any]]:
        """Running pods by name: their uid and summed restarts."""
        items = self.get_json("pods")["items"]
        return {
            p["metadata"]["name"]: {
                "uid": p["metadata"]["uid"],
                "restarts": sum(
                    c.get("restartCount", 0) for c in p["status"].get("containerStatuses", [])
                ),
            }
            for p in items
            if p["status"].get("phase") == "Running"
        }


def new_namespace(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def cluster(kubeconfig: Path, kube: Any) -> Iterator[Cluster]:
    from lightkube.resources.core_v1 import Namespace

    namespace = new_namespace("pk")
    yield Cluster(kubeconfig, namespace, f"kt{uuid.uuid4().hex[:6]}", kube)
    with contextlib.suppress(Exception):
        kube.delete(Namespace, namespace)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def one_paragraph_error(result: subprocess.CompletedProcess[str]) -> str:
    """An expected failure: exit 1, an `error:` message, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "error:" in result.stderr, result.stderr
    return result.stderr
