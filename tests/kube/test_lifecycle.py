"""The repository's stack on the real test cluster, from nothing to destroyed.

The tests run in file order on one namespace: each builds on the state the previous
one left (as a user's successive commands would), which keeps the suite to one cold
apply.
"""

from __future__ import annotations

import time

import pytest

from tests.kube.checks import run_check
from tests.kube.conftest import Cluster, ok

WORKLOADS = ("statefulset/postgres", "statefulset/redis", "statefulset/rabbitmq")

pytestmark = [pytest.mark.kube, pytest.mark.docker]


def _job(cluster: Cluster) -> dict:
    jobs = cluster.get_json("jobs", "-l", f"org.provisioner/project={cluster.project}")["items"]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    return jobs[0]


def _redis(cluster: Cluster, *command: str) -> str:
    pod = cluster.get_json("pods", "-l", f"org.provisioner/project={cluster.project}")
    name = next(
        p["metadata"]["name"] for p in pod["items"] if p["metadata"]["name"].startswith("redis")
    )
    return cluster.kubectl("exec", name, "--", "redis-cli", *command).strip()


def test_apply_from_nothing_to_everything_ready(cluster: Cluster):
    result = cluster.cli("apply")
    out = ok(result)
    assert "Applied project" in out
    assert "port-forward svc/postgres 5432:5432" in out
    for workload in WORKLOADS:
        status = cluster.get_json(workload)["status"]
        assert status.get("readyReplicas") == 1, (workload, status)
    claims = cluster.get_json("pvc", "-l", f"org.provisioner/project={cluster.project}")["items"]
    assert len(claims) == 3 and all(c["status"]["phase"] == "Bound" for c in claims)
    deployment = cluster.get_json("deployment/mock-inference")["status"]
    assert deployment.get("availableReplicas") == 1
    assert _job(cluster)["status"].get("succeeded") == 1
    print(f"cold apply: {result.elapsed:.1f}s")  # type: ignore[attr-defined]


def test_from_inside_the_cluster_every_service_answers(cluster: Cluster):
    found = run_check(cluster)
    assert {"organizations", "users", "api_keys", "model_mappings"} <= set(found["tables"])
    assert found["orgs"] == ["bootstrap"]
    assert found["admins"] == ["admin@ias.local"]
    assert found["redis_ping"] is True
    assert found["amqp_roundtrip"] == "hello"
    assert found["openai_sdk"]  # the real SDK, not a hand-made request
    assert found["completion_object"] == "chat.completion"
    assert found["completion_text"]
    assert found["streamed_text"]


def test_second_apply_changes_and_restarts_nothing(cluster: Cluster):
    before = cluster.pods()
    job = _job(cluster)["metadata"]["name"]
    out = ok(cluster.cli("apply"))
    assert "No changes" in out, out
    assert cluster.pods() == before
    assert _job(cluster)["metadata"]["name"] == job
    diff = cluster.cli("diff")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "No changes" in diff.stdout


def test_an_environment_change_rolls_only_that_workload(cluster: Cluster, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("services:\n  mock-inference:\n    environment:\n      MODEL_NAME: other\n")
    files = (cluster_stack(), override)
    diff = cluster.cli("diff", files=files)
    assert diff.returncode == 2, diff.stdout + diff.stderr
    assert "Deployment/mock-inference" in diff.stdout
    assert "MODEL_NAME" in diff.stdout and "other" in diff.stdout
    assert "StatefulSet" not in diff.stdout
    before = cluster.pods()
    ok(cluster.cli("apply", files=files))
    after = cluster.pods()
    mock_before = {n for n in before if n.startswith("mock-inference")}
    mock_after = {n for n in after if n.startswith("mock-inference")}
    assert mock_before and mock_after and mock_before.isdisjoint(mock_after)
    unchanged = {n: v for n, v in before.items() if not n.startswith("mock-inference")}
    assert {n: after[n] for n in unchanged} == unchanged
    assert cluster.cli("diff", files=files).returncode == 0
    ok(cluster.cli("apply"))  # back to the stack as committed


def cluster_stack():
    from tests.kube.conftest import REPO

    return REPO / "stack.yaml"


def test_a_deleted_pod_comes_back_with_its_data(cluster: Cluster):
    assert _redis(cluster, "SET", "kube-test-key", "kept") == "OK"
    assert _redis(cluster, "SAVE") == "OK"
    cluster.kubectl("delete", "pod", "redis-0", "--wait=true")
    cluster.kubectl("rollout", "status", "statefulset/redis", "--timeout=120s")
    assert _redis(cluster, "GET", "kube-test-key") == "kept"


def test_destroy_keeps_claims_and_apply_brings_the_data_back(cluster: Cluster):
    out = ok(cluster.cli("destroy"))
    assert "kept" in out
    left = cluster.get_json("all", "-l", f"org.provisioner/project={cluster.project}")["items"]
    assert left == [], [i["metadata"]["name"] for i in left]
    claims = cluster.get_json("pvc", "-l", f"org.provisioner/project={cluster.project}")["items"]
    assert len(claims) == 3
    ok(cluster.cli("apply"))
    assert _redis(cluster, "GET", "kube-test-key") == "kept"
    assert run_check(cluster)["orgs"] == ["bootstrap"]


def test_destroy_volumes_asks_then_deletes_the_claims(cluster: Cluster):
    refused = cluster.cli("destroy", "--volumes")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert len(cluster.get_json("pvc")["items"]) == 3
    ok(cluster.cli("destroy", "--volumes", "--yes"))
    deadline = time.monotonic() + 60
    while cluster.get_json("pvc")["items"] and time.monotonic() < deadline:
        time.sleep(1)
    assert cluster.get_json("pvc")["items"] == []
    assert "Nothing to destroy" in ok(cluster.cli("destroy"))


@pytest.mark.parametrize("command", ["status"])
def test_status_after_destroy_shows_absent(cluster: Cluster, command: str):
    out = ok(cluster.cli(command))
    assert "absent" in out
