"""Pod specs to judge: the templates of workloads and, on a live cluster, the running Pods.

Templates say what the team asked for; running Pods add what admission changed: injected sidecars
(daprd, istio-proxy) and LimitRange defaults. To keep findings readable a Pod is judged only on the
containers its workload's template does not already hold, and only one Pod per workload.
"""
import re
from dataclasses import dataclass, field

from probes.engine.objects import annotations, dig, labels, name, namespace
from probes.engine.scope import AppScope, app_namespaces, in_scope, namespaces_of, scope_key
from probes.engine.snapshot import Snapshot

DEPLOYMENT = "apps/v1/Deployment"
STATEFULSET = "apps/v1/StatefulSet"
DAEMONSET = "apps/v1/DaemonSet"
CRONJOB = "batch/v1/CronJob"
POD = "v1/Pod"
REPLICASET = "apps/v1/ReplicaSet"
LIMITRANGE = "v1/LimitRange"

# Where each workload kind keeps its pod template.
TEMPLATE_PATHS = {
    DEPLOYMENT: "spec.template",
    STATEFULSET: "spec.template",
    DAEMONSET: "spec.template",
    CRONJOB: "spec.jobTemplate.spec.template",
}
WORKLOADS = tuple(TEMPLATE_PATHS)
# What a probe judging containers must ask the collector for.
CONTAINER_KINDS = (*WORKLOADS, POD, REPLICASET, LIMITRANGE, "v1/Namespace")
SERVICES = (DEPLOYMENT, STATEFULSET)  # long-running, replicated: what the seed calls "services"


# PodSpec and Container are frozen, and set their fields in their own __init__ through the
# instance dict: the generated one calls object.__setattr__ for each field, which costs more than
# most probes' judging of the spec, thousands of specs and containers a run.


@dataclass(frozen=True, init=False)
class PodSpec:
    object: str  # "namespace/Kind/name" of the workload or Pod
    kind_id: str
    obj: dict
    namespace: str
    path: str  # JSON path of the pod spec inside the object
    spec: dict
    labels: dict  # the pods' labels
    annotations: dict  # the pods' annotations
    running: bool = False
    judged_on_template: frozenset = frozenset()  # container names already judged on the template
    # `containers()` answers, worked out once: a dozen probes judge the containers of each spec.
    _containers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __init__(self, object: str, kind_id: str, obj: dict, namespace: str, path: str, spec: dict,
                 labels: dict, annotations: dict, running: bool = False,
                 judged_on_template: frozenset = frozenset()):
        self.__dict__.update(object=object, kind_id=kind_id, obj=obj, namespace=namespace, path=path,
                             spec=spec, labels=labels, annotations=annotations, running=running,
                             judged_on_template=judged_on_template, _containers={})


@dataclass(frozen=True, init=False)
class Container:
    # The pod's object ref and spec rather than its PodSpec, which caches its Containers: a
    # reference back would make a cycle, keeping a dropped snapshot's objects until the collector runs.
    object: str  # "namespace/Kind/name" of the workload or Pod, as findings name it
    pod_spec: dict  # the pod spec the container belongs to (pod-level defaults live there)
    spec: dict
    path: str  # e.g. "spec.template.spec.containers[app]"
    init: bool

    def __init__(self, object: str, pod_spec: dict, spec: dict, path: str, init: bool):
        values = self.__dict__
        values["object"], values["pod_spec"], values["spec"] = object, pod_spec, spec
        values["path"], values["init"] = path, init

    @property
    def name(self) -> str:
        return self.spec.get("name", "")

    def field(self, sub: str) -> str:
        return f"{self.path}.{sub}"


def workload_specs(snap: Snapshot, scope: AppScope, kinds=WORKLOADS) -> list[PodSpec]:
    """The pod templates of workloads of `kinds` in application namespaces (a new list each call)."""
    specs = []
    for kind_id in kinds:  # memoised by kind: probes asking for different kinds share the specs
        key = ("workload_specs", scope_key(scope), kind_id)
        specs += snap.memo(key, lambda: [_template_spec(kind_id, obj) for obj in in_scope(snap, scope, kind_id)])
    return specs


