"""A mid-size, deterministic cluster snapshot with the variety the catalogue's shortcuts must honour.

Every probe case's objects, plus a few hundred generated workloads, Pods and Services whose
selectors use every form (matchLabels, each matchExpressions operator, namespaceSelector any and
matchNames, empty and missing selectors), exemptions with and without a reason (on objects, pod
templates and a whole namespace), injected sidecars, ReplicaSets present and absent, and Pods that
finished or were OOM-killed. Used to check that evaluation gives the same results however it is
computed.
"""
import copy
import random

from tests.probes.catalogue_cases import CASES
from tests.probes.probe_builders import container, deployment, hpa, namespace_obj, obj, pdb, pod_spec, service, snapshot

from probes.engine.exemptions import EXEMPT, EXEMPT_REASON
from probes.engine.snapshot import Snapshot

NAMESPACES = ["shop", "team-a", "team-b", "team-c", "monitoring", "kube-system", "legacy", "default"]
TIERS = ["web", "api", "worker", "batch"]
EXEMPTABLE = ["workloads.resources", "workloads.health-probes", "observability.metrics-scraped",
              "workloads.disruption-budgets", "security.non-root", "images.pinned-tags"]


def generated_snapshot(seed: int = 7, workloads: int = 240) -> Snapshot:
    rng = random.Random(seed)
    objects = [copy.deepcopy(o) for case in CASES for o in (*case.good, *case.bad)]
    objects += [_namespace(rng, ns) for ns in NAMESPACES]
    for i in range(workloads):
        objects += _workload(rng, i)
    objects += [_monitor(rng, i) for i in range(workloads // 3)]
    objects += [_limit_range(ns) for ns in NAMESPACES[1:3]]
    objects.append(service("kubernetes", "default"))
    snap = snapshot(*objects, live=True, server_version={"major": "1", "minor": "30", "gitVersion": "v1.30.4"})
    snap.missing.add("dapr.io/v1alpha1/Component")
    return snap


def _namespace(rng, name: str) -> dict:
    made = namespace_obj(name, labels={"env": rng.choice(["prod", "dev"]), "team": name})
    if name == "legacy":
        made = _exempt(made, "workloads.resources", "legacy namespace, ticket OPS-9")
    return made


def _workload(rng, i: int) -> list[dict]:
    ns, tier = rng.choice(NAMESPACES[:5] + ["legacy"]), rng.choice(TIERS)
    name = f"{tier}-{i:03d}"
    made = deployment(name, ns, replicas=rng.choice([1, 2, 3, None]), spec=pod_spec(_container(rng, name)))
    labels = {"app": name, "tier": tier, **({"track": "canary"} if rng.random() < 0.2 else {})}
    made["spec"]["template"]["metadata"]["labels"] = labels
    if made["spec"]["replicas"] is None:
        del made["spec"]["replicas"]
    if rng.random() < 0.3:
        del made["spec"]["template"]["spec"]["affinity"]
    kind = rng.choices(["Deployment", "StatefulSet", "DaemonSet", "CronJob"], [6, 2, 1, 1])[0]
    made = _as_kind(made, kind)
    if rng.random() < 0.1:
        made = _exempt(made, rng.choice(EXEMPTABLE), rng.choice(["vendor chart, ticket OPS-3", None]))
    out = [made]
    if kind in ("Deployment", "StatefulSet") and rng.random() < 0.7:
        out.append(_pdb(rng, name, ns, tier))
    if kind == "Deployment" and rng.random() < 0.5:
        out.append(hpa(name, ns, min_replicas=rng.choice([1, 2, None])))
    if kind != "CronJob":
        out.append(_service(rng, name, ns, labels))
    out += _pods(rng, made, kind, labels)
    return out


def _container(rng, name: str) -> dict:
    made = container(name, rng.choice([f"acme.azurecr.io/shop/{name}:1.0", f"docker.io/{name}:latest", f"{name}"]))
    for key in ("livenessProbe", "readinessProbe", "securityContext"):
        if rng.random() < 0.15:
            del made[key]
    for kind in ("requests", "limits"):
        if rng.random() < 0.15:
            del made["resources"][kind]
    if rng.random() < 0.1:
        made["env"].append({"name": "API_TOKEN", "value": "hunter2"})
    return made


def _as_kind(made: dict, kind: str) -> dict:
    if kind == "StatefulSet":
        made["apiVersion"] = "apps/v1"
    elif kind == "DaemonSet":
        made["spec"].pop("replicas", None)
    elif kind == "CronJob":
        template = made["spec"].pop("template")
        made["apiVersion"] = "batch/v1"
        made["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    made["kind"] = kind
    return made


def _exempt(made: dict, probe_id: str, reason: str | None) -> dict:
    notes = made["metadata"].setdefault("annotations", {})
    notes[EXEMPT] = probe_id
    if reason:
        notes[EXEMPT_REASON] = reason
    return made


def _pdb(rng, name: str, ns: str, tier: str) -> dict:
    selector = rng.choice([
        {"matchLabels": {"app": name}},
        {"matchLabels": {"tier": tier}},
        {"matchExpressions": [{"key": "app", "operator": "In", "values": [name, "other"]}]},
        {"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}], "matchLabels": {"app": name}},
        {"matchLabels": {"app": "nothing-here"}},
    ])
    made = pdb(name, ns, **rng.choice([{"maxUnavailable": 1}, {"maxUnavailable": 0}, {"minAvailable": "100%"}, {"minAvailable": 1}]))
    made["spec"]["selector"] = selector
    return made


def _service(rng, name: str, ns: str, labels: dict) -> dict:
    notes = {"prometheus.io/scrape": "true"} if rng.random() < 0.2 else None
    made = service(name, ns, labels=dict(labels), annotations=notes, type_=rng.choices(["ClusterIP", "ExternalName"], [9, 1])[0])
    if rng.random() < 0.1:
        made["metadata"]["name"] = f"{name}-dapr"
        made["metadata"].setdefault("annotations", {})["dapr.io/app-id"] = name
    if rng.random() < 0.05:
        made["metadata"].pop("labels")
    return made


def _pods(rng, workload: dict, kind: str, labels: dict) -> list[dict]:
    meta, pods = workload["metadata"], []
    owner = {"Deployment": ("ReplicaSet", f"{meta['name']}-5f6d7"), "CronJob": ("Job", f"{meta['name']}-2891")}
    owner_kind, owner_name = owner.get(kind, (kind, meta["name"]))
    if kind == "Deployment" and rng.random() < 0.5:
        replicaset = obj("apps/v1", "ReplicaSet", owner_name, meta["namespace"])
        replicaset["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": meta["name"], "controller": True}]
        pods.append(replicaset)
    for replica in range(rng.randint(0, 3)):
        containers = [container(meta["name"])]
        if rng.random() < 0.3:
            sidecar = container("daprd", "docker.io/daprio/daprd:1.13.0")
            sidecar.pop(rng.choice(["resources", "livenessProbe", "securityContext"]))
            containers.append(sidecar)
        pod = obj("v1", "Pod", f"{owner_name}-{replica:04d}{rng.choice('xyz')}", meta["namespace"], pod_spec(*containers))
        pod["metadata"]["labels"] = {**labels, "pod-template-hash": "5f6d7"}
        if rng.random() < 0.9:
            pod["metadata"]["ownerReferences"] = [{"kind": owner_kind, "name": owner_name, "controller": True}]
        last = {"terminated": {"reason": "OOMKilled"}} if rng.random() < 0.1 else {}
        pod["status"] = {"phase": rng.choices(["Running", "Succeeded", "Failed"], [8, 1, 1])[0],
                         "containerStatuses": [{"name": meta["name"], "restartCount": 2, "lastState": last}]}
        pods.append(pod)
    return pods


def _monitor(rng, i: int) -> dict:
    tier = rng.choice(TIERS)
    spec = {"endpoints": [{"port": "metrics"}]}
    selectors = [
        ({"matchLabels": {"app": f"{tier}-{rng.randrange(240):03d}"}}, 8),
        ({"matchLabels": {"tier": tier}}, 1),
        ({"matchLabels": {"tier": tier, "track": "canary"}}, 2),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": [tier, "web"]}]}, 1),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": [tier]}]}, 1),
        ({"matchExpressions": [{"key": "track", "operator": "Exists"}]}, 1),
        ({"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}], "matchLabels": {"tier": tier}}, 1),
        ({}, 1),
        (None, 1),
    ]
    selector = rng.choices([s for s, _ in selectors], [w for _, w in selectors])[0]
    if selector is not None:
        spec["selector"] = selector
    # Broad selectors stay inside named namespaces, or every Service would be scraped.
    broad = selector is not None and "app" not in selector.get("matchLabels", {})
    scope = rng.choice([{"matchNames": rng.sample(NAMESPACES, 1)}, {"matchNames": []}] if broad else [None, None, {"any": True}, {"matchNames": rng.sample(NAMESPACES, 2)}])
    if scope is not None:
        spec["namespaceSelector"] = scope
    return obj("monitoring.coreos.com/v1", "ServiceMonitor", f"sm-{i:03d}", rng.choice(NAMESPACES[:5]), spec)


def _limit_range(ns: str) -> dict:
    return obj("v1", "LimitRange", "defaults", ns, {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}}]})
