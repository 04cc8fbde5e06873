"""Cold apply to ready on the test cluster, against Docker and against plain kubectl, in one run.

Same stack (the repository's, on the stand-in images), from nothing to every workload
ready and migrations and seeds done:

  docker:      `provisioner apply` on the local Docker engine (fresh volumes);
  kubernetes:  `provisioner --target kubernetes apply` into a fresh namespace;
  kubectl:     what a user would script by hand: `provisioner export kubernetes` of the
               same stack (same images), `kubectl apply -k`, then `kubectl wait` for
               every Deployment, StatefulSet rollout and the Job.

Images are built and loaded into the cluster by a warm-up apply first, so each figure
is the converge itself, not `docker save` of 300 MB images.
Usage: python bench/kube.py   (needs .ci/kube-up; KUBECONFIG from PROVISIONER_TEST_KUBECONFIG
or /var/cache/provisioner-k8s/host.kubeconfig)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
K8S_HOME = Path(os.environ.get("K8S_HOME", "/var/cache/provisioner-k8s"))
KUBECONFIG = Path(os.environ.get("PROVISIONER_TEST_KUBECONFIG", K8S_HOME / "host.kubeconfig"))
HARNESS = Path(os.environ.get("K8S_HARNESS", REPO.parent / "shared" / "k8s"))
KUBECTL = shutil.which("kubectl") or str(K8S_HOME / "bin" / "kubectl")
BASE = [sys.executable, "-m", "provisioner", "--env-file", str(REPO / ".ci" / "standin.env")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        cmd, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if check and result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return elapsed


def kube(namespace: str, project: str, *args: str) -> list[str]:
    return [
        *BASE,
        "-p",
        project,
        "--target",
        "kubernetes",
        "--kubeconfig",
        str(KUBECONFIG),
        "--namespace",
        namespace,
        "--load-images-with",
        f"env K8S_HOME={K8S_HOME} bash {HARNESS / 'load-images.sh'}",
        *args,
    ]


def kubectl(namespace: str, *args: str) -> list[str]:
    return [KUBECTL, "--kubeconfig", str(KUBECONFIG), "-n", namespace, *args]


def images_in(namespace: str) -> dict[str, str]:
    """The image each built workload runs, as the provisioner applied it."""
    out = subprocess.run(
        kubectl(namespace, "get", "deployments,jobs", "-o", "json"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    refs = {}
    for item in json.loads(out)["items"]:
        name = item["metadata"]["labels"]["app.kubernetes.io/name"]
        refs[name] = item["spec"]["template"]["spec"]["containers"][0]["image"]
    return refs


def main() -> None:
    tag = uuid.uuid4().hex[:6]
    project = "benchkube"
    namespaces = {k: f"bench-{k}-{tag}" for k in ("warm", "prov", "kubectl")}
    docker_env = {
        "POSTGRES_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "RABBITMQ_PORT": str(free_port()),
        "RABBITMQ_UI_PORT": str(free_port()),
        "MOCK_INFERENCE_PORT": str(free_port()),
    }
    docker_cmd = [*BASE, "-p", f"benchdock{tag}"]
    figures: dict[str, float] = {}
    try:
        run(kube(namespaces["warm"], project, "apply"))  # builds and loads the images
        refs = images_in(namespaces["warm"])
        run(kube(namespaces["warm"], project, "destroy", "--volumes", "--yes"))

        run([*docker_cmd, "apply"], env=docker_env)  # images built, volumes made: warm
        run([*docker_cmd, "destroy", "--volumes", "--yes"], env=docker_env)
        figures["docker: provisioner apply"] = run([*docker_cmd, "apply"], env=docker_env)

        figures["kubernetes: provisioner apply"] = run(kube(namespaces["prov"], project, "apply"))
        figures["kubernetes: provisioner apply (no-op)"] = run(
            kube(namespaces["prov"], project, "apply")
        )

        with tempfile.TemporaryDirectory() as folder:
            # The export names the provisioner image `<project>-provisioner:local` (no
            # override for it): load that tag too, outside the timing.
            subprocess.run(
                ["bash", str(HARNESS / "load-images.sh"), f"{project}-provisioner:local"],
                env={**os.environ, "K8S_HOME": str(K8S_HOME)},
                check=True,
                capture_output=True,
            )
            overrides = [f"--image={n}={r}" for n, r in refs.items() if n != "db-migrate"]
            run([*BASE, "-p", project, "export", "kubernetes", "-o", folder, *overrides])
            ns = namespaces["kubectl"]
            started = time.perf_counter()
            run(kubectl(ns, "create", "namespace", ns))
            run(kubectl(ns, "apply", "-k", folder))
            run(
                kubectl(
                    ns, "wait", "--for=condition=available", "deployment", "--all", "--timeout=300s"
                )
            )
            for sts in ("postgres", "redis", "rabbitmq"):
                run(kubectl(ns, "rollout", "status", f"statefulset/{sts}", "--timeout=300s"))
            run(kubectl(ns, "wait", "--for=condition=complete", "job", "--all", "--timeout=300s"))
            figures["kubernetes: kubectl apply -k + kubectl wait"] = time.perf_counter() - started
    finally:
        run([*docker_cmd, "destroy", "--volumes", "--yes"], env=docker_env, check=False)
        for ns in namespaces.values():
            run(kubectl(ns, "delete", "namespace", ns, "--wait=false"), check=False)

    load = os.getloadavg()[0]
    print(f"cold apply to ready, one run each (load average {load:.1f} on {os.cpu_count()} cores)")
    for name, seconds in figures.items():
        print(f"  {name:45s} {seconds:6.1f}s")
    base = figures["kubernetes: kubectl apply -k + kubectl wait"]
    print(
        "ratios: provisioner on kubernetes / kubectl baseline = "
        f"{figures['kubernetes: provisioner apply'] / base:.2f}x; "
        "provisioner on kubernetes / provisioner on docker = "
        f"{figures['kubernetes: provisioner apply'] / figures['docker: provisioner apply']:.2f}x"
    )


if __name__ == "__main__":
    main()
