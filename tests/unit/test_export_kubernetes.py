"""`export kubernetes`: the manifests validate against the Kubernetes OpenAPI schemas
(offline, strict) and follow the stack rule by rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from provisioner.errors import SpecError
from provisioner.export.kubernetes import manifests, port_forward_notes, render_files
from provisioner.masking import is_secret_key, mask_text
from provisioner.stackfile.loader import load_stack

REPO = Path(__file__).resolve().parents[2]
# The oldest and the newest schemas the validator ships; the manifests use only
# apps/v1, batch/v1 and v1, which Kubernetes 1.20 already serves.
VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]


@pytest.fixture(scope="module")
def loaded():
    return load_stack([REPO / "stack.yaml"], environ={})


@pytest.fixture(scope="module")
def objects(loaded):
    return manifests(loaded)


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly(objects, version):
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)
    assert {o["apiVersion"] for o in objects} <= {"v1", "apps/v1", "batch/v1"}


def test_strict_validation_catches_an_unknown_field(objects):
    broken = yaml.safe_load(yaml.safe_dump(by_kind(objects, "StatefulSet")["postgres"]))
    pod_spec(broken)["containers"][0]["healthcheck"] = {"test": "x"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_statefulsets_own_the_named_volumes_and_deployments_the_rest(loaded, objects):
    statefulsets = by_kind(objects, "StatefulSet")
    deployments = by_kind(objects, "Deployment")
    assert set(statefulsets) == {"postgres", "redis", "rabbitmq"}
    assert set(deployments) == {"mock-inference"}
    claim = statefulsets["postgres"]["spec"]["volumeClaimTemplates"]
    assert claim == [
        {
            "metadata": {"name": "postgres-data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    ]
    assert statefulsets["postgres"]["spec"]["serviceName"] == "postgres-headless"
    # No separate PersistentVolumeClaim objects (kompose #2090 emitted duplicates).
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]


def test_every_service_has_a_service_and_every_statefulset_a_headless_one(loaded, objects):
    services = by_kind(objects, "Service")
    for name, stack_service in loaded.stack.services.items():
        svc = services[name]
        assert svc["spec"]["type"] == "ClusterIP"
        assert {p["port"] for p in svc["spec"]["ports"]} >= {p.target for p in stack_service.ports}
    for name in by_kind(objects, "StatefulSet"):
        assert services[f"{name}-headless"]["spec"]["clusterIP"] == "None"


def test_secrets_are_in_secrets_and_never_in_a_plain_value(loaded, objects):
    secrets = by_kind(objects, "Secret")
    assert secrets["postgres-secrets"]["stringData"]["POSTGRES_PASSWORD"] == "dev_password"
    assert secrets["rabbitmq-secrets"]["stringData"]["RABBITMQ_DEFAULT_PASS"] == "dev_password"
    job_secret = secrets["db-migrate-secrets"]["stringData"]
    assert job_secret["SEED_VAR_admin_password"] == "dev_admin_password"
    assert "@postgres:5432/ias_dev" in job_secret["DATABASE_URL"]
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            for key, value in obj["data"].items():
                assert not is_secret_key(key) and mask_text(value) == value, (obj, key)
        if obj["kind"] in ("StatefulSet", "Deployment", "Job"):
            spec = pod_spec(obj)
            for container in spec.get("initContainers", []) + spec["containers"]:
                for item in container.get("env", []):
                    assert "value" not in item, (obj["metadata"]["name"], item)
                    assert "secretKeyRef" in item["valueFrom"]
                # A secret used by a probe is read from the environment, not written in.
                text = yaml.safe_dump(container)
                assert "dev_password" not in text and "dev_admin_password" not in text


def test_probes_follow_the_typed_probes(objects):
    workloads = {**by_kind(objects, "StatefulSet"), **by_kind(objects, "Deployment")}
    pg = pod_spec(workloads["postgres"])["containers"][0]
    assert "psql" in pg["readinessProbe"]["exec"]["command"][2]
    assert "SELECT 1" in pg["startupProbe"]["exec"]["command"][2]
    # The startup budget covers the probe's timeout (120 s).
    start = pg["startupProbe"]
    assert start["failureThreshold"] * start["periodSeconds"] >= 120
    assert "livenessProbe" not in pg
    rabbit = pod_spec(workloads["rabbitmq"])["containers"][0]
    assert (
        rabbit["startupProbe"]["failureThreshold"] * rabbit["startupProbe"]["periodSeconds"] >= 180
    )
    mock = pod_spec(workloads["mock-inference"])["containers"][0]
    assert mock["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    redis = pod_spec(workloads["redis"])["containers"][0]
    assert "PONG" in redis["readinessProbe"]["exec"]["command"][2]
    for obj in workloads.values():
        spec = pod_spec(obj)
        container = spec["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert isinstance(spec["terminationGracePeriodSeconds"], int)
    assert pod_spec(workloads["postgres"])["terminationGracePeriodSeconds"] == 30


def test_migrations_job_waits_for_postgres_and_is_rerunnable(objects):
    job = by_kind(objects, "Job")["db-migrate"]
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["ttlSecondsAfterFinished"] > 0
    assert "annotations" not in job["metadata"]  # no Helm hooks
    spec = pod_spec(job)
    (init,) = spec["initContainers"]
    assert init["command"][:5] == ["python", "-m", "provisioner", "wait-for", "postgres"]
    assert '"type":"postgres"' in init["command"][5]
    assert spec["containers"][0]["command"][3] == "bootstrap-db"
    assert spec["containers"][0]["securityContext"]["runAsNonRoot"] is True
    assert spec["restartPolicy"] == "Never"


STACK_WITH_EXTRAS = """
project: demo
services:
  db:
    image: postgres
    environment: {POSTGRES_PASSWORD: pw}
    ports: ["5432:5432"]
    volumes: [dbdata:/var/lib/postgresql/data]
    healthcheck: {type: postgres, password: pw, timeout: 30s, liveness: true}
    resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 1Gi}}
  queue:
    image: redis
    healthcheck: {type: exec, command: [redis-cli, ping]}
  web:
    image: web
    ports: ["8080:80"]
    healthcheck: {type: http, port: 80, path: /ready}
  worker:
    image: worker
    user: "1000"
    depends_on: {db: {condition: healthy}, queue: {condition: started}, web: {condition: started}}
