"""Small builders for Kubernetes objects and snapshots, so each probe test states only what matters."""
import copy

from probes.engine.outcome import Outcome
from probes.engine.evaluate import Binding, evaluate
from probes.engine.exemptions import EXEMPT, EXEMPT_REASON
from probes.engine.snapshot import Snapshot

NS = "shop"
DELETE = object()


def snapshot(*objects, live=False, server_version=None, missing=()) -> Snapshot:
    grouped: dict[str, list[dict]] = {}
    for obj in objects:
        grouped.setdefault(f"{obj['apiVersion']}/{obj['kind']}", []).append(copy.deepcopy(obj))
    return Snapshot("test", grouped, set(missing), server_version, live)


def run(probe_id: str, snap: Snapshot, params: dict | None = None, allow_exemptions: bool = True) -> Outcome:
    [result] = evaluate(snap, [Binding(probe_id, params or {}, ())], allow_exemptions=allow_exemptions)
    return result.outcome


def setp(obj: dict, path: str, value) -> dict:
    """A deep copy of `obj` with the dotted path set (list steps by index or by `name`)."""
    obj = copy.deepcopy(obj)
    steps = path.split(".")
    node = obj
    for step in steps[:-1]:
        node = _step(node, step, create=True)
    last = steps[-1]
    if isinstance(node, list):
        index = _index(node, last)
        if value is DELETE:
            del node[index]
        else:
            node[index] = value
    elif value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return obj


def _step(node, step, create):
    if isinstance(node, list):
        return node[_index(node, step)]
    if step not in node and create:
        node[step] = {}
    return node[step]


def _index(items: list, step: str) -> int:
    if step.isdigit():
        return int(step)
    return next(i for i, item in enumerate(items) if item.get("name") == step)


def exempt(obj: dict, probe_id: str, reason: str | None = "accepted risk, ticket OPS-1") -> dict:
    obj = copy.deepcopy(obj)
    notes = obj.setdefault("metadata", {}).setdefault("annotations", {})
    notes[EXEMPT] = probe_id
    if reason is not None:
        notes[EXEMPT_REASON] = reason
    return obj


def meta(name: str, ns: str | None = NS, labels=None, annotations=None) -> dict:
    metadata = {"name": name}
    if ns is not None:
        metadata["namespace"] = ns
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def container(name="app", image="acme.azurecr.io/shop/api:1.4.2") -> dict:
    """A container that satisfies every container probe."""
    return {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
    }


def pod_spec(*containers_) -> dict:
    spec = {
        "containers": list(containers_) or [container()],
        "imagePullSecrets": [{"name": "registry"}],
        "securityContext": {"runAsNonRoot": True},
    }
    return spec


def deployment(name="api", ns=NS, replicas=2, spec=None, pod_annotations=None, annotations=None) -> dict:
    """A Deployment that satisfies every workload probe (with the PDB, HPA and Service below)."""
    labels = {"app": name}
    template_spec = copy.deepcopy(spec) if spec else pod_spec()
    template_spec.setdefault(
        "affinity",
        {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": labels}}}]}},
    )
    pod_notes = {"dapr.io/enabled": "true", "dapr.io/app-id": name, **(pod_annotations or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, ns, labels, annotations),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels, "annotations": pod_notes}, "spec": template_spec},
        },
    }


def pdb(name="api", ns=NS, **spec) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(name, ns),
        "spec": {"selector": {"matchLabels": {"app": name}}, **(spec or {"maxUnavailable": 1})},
    }


def hpa(name="api", ns=NS, min_replicas=2, max_replicas=10, cpu=70, kind="Deployment") -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name}, "maxReplicas": max_replicas}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if cpu is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, ns), "spec": spec}


def service(name="api", ns=NS, labels=None, type_="ClusterIP", ports=None, annotations=None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, ns, labels or {"app": name}, annotations),
        "spec": {"type": type_, "selector": {"app": name}, "ports": ports or [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


def namespace_obj(name=NS, labels=None, annotations=None) -> dict:
    default = {"pod-security.kubernetes.io/enforce": "restricted"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, default if labels is None else labels, annotations)}


def node(name, zone="eu-1a", cpu="4", memory="16Gi", ready=True, taints=None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(name, None, {"topology.kubernetes.io/zone": zone} if zone else {}),
        "spec": {"taints": taints or []},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def obj(api_version: str, kind: str, name: str, ns: str | None = NS, spec=None, **extra) -> dict:
    """Any other object: apiVersion, kind, metadata and spec."""
    made = {"apiVersion": api_version, "kind": kind, "metadata": meta(name, ns)}
    if spec is not None:
        made["spec"] = spec
    made.update(extra)
    return made