def _template_spec(kind_id: str, obj: dict) -> PodSpec:
    path = TEMPLATE_PATHS[kind_id]
    template = dig(obj, path, {}) or {}
    return PodSpec(
        object=f"{namespace(obj)}/{kind_id.rsplit('/', 1)[-1]}/{name(obj)}",
        kind_id=kind_id,
        obj=obj,
        namespace=namespace(obj),
        path=f"{path}.spec",
        spec=template.get("spec") or {},
        labels=(template.get("metadata") or {}).get("labels") or {},
        annotations=(template.get("metadata") or {}).get("annotations") or {},
    )


def pod_specs(snap: Snapshot, scope: AppScope) -> list[PodSpec]:
    """Every workload template in application namespaces, plus running Pods when the snapshot is live.

    A dozen container probes judge the same specs: they are worked out once per snapshot and scope.
    """
    return list(snap.memo(("pod_specs", scope_key(scope)), lambda: _pod_specs(snap, scope)))


def _pod_specs(snap: Snapshot, scope: AppScope) -> list[PodSpec]:
    templates = workload_specs(snap, scope)
    if not snap.live and not snap.of(POD):
        return templates
    by_workload = {t.object: t for t in templates}
    owners = snapshot_owners(snap)
    seen_owners: set[str] = set()
    running = []
    for pod in sorted(in_scope(snap, scope, POD), key=name):
        status = pod.get("status")  # dig(pod, "status.phase") by hand: this runs for every Pod
        if isinstance(status, dict) and status.get("phase") in ("Succeeded", "Failed"):
            continue
        owner = owners.workload(pod)
        if owner is not None:
            if owner in seen_owners:
                continue
            seen_owners.add(owner)
        template = by_workload.get(owner) if owner else None
        judged = frozenset(c.get("name") for c in template.spec.get("containers", [])) if template else frozenset()
        judged |= frozenset(c.get("name") for c in template.spec.get("initContainers", [])) if template else frozenset()
        running.append(
            PodSpec(
                object=f"{namespace(pod)}/Pod/{name(pod)}",
                kind_id=POD,
                obj=pod,
                namespace=namespace(pod),
                path="spec",
                spec=pod.get("spec") or {},
                labels=labels(pod),
                annotations=annotations(pod),
                running=True,
                judged_on_template=judged,
            )
        )
    return templates + running


def snapshot_owners(snap: Snapshot) -> "Owners":
    """The snapshot's Owners, built once and shared by every probe and exemption that asks."""
    return snap.memo("owners", lambda: Owners(snap))


class Owners:
    """Finds the workload that owns a Pod, following ReplicaSets and Jobs.

    Built once per snapshot pass: looking owners up per Pod in lists would make a 10,000-pod
    cluster quadratic.
    """

    def __init__(self, snap: Snapshot):
        self.replicasets = {(namespace(r), name(r)): _controller(r) for r in snap.of(REPLICASET)}
        self.cronjobs = {(namespace(c), name(c)) for c in snap.of(CRONJOB)}

    def workload(self, pod: dict) -> str | None:
        """"namespace/Kind/name" of the Pod's workload, or None for a bare Pod."""
        # The Pod's metadata read here once, not by namespace() and labels(): this runs per Pod.
        metadata = pod.get("metadata", {})
        ns = metadata.get("namespace", "")
        owner = _controller_of(metadata)
        if owner is None:
            return None
        kind, owner_name = owner.get("kind"), owner.get("name", "")
        if kind == "ReplicaSet":
            parent = self.replicasets.get((ns, owner_name))
            if parent is not None:
                return f"{ns}/{parent.get('kind')}/{parent.get('name')}"
            # Without the ReplicaSet, its name is "<deployment>-<pod-template-hash>".
            template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
            if template_hash and owner_name.endswith(f"-{template_hash}"):
                return f"{ns}/Deployment/{owner_name[: -len(template_hash) - 1]}"
        if kind == "Job":
            # Jobs made by a CronJob are named "<cronjob>-<scheduled minute>".
            cronjob = re.sub(r"-\d+$", "", owner_name)
            if (ns, cronjob) in self.cronjobs:
                return f"{ns}/CronJob/{cronjob}"
        return f"{ns}/{kind}/{owner_name}"


