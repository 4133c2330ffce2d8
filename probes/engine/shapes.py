"""The shape of the fields a reader takes from untrusted JSON or YAML, checked before it reads them.

A shape is a type (`MAPPING`, `STRING`, `INTEGER`, `SCALAR`), a dict of the fields of a mapping (each
optional; a field not listed may hold anything), `{ANY: shape}` for a mapping whose every value has
that shape, or `[shape]` for a list whose every element has it. A listed field left empty (`image:`,
null) is absent: `misfit` removes it, so that no reader meets None where it expects a string.

Kubernetes objects in a bundle: the API server refuses an object whose `spec.template.spec` is a list
or whose `env` entries are strings, so a live cluster never holds one; a bundle may. Judged as it is,
such an object would make a probe raise (an error result naming a Python exception, not the field) or
stop the whole run. A bundle is checked against the shapes below instead (`fit`), and an object that
does not fit is refused with its file, document, line and field, as `kubectl apply` would refuse it.
SARIF files are checked the same way (probes/engine/artifacts/sarif.py); a live cluster's lists only
for items that are objects with metadata (probes/cluster_collector.py).
"""
ANY = "*"
MAPPING = {}
STRING, INTEGER, SCALAR = "a string", "a whole number", "a string, number or boolean"

LABELS = {ANY: SCALAR}  # values are strings to the API server; Helm output sometimes has numbers
SELECTOR = {"matchLabels": LABELS, "matchExpressions": [{"key": STRING, "operator": STRING, "values": [SCALAR]}]}
QUANTITIES = {ANY: SCALAR}
CONTAINER = {
    "name": STRING,
    "image": STRING,
    "env": [{"name": STRING, "valueFrom": {"secretKeyRef": MAPPING, "configMapKeyRef": MAPPING}}],
    "envFrom": [{"secretRef": MAPPING, "configMapRef": MAPPING}],
    "ports": [MAPPING],
    "resources": {"limits": QUANTITIES, "requests": QUANTITIES},
    "securityContext": {"capabilities": {"add": [STRING], "drop": [STRING]}, "seccompProfile": MAPPING},
    "livenessProbe": MAPPING,
    "readinessProbe": MAPPING,
    "startupProbe": MAPPING,
    "volumeMounts": [MAPPING],
}
TERM = {"labelSelector": SELECTOR, "topologyKey": STRING}
POD_SPEC = {
    "containers": [CONTAINER],
    "initContainers": [CONTAINER],
    "ephemeralContainers": [CONTAINER],
    "volumes": [{"configMap": MAPPING, "secret": MAPPING, "persistentVolumeClaim": MAPPING, "hostPath": MAPPING,
                 "emptyDir": MAPPING, "projected": MAPPING}],
    "securityContext": {"seccompProfile": MAPPING},
    "imagePullSecrets": [MAPPING],
    "tolerations": [MAPPING],
    "topologySpreadConstraints": [TERM],
    "affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [TERM],
        "preferredDuringSchedulingIgnoredDuringExecution": [{"podAffinityTerm": TERM}]}},
    "nodeSelector": LABELS,
    "serviceAccountName": STRING,
}
TEMPLATE = {"metadata": {"labels": LABELS, "annotations": LABELS}, "spec": POD_SPEC}
WORKLOAD = {"selector": SELECTOR, "template": TEMPLATE, "replicas": INTEGER, "serviceName": STRING,
            "volumeClaimTemplates": [{"metadata": MAPPING, "spec": MAPPING}]}

# Every object: what the engine itself reads (names, owners, exemption annotations).
OBJECT = {"metadata": {"name": STRING, "namespace": STRING, "labels": LABELS, "annotations": LABELS,
                       "ownerReferences": [{"kind": STRING, "name": STRING}]},
          "spec": MAPPING, "status": MAPPING}