volumes:
  dbdata: {size: 5Gi, storage_class: fast-ssd}
migrations: {service: db, database_url: "postgres://postgres:pw@localhost:5432/postgres"}
"""


def test_stack_fields_and_dependencies_carry_over(tmp_path):
    (tmp_path / "stack.yaml").write_text(textwrap.dedent(STACK_WITH_EXTRAS))
    loaded = load_stack([tmp_path / "stack.yaml"], environ={})
    objects = manifests(loaded, namespace="dev", image_overrides={"worker": "registry.local/w:1"})
    for obj in objects:
        assert obj["metadata"]["namespace"] == "dev"
        kubernetes_validate.validate(obj, VERSIONS[-1], strict=True)
    db = by_kind(objects, "StatefulSet")["db"]
    claim = db["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "5Gi"
    assert claim["storageClassName"] == "fast-ssd"
    container = pod_spec(db)["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert "livenessProbe" in container
    services = by_kind(objects, "Service")
    # A service with no port still gets a Service (headless: nothing to balance).
    assert services["worker"]["spec"]["clusterIP"] == "None"
    worker = by_kind(objects, "Deployment")["worker"]
    spec = pod_spec(worker)
    assert spec["containers"][0]["image"] == "registry.local/w:1"
    assert spec["containers"][0]["securityContext"]["runAsUser"] == 1000
    names = [c["name"] for c in spec["initContainers"]]
    # healthy: db's probe; started: web's port (queue has none to wait on); the schema
    assert names == ["wait-for-db", "wait-for-web", "wait-for-schema"]
    assert '"type":"postgres"' in spec["initContainers"][0]["command"][5]
    assert spec["initContainers"][1]["command"][5] == '{"port":80,"type":"tcp"}'
    assert spec["initContainers"][2]["command"][3] == "bootstrap-db"


def test_output_is_deterministic_and_listed_in_the_kustomization(loaded):
    first = render_files(manifests(loaded))
    second = render_files(manifests(load_stack([REPO / "stack.yaml"], environ={})))
    assert first == second
    kustomization = yaml.safe_load(first["kustomization.yaml"])
    assert kustomization["resources"] == [n for n in first if n != "kustomization.yaml"]
    assert all("&id" not in text for text in first.values())


def test_port_forward_notes_give_the_env_local_urls(loaded):
    notes = port_forward_notes(loaded)
    assert "kubectl port-forward service/postgres 5432:5432" in notes
    assert "kubectl port-forward service/rabbitmq 5672:5672 15672:15672" in notes
    assert "DATABASE_URL=postgres://ias_dev:dev_password@localhost:5432/ias_dev" in notes


def test_a_service_named_like_the_job_is_refused(tmp_path):
    (tmp_path / "stack.yaml").write_text(
        "project: demo\nservices:\n  db: {image: postgres}\n  db-migrate: {image: x}\n"
        "migrations: {service: db, database_url: 'postgres://u:p@localhost:5432/d'}\n"
    )
    with pytest.raises(SpecError, match="db-migrate"):
        manifests(load_stack([tmp_path / "stack.yaml"], environ={}))


def test_a_secret_in_a_command_goes_into_the_secret(tmp_path):
    (tmp_path / "stack.yaml").write_text(
        "project: demo\nservices:\n  cache:\n    image: redis\n"
        "    command: redis-server --requirepass s3cret --note $$(keep)\n"
    )
    objects = manifests(load_stack([tmp_path / "stack.yaml"], environ={}))
    secret = by_kind(objects, "Secret")["cache-secrets"]["stringData"]
    container = pod_spec(by_kind(objects, "Deployment")["cache"])["containers"][0]
    (variable,) = secret
    assert secret[variable] == "s3cret"
    # The kubelet expands $(VAR) from the container's env; a literal $( is escaped.
    assert container["args"] == [
        "redis-server",
        "--requirepass",
        f"$({variable})",
        "--note",
        "$$(keep)",
    ]
    assert container["env"] == [
        {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": "cache-secrets", "key": variable}},
        }
    ]
    assert "s3cret" not in yaml.safe_dump(container)
    kubernetes_validate.validate(by_kind(objects, "Deployment")["cache"], VERSIONS[-1], strict=True)