def _controller(obj: dict) -> dict | None:
    """The owner reference marked controller, else the first one."""
    return _controller_of(obj.get("metadata", {}))


def _controller_of(metadata: dict) -> dict | None:
    # Run once per Pod: a plain loop.
    owners = metadata.get("ownerReferences") or []
    first = owners[0] if owners else None
    for owner in owners:
        if owner.get("controller"):
            return owner
    return first


def containers(pod: PodSpec, *, init: bool = True) -> tuple[Container, ...]:
    """The containers to judge; on a running Pod only those its template does not already show.

    The tuple is the one every probe gets (a dozen ask for each of thousands of specs), not a copy."""
    if init not in pod._containers:
        if init:
            pod._containers[init] = tuple(_containers(pod))
        else:  # the same Containers, without the init ones: made once for both views
            pod._containers[init] = tuple(c for c in containers(pod) if not c.init)
    return pod._containers[init]


def pod_containers(snap: Snapshot, scope: AppScope) -> tuple[tuple[PodSpec, Container], ...]:
    """Every container of `pod_specs` to judge, with its pod spec, in their order (shared: do not
    change it). A dozen probes walk all of them: one flat sequence spares each a loop per spec."""
    return snap.memo(("pod_containers", scope_key(scope)),
                     lambda: tuple((pod, c) for pod in pod_specs(snap, scope) for c in containers(pod)))


def _containers(pod: PodSpec) -> list[Container]:
    found = []
    for key, is_init in (("containers", False), ("initContainers", True)):
        for spec in pod.spec.get(key) or []:
            if spec.get("name") in pod.judged_on_template:
                continue
            found.append(Container(pod.object, pod.spec, spec, f"{pod.path}.{key}[{spec.get('name', '?')}]", is_init))
    return found


def images(snap: Snapshot, scope: AppScope | None = None, limit: int = 500) -> list[str]:
    """The container images of the application workloads, sorted, at most `limit` (what an image
    scan is compared against)."""
    found = {c.spec.get("image", "") for pod in pod_specs(snap, scope or AppScope()) for c in containers(pod)}
    return sorted(image for image in found if image)[:limit]


def replicas(obj: dict) -> int:
    """spec.replicas, which the API defaults to 1 when it is left out."""
    value = dig(obj, "spec.replicas")
    return 1 if value is None else int(value)


def limit_range_defaults(snap: Snapshot, ns: str) -> dict[str, set[str]]:
    """Resources a namespace's LimitRanges fill in for containers: {"requests": {...}, "limits": {...}}.

    A LimitRange `default` sets limits and, without `defaultRequest`, the requests too.
    """
    filled = {"requests": set(), "limits": set()}
    for limit_range in snap.of(LIMITRANGE):
        if namespace(limit_range) != ns:
            continue
        for limit in dig(limit_range, "spec.limits", []) or []:
            if limit.get("type", "Container") != "Container":
                continue
            filled["limits"].update((limit.get("default") or {}).keys())
            filled["requests"].update((limit.get("defaultRequest") or limit.get("default") or {}).keys())
    return filled


def namespaces_with_pods(snap: Snapshot, scope: AppScope) -> list[str]:
    """Application namespaces that run something: a namespace without pods has nothing to protect."""
    chosen = app_namespaces(snap, scope)
    running = snap.memo("namespaces_running", lambda: {ns for kind_id in (*WORKLOADS, POD) for ns in namespaces_of(snap, kind_id)})
    return sorted(chosen & running)
