"""apply, diff, destroy and status on a Kubernetes cluster (`--target kubernetes`)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Mapping
from typing import Any

from provisioner.cli.progress import Progress
from provisioner.cli.render import table
from provisioner.errors import ProvisionerError, ServiceFailed
from provisioner.kube import cluster, images
from provisioner.kube.connect import Target, connect
from provisioner.kube.desired import desired_objects, service_of
from provisioner.kube.ownership import PROJECT, owner_labels
from provisioner.kube.plan import (
    ObjectPlan,
    has_changes,
    plan_object,
    removals,
    render_json,
    render_text,
)
from provisioner.kube.readiness import job_failed, pod_note, pod_problem, ready
from provisioner.masking import mask_value
from provisioner.stackfile.loader import LoadedStack, load_stack

WAIT_KINDS = ("PersistentVolumeClaim", "StatefulSet", "Deployment", "Job")
POLL_S = 1.0


def _load(args: argparse.Namespace) -> LoadedStack:
    loaded = load_stack(args.files, args.env_files, project_name=args.project_name)
    if getattr(args, "services", None):
        raise ProvisionerError(
            "Naming services is not supported with --target kubernetes yet: the whole stack "
            "is applied. Run the command without service names."
        )
    return loaded


def _connect(args: argparse.Namespace) -> Target:
    return connect(args.kubeconfig, args.context, args.namespace)


def _publish(args: argparse.Namespace) -> images.Publish:
    if args.registry and args.load_images_with:
        raise ProvisionerError(
            "Give either --registry or --load-images-with, not both: built images are either "
            "pushed to a registry the cluster pulls from or loaded into the cluster directly."
        )
    return images.Publish(args.registry, args.load_images_with)


# ---- images ---------------------------------------------------------------------------


def _image_overrides(
    loaded: LoadedStack,
    target: Target,
    publish: images.Publish,
    progress: Progress,
    *,
    build: bool,
) -> dict[str, str]:
    """Build (when `build`) and publish the stack's own images; their refs by service name.

    Without `build` (diff), an image whose build context changed gets a placeholder ref,
    so the plan shows the image change without building anything.
    """
    from provisioner.core.desired import resolve
    from provisioner.digest import DiskContents
    from provisioner.engine import docker_api
    from provisioner.kube.builds import built_images

    items = built_images(loaded, resolve(loaded, DiskContents()))
    if not items:
        return {}
    client = docker_api.connect()
    refs: dict[str, str] = {}
    new_tags: list[str] = []
    for key, item in items.items():
        spec = item.spec
        if build:
            image_id = images.ensure_built(
                client, loaded.stack.project, spec, item.digest, progress
            )
        else:
            image_id = images.current_id(client, spec, item.digest) or "sha256:" + "0" * 12
        ref = images.content_ref(spec.image, image_id, publish.registry)
        if build:
            if publish.registry and not images.exists_locally(client, ref):
                new_tags.append(ref)  # ours to take back if a push fails
            images.tag(client, spec.image, ref)
        refs[key] = ref
    if not build:
        return refs
    if publish.registry:
        try:
            for key, ref in refs.items():
                progress.service(key, f"pushing {ref}")
                images.push(client, ref, key)
        except ProvisionerError:
            for ref in new_tags:  # a failed apply leaves no name for a registry behind
                images.untag(client, ref)
            raise
    else:
        _load_or_check(loaded, target, publish, refs, progress)
    return refs


def _load_or_check(
    loaded: LoadedStack,
    target: Target,
    publish: images.Publish,
    refs: dict[str, str],
    progress: Progress,
) -> None:
    on_nodes = cluster.node_images(target)
    if on_nodes is None:
        return  # nodes are not ours to list; a missing image shows while waiting
    built = images.missing_on_nodes(refs.values(), on_nodes)
    if publish.load_with:
        from provisioner.engine import docker_api

        client = docker_api.connect()
        plain = [
            s.image
            for s in loaded.stack.services.values()
            if s.image and not s.build and images.exists_locally(client, s.image)
        ]
        wanted = built + images.missing_on_nodes(plain, on_nodes)
        if wanted:
            images.load(publish.load_with, sorted(set(wanted)), progress)
        return
    if built:
        raise ProvisionerError(
            f"The cluster has no image {', '.join(built)}, which the stack builds. Make it "
            "available: --registry HOST[:PORT] pushes built images to a registry the "
            "cluster pulls from; --load-images-with CMD loads them into a local cluster "
            "(for kind: --load-images-with 'kind load docker-image'). Nothing was changed."
        )


# ---- planning -------------------------------------------------------------------------


def _plans(
    target: Target, project: str, objects: list[dict[str, Any]], services: Mapping[str, Any]
) -> tuple[list[ObjectPlan], dict[tuple[str, str], dict[str, Any] | None]]:
    lives: dict[tuple[str, str], dict[str, Any] | None] = {}
    plans: list[ObjectPlan] = []
    for obj in objects:
        live = cluster.get(target, obj["kind"], obj["metadata"]["name"])
        _refuse_foreign(target, project, obj, live)
        lives[cluster.key(obj)] = live
        after = cluster.apply(target, obj, dry_run=True)
        plans.append(plan_object(obj, live, after, service_of(obj, services)))
    owned = list(cluster.owned_everything(target, project))
    plans += removals({cluster.key(o) for o in objects}, owned, lambda o: service_of(o, services))
    return plans, lives


def _refuse_foreign(
    target: Target, project: str, obj: dict[str, Any], live: dict[str, Any] | None
) -> None:
    if live is None:
        return
    labels = (live.get("metadata") or {}).get("labels") or {}
    if labels.get(PROJECT) == project:
        return
    owner = f"project '{labels[PROJECT]}'" if labels.get(PROJECT) else "nobody we know"
    raise ProvisionerError(
        f"{obj['kind']} '{obj['metadata']['name']}' already exists in namespace "
        f"'{target.namespace}' and belongs to {owner}, not to project '{project}'. It was "
        "left alone and nothing was changed: use another namespace (--namespace NS) or "
        "remove that object yourself."
    )


# ---- diff -------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    loaded = _load(args)
    target = _connect(args)
    project = loaded.stack.project
    refs = _image_overrides(loaded, target, _publish(args), Progress(quiet=True), build=False)
    objects = desired_objects(loaded, target.namespace, refs)
    if not _namespace_exists(target):
        plans = [
            ObjectPlan(o["kind"], o["metadata"]["name"], service_of(o), "create") for o in objects
        ]
    else:
        plans, _ = _plans(target, project, objects, loaded.stack.services)
    render = render_json if args.json else render_text
    print(render(plans, target.namespace, project, args.show_secrets))
    return 2 if has_changes(plans) else 0


def _namespace_exists(target: Target) -> bool:
    from lightkube import ApiError
    from lightkube.resources.core_v1 import Namespace

    try:
        target.client.get(Namespace, target.namespace)
    except ApiError as exc:
        return exc.status.code != 404
    return True


# ---- apply ------------------------------------------------------------------------------


def cmd_apply(args: argparse.Namespace) -> int:
    started = time.monotonic()
    loaded = _load(args)
    target = _connect(args)
    project = loaded.stack.project
    progress = Progress()
    refs = _image_overrides(loaded, target, _publish(args), progress, build=True)
    objects = desired_objects(loaded, target.namespace, refs)
    cluster.ensure_namespace(target)
    plans, _ = _plans(target, project, objects, loaded.stack.services)
    try:
        for obj, plan in zip(objects, plans, strict=False):
            if plan.action != "unchanged":
                cluster.apply(target, obj)
                progress.service(
                    plan.service or plan.name, f"{plan.kind}/{plan.name} {plan.action}d"
                )
        for plan in plans[len(objects) :]:
            progress.service(plan.service or plan.name, f"deleting {plan.kind}/{plan.name}")
            cluster.delete(target, plan.kind, plan.name)
        _wait_ready(target, project, objects, progress, args.timeout)
    except KeyboardInterrupt:
        raise ProvisionerError(
            "Interrupted. What was applied stays; run `apply` again to finish converging."
        ) from None
    print(_summary(args, loaded, target, objects, plans, time.monotonic() - started))
    return 0


def _wait_ready(
    target: Target,
    project: str,
    objects: list[dict[str, Any]],
    progress: Progress,
    timeout: float,
) -> None:
    pending = {cluster.key(o): o for o in objects if o["kind"] in WAIT_KINDS}
    last_state: dict[tuple[str, str], str] = {}
    notes: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for key, obj in list(pending.items()):
            live = cluster.get(target, *key)
            if live is None:
                continue
            done, state = ready(live)
            name = service_of(obj) or key[1]
            if last_state.get(key) != state:
                last_state[key] = state
                progress.service(name, f"{key[0]}/{key[1]}: {state}", ok=True if done else None)
            if done:
                del pending[key]
            elif key[0] == "Job" and job_failed(live):
                raise _job_failure(target, key[1])
        if not pending:
            return
        for pod in cluster.list_pods(target, owner_labels(project)):
            problem = pod_problem(pod)
            name = pod["metadata"]["name"]
            if problem:
                raise ServiceFailed(
                    f"Pod {name} cannot start: {problem[0]} for image {problem[1].strip()}. "
                    "The image is missing from the cluster or cannot be pulled: check its "
                    "name, then push it where the cluster pulls from (--registry) or load it "
                    "(--load-images-with). Run `apply` again after fixing it."
                )
            notes[name] = pod_note(pod)
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{k[0]}/{k[1]}" for k in pending)
            detail = "; ".join(f"{pod}: {note}" for pod, note in sorted(notes.items()))
            raise ServiceFailed(
                f"Timed out after {timeout:.0f}s waiting for {waiting} in namespace "
                f"'{target.namespace}'. Pods: {detail or 'none'}. Inspect with "
                f"`kubectl -n {target.namespace} describe pod` and run `apply` again."
            )
        time.sleep(POLL_S)


def _job_failure(target: Target, job: str) -> ServiceFailed:
    pods = cluster.list_pods(target, {"job-name": job})
    tail = cluster.pod_log_tail(target, pods[-1]["metadata"]["name"]) if pods else ""
    return ServiceFailed(
        f"The migrations and seeds Job {job} failed in namespace '{target.namespace}'. "
        f"Fix the migration or seed and run `apply` again. Its last output:\n{tail}"
    )


def _summary(
    args: argparse.Namespace,
    loaded: LoadedStack,
    target: Target,
    objects: list[dict[str, Any]],
    plans: list[ObjectPlan],
    elapsed: float,
) -> str:
    project = loaded.stack.project
    actions: dict[str, set[str]] = {}
    for plan in plans:
        actions.setdefault(plan.service or plan.name, set()).add(plan.action)
    rows = []
    for name, service in loaded.stack.services.items():
        done = actions.get(name, {"unchanged"})
        action = next((a for a in ("create", "update", "delete") if a in done), "unchanged")
        urls = " ".join(mask_value("url", u, args.show_secrets) for u in service.urls.values())
        rows.append(
            [name, {"create": "created", "update": "updated"}.get(action, action), "ready", urls]
        )
    lines = []
    if has_changes(plans):
        lines.append(
            f"Applied project '{project}' to namespace '{target.namespace}' (context "
            f"'{target.context}') in {elapsed:.1f}s."
        )
    else:
        lines.append(
            f"No changes: project '{project}' in namespace '{target.namespace}' already "
            f"matches the stack ({len(rows)} service(s) ready)."
        )
    lines.append(table(rows, ["SERVICE", "ACTION", "STATE", "URL (after port-forward)"]))
    jobs = [o["metadata"]["name"] for o in objects if o["kind"] == "Job"]
    if jobs:
        lines.append(f"Migrations and seeds: Job {', '.join(jobs)} complete.")
    forwards = port_forward_commands(args, target, loaded, objects)
    if forwards:
        lines.append("Reach the services on localhost (each command runs until Ctrl-C):")
        lines.extend(f"  {command}" for command in forwards)
    return "\n".join(lines)


def port_forward_commands(
    args: argparse.Namespace, target: Target, loaded: LoadedStack, objects: list[dict[str, Any]]
) -> list[str]:
    """`kubectl port-forward` per service with published ports: the stack's localhost URLs."""
    base = ["kubectl"]
    if args.kubeconfig:
        base += ["--kubeconfig", str(args.kubeconfig)]
    base += ["--context", target.context, "-n", target.namespace, "port-forward"]
    services = {
        service_of(o, loaded.stack.services): o["metadata"]["name"]
        for o in objects
        if o["kind"] == "Service" and (o.get("spec") or {}).get("clusterIP") != "None"
    }
    commands = []
    for name, service in loaded.stack.services.items():
        pairs = [f"{p.published}:{p.target}" for p in service.ports if p.published]
        if pairs and name in services:
            commands.append(shlex.join([*base, f"svc/{services[name]}", *pairs]))
    return commands


