"""Small readers of Kubernetes objects (plain dicts) for the deploy tests, and where things are.

(Test modules import from here, never from ``conftest``: with several conftest.py
files in the suite, ``import conftest`` may find another one.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = ROOT / "deploy"

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
CLUSTER_SCOPED_KINDS = (
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
)

# The four calcwire services: Deployment name -> Python package run by `python -m`.
SERVICES = {
    "gateway": "gateway",
    "import-svc": "import_svc",
    "eval-svc": "eval_svc",
    "validation-svc": "validation_svc",
}
BACKENDS = ("import-svc", "eval-svc", "validation-svc")
SECRET_KEYS = frozenset({"DATABASE_URL", "NATS_URL", "CALCWIRE_INTERNAL_SECRET"})
# What each service reads from the Secret calcwire-secrets (the gateway uses no NATS).
SERVICE_SECRET_KEYS = {
    "gateway": frozenset({"DATABASE_URL", "CALCWIRE_INTERNAL_SECRET"}),
    **{backend: SECRET_KEYS for backend in BACKENDS},
}


def name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def of_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o.get("kind") == kind]


def one(objects: Iterable[Obj], kind: str, object_name: str) -> Obj:
    found = [o for o in of_kind(objects, kind) if name(o) == object_name]
    assert len(found) == 1, f"expected one {kind}/{object_name}, found {len(found)}"
    return found[0]


def workloads(objects: Iterable[Obj]) -> list[Obj]:
    return [o for o in objects if o.get("kind") in WORKLOAD_KINDS]


def pod_template(workload: Obj) -> Obj:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: Obj = spec["template"]
    return template


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = pod_template(workload)["spec"]
    return spec


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = pod_template(workload).get("metadata", {}).get("labels", {})
    return labels


def containers(workload: Obj, *, init: bool = True) -> Iterator[Obj]:
    spec = pod_spec(workload)
    yield from spec.get("containers", [])
    if init:
        yield from spec.get("initContainers", [])


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector selects ``labels`` (an empty selector selects all)."""
    if selector is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = (
            expression["key"],
            expression["operator"],
            expression.get("values", []),
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def env_of(container: Obj, config_maps: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The container's plain environment: envFrom ConfigMaps, then literal env values."""
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment.update(config_maps[source["configMapRef"]["name"]])
    for variable in container.get("env", []):
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
    return environment


def config_maps(objects: Iterable[Obj]) -> dict[str, dict[str, str]]:
    return {name(o): dict(o.get("data", {})) for o in of_kind(objects, "ConfigMap")}


def secret_refs(container: Obj) -> list[tuple[str, str | None]]:
    """(secret name, key or None for a whole-Secret envFrom) that a container reads."""
    refs: list[tuple[str, str | None]] = []
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            refs.append((source["secretRef"]["name"], None))
    for variable in container.get("env", []):
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs.append((ref["name"], ref["key"]))
    return refs


def base_name(generated: str) -> str:
    """A generated ConfigMap/Secret name without kustomize's hash suffix."""
    head, _, suffix = generated.rpartition("-")
    return head if head and len(suffix) == 10 and suffix.isalnum() else generated


def port_of(host_port: str) -> int:
    return int(host_port.rpartition(":")[2])
