"""Find the kubeconfig as kubectl does, open a client, and explain failures in one paragraph."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lightkube import ApiError, Client, KubeConfig
from lightkube.core.exceptions import ConfigError

from provisioner.errors import ProvisionerError

FIELD_MANAGER = "provisioner"


class KubeUnavailable(ProvisionerError):
    """The cluster cannot be reached, or the kubeconfig cannot be used."""


@dataclass(frozen=True)
class Target:
    client: Client
    namespace: str
    context: str
    server: str
    kubeconfig: Path


def kubeconfig_path(explicit: Path | None, environ: dict[str, str] | None = None) -> Path:
    """--kubeconfig, else the first file in $KUBECONFIG, else ~/.kube/config (kubectl's order).

    kubectl merges every file listed in $KUBECONFIG; we use the first that exists, which
    is the one whose settings win in kubectl's merge for the current context.
    """
    if explicit is not None:
        return explicit
    env = os.environ if environ is None else environ
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    for candidate in listed:
        if Path(candidate).is_file():
            return Path(candidate)
    if listed:
        return Path(listed[0])
    return Path.home() / ".kube" / "config"


def connect(kubeconfig: Path | None, context: str | None, namespace: str | None) -> Target:
    path = kubeconfig_path(kubeconfig)
    if not path.is_file():
        raise KubeUnavailable(
            f"No kubeconfig at {path}. Pass --kubeconfig FILE, set KUBECONFIG, or create "
            "~/.kube/config (kind, k3d and minikube write one). Nothing was changed."
        )
    try:
        config = KubeConfig.from_file(path).get(context_name=context)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        where = f"context '{context}'" if context else "its current context"
        raise KubeUnavailable(
            f"Cannot use {where} from kubeconfig {path}: {exc}. Pass --context NAME with "
            "one of its contexts. Nothing was changed."
        ) from None
    assert config is not None
    chosen = namespace or config.namespace or "default"
    client = Client(config=config, namespace=chosen, field_manager=FIELD_MANAGER, trust_env=False)
    target = Target(client, chosen, config.context_name, config.cluster.server, path)
    check_reachable(target)
    return target


def check_reachable(target: Target) -> None:
    """One cheap read of the namespace: unreachable, unauthorised and missing all show here."""
    from lightkube.resources.core_v1 import Namespace

    try:
        target.client.get(Namespace, target.namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return  # created on apply; read commands report an empty namespace
        if exc.status.code == 403:
            return  # may still hold namespaced rights; the first namespaced call tells
        raise api_failure(target, "read the namespace", exc) from None
    except Exception as exc:  # httpx2 transport errors, TLS, DNS: no common base to name
        raise unreachable(target, exc) from None


def unreachable(target: Target, exc: BaseException) -> KubeUnavailable:
    return KubeUnavailable(
        f"Cannot reach the Kubernetes API server at {target.server} (context "
        f"'{target.context}' in {target.kubeconfig}): {_short(exc)}. Check that the cluster "
        "is running and that this kubeconfig points at it. Nothing was changed."
    )


def api_failure(target: Target, doing: str, exc: ApiError) -> ProvisionerError:
    code = exc.status.code
    message = exc.status.message or str(exc)
    if code in (401, 403):
        return KubeUnavailable(
            f"The cluster refused to {doing} in namespace '{target.namespace}' as the user of "
            f"context '{target.context}' ({code}: {message}). Use a namespace this user may "
            "manage (--namespace), or a context with the rights (--context). "
        )
    return ProvisionerError(
        f"The Kubernetes API server could not {doing} in namespace '{target.namespace}' "
        f"({code}: {message})."
    )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
