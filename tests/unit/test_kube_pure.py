"""Pure pieces of the Kubernetes target: field diffs, readiness, ownership, image refs."""

from __future__ import annotations

from provisioner.kube.desired import content_named
from provisioner.kube.fielddiff import MISSING, field_changes
from provisioner.kube.images import content_ref, missing_on_nodes, normalise
from provisioner.kube.ownership import is_owned, with_ownership
from provisioner.kube.plan import ObjectPlan, plan_object, render_text
from provisioner.kube.readiness import pod_problem, ready


def _sts(env_value: str, rv: str = "1") -> dict:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "resourceVersion": rv, "managedFields": [{"x": rv}]},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "db", "env": [{"name": "MODE", "value": env_value}], "args": ["a"]}
                    ]
                }
            }
        },
        "status": {"readyReplicas": 1},
    }


def test_field_changes_name_list_items_by_key_and_ignore_bookkeeping():
    assert field_changes(_sts("x", "1"), _sts("x", "2")) == []
    (change,) = field_changes(_sts("x"), _sts("y"))
    assert change.path == "spec.template.spec.containers[name=db].env[name=MODE].value"
    assert (change.before, change.after) == ("x", "y")


def test_field_changes_show_added_items_and_scalar_lists_whole():
    after = _sts("x")
    container = after["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "NEW", "value": "1"})
    container["args"] = ["a", "b"]
    changes = {c.path: c for c in field_changes(_sts("x"), after)}
    assert changes["spec.template.spec.containers[name=db].env[name=NEW]"].before is MISSING
    assert changes["spec.template.spec.containers[name=db].args"].after == ["a", "b"]


def test_ready_statefulset_deployment_claim_job():
    sts = {
        "kind": "StatefulSet",
        "metadata": {"generation": 2},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 2, "readyReplicas": 1, "replicas": 1},
    }
    assert ready(sts) == (True, "1/1 ready")
    assert not ready({**sts, "status": {**sts["status"], "observedGeneration": 1}})[0]
    deployment = {
        "kind": "Deployment",
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "replicas": 1,
            "conditions": [{"type": "Available", "status": "True"}],
        },
    }
    assert ready(deployment)[0]
    assert not ready({**deployment, "status": {**deployment["status"], "replicas": 2}})[0]
    assert ready({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}})[0]
    assert not ready({"kind": "PersistentVolumeClaim", "status": {}})[0]
    assert ready({"kind": "Job", "spec": {}, "status": {"succeeded": 1}}) == (True, "complete")
    failed = {"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    assert ready(failed) == (False, "failed")


def test_pod_problem_names_the_image():
    pod = {
        "status": {
            "containerStatuses": [
                {
                    "name": "db",
                    "image": "nope:1",
                    "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "absent"}},
                }
            ]
        }
    }
    assert pod_problem(pod) == ("ErrImageNeverPull", "nope:1: absent")
    crash = {
        "status": {"containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
    }
    assert pod_problem(crash) is None


def test_ownership_labels_reach_templates_and_claims():
    obj = {
        "kind": "StatefulSet",
        "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {"template": {"metadata": {}}, "volumeClaimTemplates": [{"metadata": {}}]},
    }
    owned = with_ownership(obj, "alpha")
    assert is_owned(owned, "alpha") and not is_owned(owned, "beta")
    assert owned["metadata"]["labels"]["app"] == "db"
    assert is_owned(owned["spec"]["template"], "alpha")
    assert is_owned(owned["spec"]["volumeClaimTemplates"][0], "alpha")
    assert (
        "labels" not in obj["metadata"]
        or "org.provisioner/project" not in obj["metadata"]["labels"]
    )


def test_content_refs_and_node_names():
    image_id = "sha256:0123456789abcdef"
    assert content_ref("ias-mock:local", image_id, None) == "ias-mock:id-0123456789ab"
    assert content_ref("ias-mock:local", image_id, "localhost:5000") == (
        "localhost:5000/ias-mock:id-0123456789ab"
    )
    assert content_ref("reg:5000/team/app:1", image_id, "other") == "other/team/app:id-0123456789ab"
    assert normalise("redis:7") == "docker.io/library/redis:7"
    assert normalise("team/app") == "docker.io/team/app:latest"
    assert normalise("localhost:5000/app:1") == "localhost:5000/app:1"
    assert missing_on_nodes(["redis:7", "x/y:1"], {"docker.io/library/redis:7"}) == ["x/y:1"]


def test_job_name_follows_its_content():
    job = {"kind": "Job", "metadata": {"name": "db-migrate"}, "spec": {"image": "a"}}
    first = content_named(job)["metadata"]["name"]
    assert first.startswith("db-migrate-") and len(first) == len("db-migrate-") + 8
    assert content_named(job)["metadata"]["name"] == first
    assert content_named({**job, "spec": {"image": "b"}})["metadata"]["name"] != first


def test_plan_render_masks_secret_data():
    live = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"PASSWORD": "b2xk"}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"PASSWORD": "bmV3"}}
    plan = plan_object(after, live, after, "db")
    text = render_text([plan], "ns", "p", show=False)
    assert "b2xk" not in text and "bmV3" not in text and "(secret)" in text
    assert "data.PASSWORD" in text
    assert "No changes" in render_text(
        [ObjectPlan("Service", "db", "db", "unchanged")], "ns", "p", show=False
    )


def test_docker_path_never_imports_the_kubernetes_client():
    import subprocess
    import sys

    code = (
        "import sys; import provisioner.cli.main, provisioner.cli.fastpath, "
        "provisioner.cli.commands.apply, provisioner.cli.commands.diff, "
        "provisioner.cli.commands.destroy, provisioner.cli.commands.status; "
        "sys.exit('lightkube' in sys.modules or 'provisioner.cli.kube_commands' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_config_hash_rolls_only_the_workloads_that_read_the_data():
    from provisioner.kube.desired import CONFIG_HASH, with_config_hashes

    def objects(value: str) -> list[dict]:
        reader = {
            "kind": "Deployment",
            "metadata": {"name": "app"},
            "spec": {
                "template": {
                    "spec": {"containers": [{"envFrom": [{"configMapRef": {"name": "app-env"}}]}]}
                }
            },
        }
        other = {
            "kind": "Deployment",
            "metadata": {"name": "other"},
            "spec": {"template": {"spec": {"containers": [{"name": "x"}]}}},
        }
        config = {"kind": "ConfigMap", "metadata": {"name": "app-env"}, "data": {"MODE": value}}
        return with_config_hashes([config, reader, other])

    first, second = objects("a"), objects("b")
    hashes = [
        o["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH] for o in (first[1], second[1])
    ]
    assert hashes[0] != hashes[1]
    assert objects("a")[1] == first[1]
    assert first[2] == second[2] and "metadata" not in first[2]["spec"]["template"]


def test_field_changes_lists_without_a_shared_key_compare_by_position():
    before = {"spec": {"ports": [{"port": 1}, {"targetPort": 2}]}}
    after = {"spec": {"ports": [{"port": 1}, {"targetPort": 3}]}}
    (change,) = field_changes(before, after)
    assert change.path == "spec.ports[1].targetPort"
