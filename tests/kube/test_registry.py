"""`--registry HOST[:PORT]`: built images reach the cluster through a real registry.

The registry is the loopback one of the pull tests (.ci/registry.sh, 127.0.0.1:5001);
.ci/kube-up makes the same address answer inside the cluster's network namespace, so
the node's containerd pulls what the host's Docker pushed, under the same name. Nothing
is loaded into the cluster by command here: the pod can only run if the pull worked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.kube.conftest import REPO, Cluster, new_namespace, ok, one_paragraph_error

pytestmark = [pytest.mark.kube, pytest.mark.docker]

REGISTRY = f"127.0.0.1:{os.environ.get('REGISTRY_PORT', '5001')}"
# A fixed project: the registry keeps one repository for this test, not one per run.
PROJECT = "kregistry"
REPOSITORY = f"{PROJECT}-mock-inference"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def registry_call(method: str, path: str, accept: str | None = None) -> tuple[int, Any, Any]:
    """(status, headers, parsed JSON body or None) of one registry API call."""
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{path}", method=method)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, response.headers, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, None


def tags(repository: str) -> list[str]:
    status, _, body = registry_call("GET", f"{repository}/tags/list")
    return list((body or {}).get("tags") or []) if status == 200 else []


def forget(repository: str) -> None:
    """Delete every manifest of `repository`, so a tag found later was pushed by this run."""
    for tag in tags(repository):
        status, headers, _ = registry_call("HEAD", f"{repository}/manifests/{tag}", MANIFEST_TYPES)
        if status == 200:
            registry_call("DELETE", f"{repository}/manifests/{headers['Docker-Content-Digest']}")
    assert tags(repository) == [], f"the registry still lists tags of {repository}"


@pytest.fixture(scope="module")
def registry() -> str:
    try:
        registry_call("GET", "")
    except OSError as exc:
        problem = f"no registry answers on {REGISTRY} (.ci/registry.sh): {exc}"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return REGISTRY


def mock_stack(directory: Path) -> Path:
    """Only the mock, built from the repository's mock_inference/ (no provisioner image:
    no migrations, no depends_on)."""
    path = directory / "registry.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            project: {PROJECT}
            services:
              mock-inference:
                build:
                  context: {REPO / "mock_inference"}
                  args:
                    BASE_IMAGE: ${{PYTHON_IMAGE}}
                image: {PROJECT}-mock-inference:local
                environment:
                  MODEL_NAME: mock-gpt
                healthcheck:
                  type: http
                  port: 8000
                  path: /health
            """
        )
    )
    return path


def test_built_images_are_pushed_and_the_cluster_pulls_them(
    cluster: Cluster, registry: str, tmp_path: Path
):
    forget(REPOSITORY)
    stack = mock_stack(tmp_path)
    out = ok(
        cluster.cli(
            "--registry", registry, "apply", files=(stack,), project=PROJECT, load_images=False
        )
    )
    assert "Applied project" in out
    pods = cluster.get_json("pods", "-l", f"org.provisioner/project={PROJECT}")["items"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    pod = pods[0]
    image = pod["spec"]["containers"][0]["image"]
    assert image.startswith(f"{registry}/{REPOSITORY}:id-"), image
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is True, status
    # The image was pulled from the registry: containerd records its registry digest.
    assert status["imageID"].startswith(f"{registry}/{REPOSITORY}@sha256:"), status
    assert tags(REPOSITORY) == [image.rpartition(":")[2]]
    # The same stack again: nothing to push anew, nothing changes.
    again = cluster.cli(
        "--registry", registry, "diff", files=(stack,), project=PROJECT, load_images=False
    )
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_unreachable_registry_is_one_paragraph_and_applies_nothing(
    cluster: Cluster, tmp_path: Path
):
    namespace = new_namespace("pkr")
    result = cluster.cli(
        "--registry",
        "127.0.0.1:1",
        "apply",
        files=(mock_stack(tmp_path),),
        project=PROJECT,
        namespace=namespace,
        load_images=False,
    )
    message = one_paragraph_error(result)
    assert f"cannot push image 127.0.0.1:1/{REPOSITORY}:id-" in message
    assert "--registry" in message and "Nothing was applied" in message
    error = message[message.index("error:") :]
    assert len(error.strip().splitlines()) == 1, error  # one paragraph, after the progress
    gone = cluster.kubectl("get", "namespace", namespace, check=False)
    assert gone == "", f"namespace {namespace} was created: {gone}"
    ref = re.search(r"cannot push image (\S+):", message)
    assert ref, message
    tagged = subprocess.run(["docker", "image", "inspect", ref[1]], capture_output=True)
    assert tagged.returncode != 0, f"the failed push left {ref[1]} behind"