BY_KIND = {
    "apps/v1/Deployment": {"spec": WORKLOAD},
    "apps/v1/StatefulSet": {"spec": WORKLOAD},
    "apps/v1/DaemonSet": {"spec": WORKLOAD},
    "apps/v1/ReplicaSet": {"spec": WORKLOAD},
    "batch/v1/Job": {"spec": {"template": TEMPLATE}},
    "batch/v1/CronJob": {"spec": {"schedule": STRING, "jobTemplate": {"spec": {"template": TEMPLATE}}}},
    "v1/Pod": {"spec": POD_SPEC},
    "v1/Service": {"spec": {"selector": LABELS, "ports": [MAPPING], "type": STRING}},
    "networking.k8s.io/v1/Ingress": {"spec": {
        "ingressClassName": STRING,
        "defaultBackend": {"service": {"name": STRING}},
        "rules": [{"host": STRING, "http": {"paths": [{"path": STRING, "backend": {"service": {"name": STRING}}}]}}],
        "tls": [{"hosts": [STRING], "secretName": STRING}]}},
    "autoscaling/v2/HorizontalPodAutoscaler": {"spec": {
        "scaleTargetRef": {"kind": STRING, "name": STRING},
        "minReplicas": INTEGER, "maxReplicas": INTEGER,
        "metrics": [{"type": STRING, "resource": {"name": STRING, "target": {"averageUtilization": INTEGER}}}]}},
    "policy/v1/PodDisruptionBudget": {"spec": {"selector": SELECTOR}},
    "networking.k8s.io/v1/NetworkPolicy": {"spec": {"podSelector": SELECTOR, "policyTypes": [STRING],
                                                    "ingress": [MAPPING], "egress": [MAPPING]}},
    "monitoring.coreos.com/v1/ServiceMonitor": {"spec": {"selector": SELECTOR, "namespaceSelector": MAPPING,
                                                         "endpoints": [MAPPING]}},
    "monitoring.coreos.com/v1/PodMonitor": {"spec": {"selector": SELECTOR, "namespaceSelector": MAPPING,
                                                     "podMetricsEndpoints": [MAPPING]}},
    "v1/ConfigMap": {"data": {ANY: SCALAR}},
}


def fit(obj: dict, kind_id: str | None) -> str:
    """Where and how a Kubernetes object does not fit its kind's shape ("spec.template.spec must be
    a mapping, found a list"), or "" when it fits."""
    for shape in (OBJECT, BY_KIND.get(kind_id, MAPPING)):
        problem = misfit(obj, shape)
        if problem:
            return problem
    return ""


def misfit(value, shape) -> str:
    """Where and how `value` does not fit `shape`, or "" when it fits; the listed fields left empty
    are removed on the way."""
    found = _misfit(value, shape)
    if found is None:
        return ""
    steps, problem = found
    return f"{_path(reversed(steps)) or 'the object'} {problem}"


def _misfit(value, shape) -> tuple[list, str] | None:
    """None when `value` fits; else the steps to the misfit (innermost first) and what is wrong. The
    path is built only for a misfit: a 50 MB SARIF file holds a million fields that fit."""
    if isinstance(shape, str):
        return None if _is(value, shape) else ([], f"must be {shape}, found {_kind_of(value)}")
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [], f"must be a list, found {_kind_of(value)}"
        inner = shape[0]
        for i, element in enumerate(value):
            found = ([], "is empty") if element is None else _misfit(element, inner)
            if found is not None:
                found[0].append(i)
                return found
        return None
    if not isinstance(value, dict):
        return [], f"must be a mapping, found {_kind_of(value)}"
    if ANY in shape:
        pairs = ((key, shape[ANY]) for key in value)
    else:
        pairs = shape.items()
    for key, inner in pairs:
        element = value.get(key)
        if element is None:
            if key in value and ANY not in shape:
                del value[key]
            continue
        found = _misfit(element, inner)
        if found is not None:
            found[0].append(key)
            return found
    return None


def _path(steps) -> str:
    path = ""
    for step in steps:
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else str(step)
    return path


def _is(value, shape: str) -> bool:
    if shape == STRING:
        return isinstance(value, str)
    if shape == INTEGER:  # or one written as a string ("3"), which the probes read as the number
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.strip().isdigit())
    return isinstance(value, (str, int, float, bool))  # SCALAR


def _kind_of(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
