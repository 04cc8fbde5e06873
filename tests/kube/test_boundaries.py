"""Bad input and ownership on the real test cluster: one clear paragraph, nothing touched."""

from __future__ import annotations

import base64
import contextlib
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.kube.conftest import Cluster, new_namespace, ok, one_paragraph_error

pytestmark = [pytest.mark.kube, pytest.mark.docker]


def small_stack(directory: Path, service: str, image: str = "${REDIS_IMAGE}") -> Path:
    path = directory / f"{service}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            project: small
            services:
              {service}:
                image: {image}
                healthcheck:
                  type: redis
            """
        )
    )
    return path


@pytest.fixture(scope="module")
def admin(kubeconfig: Path) -> dict:
    return yaml.safe_load(kubeconfig.read_text())


def test_an_unreachable_api_server_is_one_paragraph(cluster: Cluster, tmp_path: Path, admin):
    broken = json.loads(json.dumps(admin))
    broken["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "unreachable.kubeconfig"
    path.write_text(yaml.safe_dump(broken))
    for command in ("apply", "diff", "status", "destroy"):
        message = one_paragraph_error(cluster.cli(command, kubeconfig=path))
        assert "Cannot reach the Kubernetes API server at https://127.0.0.1:1" in message
    missing = one_paragraph_error(cluster.cli("apply", kubeconfig=tmp_path / "none"))
    assert "No kubeconfig at" in missing


def test_a_missing_image_names_the_image(cluster: Cluster, tmp_path: Path):
    stack = small_stack(tmp_path, "cache", image="provisioner-standin/absent:latest")
    result = cluster.cli("--timeout", "120", "apply", files=(stack,), project="missing")
    message = one_paragraph_error(result)
    assert "provisioner-standin/absent:latest" in message
    assert "cannot start" in message


def test_a_namespace_without_permission_is_refused_clearly(cluster: Cluster, tmp_path: Path, admin):
    namespace = cluster.namespace
    cluster.kubectl("create", "namespace", namespace, check=False)
    cluster.kubectl("create", "serviceaccount", "nobody")
    token = ""
    for _ in range(30):
        secrets = cluster.get_json("secrets")["items"]
        found = [
            s
            for s in secrets
            if s["type"] == "kubernetes.io/service-account-token"
            and s["metadata"]["annotations"].get("kubernetes.io/service-account.name") == "nobody"
        ]
        if found:
            token = base64.b64decode(found[0]["data"]["token"]).decode()
            break
        import time

        time.sleep(1)
    assert token, "no token was issued to the service account"
    limited = json.loads(json.dumps(admin))
    limited["users"] = [{"name": "nobody", "user": {"token": token}}]
    limited["contexts"][0]["context"]["user"] = "nobody"
    path = tmp_path / "nobody.kubeconfig"
    path.write_text(yaml.safe_dump(limited))
    stack = small_stack(tmp_path, "cache")
    message = one_paragraph_error(
        cluster.cli("apply", files=(stack,), project="denied", kubeconfig=path)
    )
    assert "refused" in message and namespace in message


def test_an_object_we_do_not_own_is_never_touched(cluster: Cluster, tmp_path: Path):
    cluster.kubectl("create", "namespace", cluster.namespace, check=False)
    cluster.kubectl("create", "service", "clusterip", "keeper", "--tcp=6379:6379")
    before = cluster.get_json("service/keeper")
    stack = small_stack(tmp_path, "keeper")
    message = one_paragraph_error(cluster.cli("apply", files=(stack,), project="intruder"))
    assert "Service 'keeper'" in message and "not to project 'intruder'" in message
    after = cluster.get_json("service/keeper")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    one_paragraph_error(cluster.cli("apply", files=(stack,), project="intruder"))
    ok(cluster.cli("destroy", files=(stack,), project="intruder"))
    assert cluster.get_json("service/keeper")["metadata"]["uid"] == before["metadata"]["uid"]


def test_two_stacks_in_one_namespace_do_not_see_each_other(kubeconfig, kube, tmp_path: Path):
    shared = Cluster(kubeconfig, new_namespace("pk2"), "alpha", kube)
    try:
        alpha = small_stack(tmp_path, "cache-a")
        beta = small_stack(tmp_path, "cache-b")
        ok(shared.cli("apply", files=(alpha,), project="alpha"))
        ok(shared.cli("apply", files=(beta,), project="beta"))
        diff = shared.cli("diff", files=(alpha,), project="alpha")
        assert diff.returncode == 0, diff.stdout + diff.stderr
        ok(shared.cli("destroy", files=(alpha,), project="alpha"))
        status_beta = ok(shared.cli("status", files=(beta,), project="beta"))
        assert "1/1" in status_beta
        assert "absent" in ok(shared.cli("status", files=(alpha,), project="alpha"))
        assert shared.get_json("deployment/cache-b")["status"]["availableReplicas"] == 1
    finally:
        from lightkube.resources.core_v1 import Namespace

        with contextlib.suppress(Exception):
            kube.delete(Namespace, shared.namespace)