# ---- destroy ------------------------------------------------------------------------------


def cmd_destroy(args: argparse.Namespace) -> int:
    loaded = _load(args)
    target = _connect(args)
    project = loaded.stack.project
    progress = Progress()
    claims = cluster.list_owned(target, "PersistentVolumeClaim", project) if args.volumes else []
    claim_names = [c["metadata"]["name"] for c in claims]
    if claim_names and not args.yes:
        _confirm(project, target.namespace, claim_names)
    owned = list(cluster.owned_everything(target, project))
    for obj in owned:
        progress.service(
            service_of(obj) or obj["metadata"]["name"],
            f"deleting {obj['kind']}/{obj['metadata']['name']}",
        )
        cluster.delete(target, obj["kind"], obj["metadata"]["name"])
    _wait_gone(target, project, ["Pod", *cluster.OWNED_KINDS], args.timeout)
    for name in claim_names:
        progress.service(name, f"deleting PersistentVolumeClaim/{name}")
        cluster.delete(target, "PersistentVolumeClaim", name)
    if claim_names:
        _wait_gone(target, project, ["PersistentVolumeClaim"], args.timeout)
    kept = (
        ""
        if args.volumes
        else " Volumes (PersistentVolumeClaims) were kept; --volumes deletes them."
    )
    if not owned and not claim_names:
        print(
            f"Nothing to destroy for project '{project}' in namespace '{target.namespace}'.{kept}"
        )
    else:
        deleted = f" Deleted claims: {', '.join(claim_names)}." if claim_names else ""
        print(
            f"Destroyed project '{project}' in namespace '{target.namespace}': "
            f"{len(owned)} object(s).{deleted}{kept}"
        )
    return 0


def _confirm(project: str, namespace: str, claims: list[str]) -> None:
    listing = ", ".join(claims)
    if not sys.stdin.isatty():
        raise ProvisionerError(
            f"destroy --volumes would delete the data in {listing} of project '{project}' in "
            f"namespace '{namespace}'. Nothing was changed: there is no terminal to ask on, so "
            "pass --yes to confirm."
        )
    print(f"This deletes the claims {listing} and all data in them.", file=sys.stderr)
    if input(f"Type the project name ({project}) to confirm: ").strip() != project:
        raise ProvisionerError("Not confirmed; nothing was changed.")


def _wait_gone(target: Target, project: str, kinds: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for kind in kinds:
            if kind == "Pod":
                left += [
                    f"Pod/{p['metadata']['name']}"
                    for p in cluster.list_pods(target, owner_labels(project))
                ]
            else:
                left += [
                    f"{kind}/{o['metadata']['name']}"
                    for o in cluster.list_owned(target, kind, project)
                ]
        if not left:
            return
        if time.monotonic() > deadline:
            raise ServiceFailed(
                f"Timed out after {timeout:.0f}s waiting for {', '.join(left)} to be deleted in "
                f"namespace '{target.namespace}'. Run `destroy` again."
            )
        time.sleep(POLL_S)


# ---- status -------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    loaded = _load(args)
    target = _connect(args)
    project = loaded.stack.project
    services = loaded.stack.services
    owned = list(cluster.owned_everything(target, project))
    claims = cluster.list_owned(target, "PersistentVolumeClaim", project)
    pods = cluster.list_pods(target, owner_labels(project))
    rows: list[dict[str, Any]] = []
    for name, service in services.items():
        workloads = [
            o
            for o in owned
            if o["kind"] in ("StatefulSet", "Deployment") and service_of(o, services) == name
        ]
        entry: dict[str, Any] = {
            "service": name,
            "kind": "-",
            "state": "absent",
            "restarts": 0,
            "urls": {k: mask_value("url", v, args.show_secrets) for k, v in service.urls.items()},
        }
        if workloads:
            workload = workloads[0]
            done, state = ready(workload)
            entry["kind"] = workload["kind"]
            entry["object"] = workload["metadata"]["name"]
            entry["state"] = state if done else f"{state} (not ready)"
            mine = [p for p in pods if _pod_of(p, workload)]
            entry["restarts"] = sum(
                c.get("restartCount", 0)
                for p in mine
                for c in (p.get("status") or {}).get("containerStatuses") or []
            )
        rows.append(entry)
    jobs = [
        {"job": o["metadata"]["name"], "state": ready(o)[1]} for o in owned if o["kind"] == "Job"
    ]
    claim_rows = [{"claim": c["metadata"]["name"], "state": ready(c)[1]} for c in claims]
    if args.json:
        print(
            json.dumps(
                {
                    "project": project,
                    "namespace": target.namespace,
                    "context": target.context,
                    "services": rows,
                    "jobs": jobs,
                    "claims": claim_rows,
                },
                indent=2,
            )
        )
        return 0
    print(f"Project '{project}' in namespace '{target.namespace}' (context '{target.context}')")
    print(
        table(
            [
                [
                    r["service"],
                    r["kind"],
                    r["state"],
                    str(r["restarts"]),
                    " ".join(r["urls"].values()),
                ]
                for r in rows
            ],
            ["SERVICE", "KIND", "STATE", "RESTARTS", "URL (after port-forward)"],
        )
    )
    for job in jobs:
        print(f"Job {job['job']}: {job['state']}")
    for claim in claim_rows:
        print(f"Claim {claim['claim']}: {claim['state']}")
    return 0


def _pod_of(pod: dict[str, Any], workload: dict[str, Any]) -> bool:
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())
