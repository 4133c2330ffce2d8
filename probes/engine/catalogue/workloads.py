"""How application workloads run: replicas, resources, health probes, disruption budgets, spreading."""
import math
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, judge, probe, skip
from probes.engine.catalogue.common import HPA, NEEDS_LIVE, effective_replicas, hpa_targets
from probes.engine.labels import SelectorIndex, matches, selector_requirements, selects
from probes.engine.objects import dig, name, namespace
from probes.engine.podspecs import (
    CONTAINER_KINDS,
    CRONJOB,
    POD,
    SERVICES,
    containers,
    limit_range_defaults,
    pod_specs,
    workload_specs,
)
from probes.engine.scope import AppScope, in_scope
from probes.engine.snapshot import Snapshot

PDB = "policy/v1/PodDisruptionBudget"


@dataclass(frozen=True)
class ReplicaParams(AppScope):
    min_replicas: int = 2


@probe(
    "workloads.replicas",
    "Services run at least two replicas",
    kinds=[*SERVICES, HPA, "v1/Namespace"],
    params=ReplicaParams,
    items=["deployment-configuration.all-services-have-at-least-2-replicas-for-high-availability"],
)
def replicas(snap: Snapshot, p: ReplicaParams) -> Outcome:
    """Deployments and StatefulSets run at least `min_replicas` replicas; when an HPA scales one,
    its minReplicas is what counts, since the HPA overrides spec.replicas."""
    hpas = hpa_targets(snap)
    findings = []
    workloads = workload_specs(snap, p, kinds=SERVICES)
    for w in workloads:
        count = effective_replicas(w.object, w.obj, hpas)
        if count >= p.min_replicas:
            continue
        if w.object in hpas:
            hpa = hpas[w.object]
            findings.append(Finding(f"{namespace(hpa)}/HorizontalPodAutoscaler/{name(hpa)}", "spec.minReplicas", f"HPA lets {w.object} shrink to {count} replica(s); set spec.minReplicas to {p.min_replicas} or more"))
        else:
            findings.append(Finding(w.object, "spec.replicas", f"runs {count} replica(s); set spec.replicas to {p.min_replicas} or more"))
    return judge(findings, len(workloads), "services")


RESOURCES = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]
_NOTHING = frozenset()  # what a LimitRange fills in of a kind it does not name; made once, not per lookup


@dataclass(frozen=True)
class ResourceParams(AppScope):
    required: list[str] = field(default_factory=lambda: list(RESOURCES))


@probe(
    "workloads.resources",
    "Every container sets resource requests and limits",
    kinds=CONTAINER_KINDS,
    params=ResourceParams,
    items=["deployment-configuration.resource-requests-and-limits-are-set-for-all-containers"],
)
def resources(snap: Snapshot, p: ResourceParams) -> Outcome:
    """Each container (init containers and, on a live cluster, injected sidecars too) sets every
    resource in `required`. A namespace LimitRange default counts, and so does a limit without a
    request, since the API then uses the limit as the request."""
    findings, judged = [], 0
    defaults_by_ns: dict[str, dict] = {}
    required = [(wanted, wanted.split(".", 1)) for wanted in p.required]
    for pod in pod_specs(snap, p):
        if pod.namespace not in defaults_by_ns:  # each namespace's LimitRanges read once, not once per pod
            defaults_by_ns[pod.namespace] = limit_range_defaults(snap, pod.namespace)
        filled = defaults_by_ns[pod.namespace]
        for c in containers(pod):
            judged += 1
            res = c.spec.get("resources") or {}
            for wanted, parts in required:
                kind, resource = parts
                present = resource in (res.get(kind) or {}) or resource in filled.get(kind, _NOTHING)
                if kind == "requests" and resource in (res.get("limits") or {}):
                    present = True
                if not present:
                    findings.append(
                        Finding(pod.object, c.field(f"resources.{wanted}"), f"container {c.name} has no {resource} {kind[:-1]}; set resources.{wanted}")
                    )
    return judge(findings, judged, "containers")


@probe(
    "workloads.health-probes",
    "Containers have liveness and readiness probes",
    kinds=CONTAINER_KINDS,
    params=AppScope,
    items=["deployment-configuration.liveness-and-readiness-probes-are-configured"],
)
def health_probes(snap: Snapshot, p: AppScope) -> Outcome:
    """Every long-running container (not init containers, not CronJob pods) has a livenessProbe and a
    readinessProbe, so Kubernetes restarts hung containers and routes traffic only to ready ones."""
    findings, judged = [], 0
    for pod in pod_specs(snap, p):
        if pod.kind_id == CRONJOB or (pod.kind_id == POD and _owned_by_job(pod.obj)):
            continue
        for c in containers(pod, init=False):
            judged += 1
            for key in ("livenessProbe", "readinessProbe"):
                if not c.spec.get(key):
                    findings.append(Finding(pod.object, c.field(key), f"container {c.name} has no {key}; set {key} (httpGet, tcpSocket, grpc or exec)"))
    return judge(findings, judged, "containers")


def _owned_by_job(pod: dict) -> bool:
    return any(o.get("kind") == "Job" for o in pod.get("metadata", {}).get("ownerReferences") or [])


@probe(
    "workloads.disruption-budgets",
    "Multi-replica services have a PodDisruptionBudget",
    kinds=[*SERVICES, PDB, HPA, "v1/Namespace"],
    params=AppScope,
    items=["deployment-configuration.pod-disruption-budgets-pdb-are-set-for-critical-services"],
)
def disruption_budgets(snap: Snapshot, p: AppScope) -> Outcome:
    """Each Deployment or StatefulSet running two or more replicas is selected by a
    PodDisruptionBudget that still allows one pod to be evicted (or node drains hang)."""
    hpas = hpa_targets(snap)
    # Each budget's selector is parsed once here, not once for every workload in its namespace.
    pdbs: dict[str, list[tuple[dict, list]]] = {}
    for budget in snap.of(PDB):
        if dig(budget, "spec.selector"):
            pdbs.setdefault(namespace(budget), []).append((budget, selector_requirements(dig(budget, "spec.selector"))))
    indexes = {ns: SelectorIndex([selector for _, selector in budgets]) for ns, budgets in pdbs.items()}
    findings, judged = [], 0
    for w in workload_specs(snap, p, kinds=SERVICES):
        count = effective_replicas(w.object, w.obj, hpas)
        if count < 2:
            continue
        judged += 1
        budget = _first_selecting(pdbs.get(w.namespace, []), indexes.get(w.namespace), w.labels)
        if budget is None:
            findings.append(Finding(w.object, "spec.template.metadata.labels", f"no PodDisruptionBudget selects this workload's pods; add one with maxUnavailable: 1 selecting {w.labels}"))
        elif _both_set(budget):
            findings.append(
                Finding(f"{namespace(budget)}/PodDisruptionBudget/{name(budget)}", "spec", "budget sets both minAvailable and maxUnavailable, which the API server refuses; keep only maxUnavailable: 1")
            )
        elif _blocks_eviction(budget, count):
            findings.append(
                Finding(f"{namespace(budget)}/PodDisruptionBudget/{name(budget)}", "spec", f"budget allows no pod of {w.object} ({count} replicas) to be evicted, so node drains hang; use maxUnavailable: 1")
            )
    return judge(findings, judged, "multi-replica services")


def _first_selecting(budgets: list[tuple[dict, list]], index: SelectorIndex | None, pod_labels: dict) -> dict | None:
    """The first budget (in snapshot order) whose selector selects these pod labels."""
    if index is None:
        return None
    return next((budgets[i][0] for i in index.candidates(pod_labels) if matches(budgets[i][1], pod_labels)), None)


def _both_set(budget: dict) -> bool:
    spec = budget.get("spec") or {}
    return spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None


def _blocks_eviction(budget: dict, replicas: int) -> bool:
    """Kubernetes rounds a percentage up for both fields: 95% of 10 replicas is all 10 available."""
    spec = budget.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        return _scaled(spec["maxUnavailable"], replicas) == 0
    min_available = spec.get("minAvailable")
    if min_available is None:
        return False
    return _scaled(min_available, replicas) >= replicas


def _scaled(value, replicas: int) -> int:
    text = str(value).strip()
    if text.endswith("%"):
        try:
            return math.ceil(float(text[:-1]) * replicas / 100)
        except ValueError:
            return 0
    try:
        return int(text)
    except ValueError:
        return 0


@dataclass(frozen=True)
class SpreadParams(AppScope):
    topology_keys: list[str] = field(default_factory=lambda: ["kubernetes.io/hostname"])


@probe(
    "workloads.pod-spread",
    "Replicas are kept off the same node",
    kinds=[*SERVICES, HPA, "v1/Namespace"],
    params=SpreadParams,
    items=["deployment-configuration.anti-affinity-rules-prevent-pods-from-running-on-same-node"],
)
def pod_spread(snap: Snapshot, p: SpreadParams) -> Outcome:
    """Each multi-replica Deployment or StatefulSet has a pod anti-affinity term or a topology spread
    constraint over one of `topology_keys` whose label selector matches its own pods."""
    hpas = hpa_targets(snap)
    keys = " or ".join(p.topology_keys)
    findings, judged = [], 0
    for w in workload_specs(snap, p, kinds=SERVICES):
        if effective_replicas(w.object, w.obj, hpas) < 2:
            continue
        judged += 1
        terms = _spread_terms(w.spec)
        if not any(key in p.topology_keys and selects(selector, w.labels) for key, selector in terms if selector):
            findings.append(
                Finding(
                    w.object,
                    f"{w.path}.affinity.podAntiAffinity",
                    f"replicas may land on the same node; add podAntiAffinity or topologySpreadConstraints on {keys} selecting the pod labels {w.labels}",
                )
            )
    return judge(findings, judged, "multi-replica services")


def _spread_terms(spec: dict) -> list[tuple[str, dict | None]]:
    """(topologyKey, labelSelector) of every anti-affinity term and topology spread constraint."""
    anti = dig(spec, "affinity.podAntiAffinity", {}) or {}
    terms = [(t.get("topologyKey"), t.get("labelSelector")) for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []]
    for weighted in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        term = weighted.get("podAffinityTerm") or {}
        terms.append((term.get("topologyKey"), term.get("labelSelector")))
    terms += [(c.get("topologyKey"), c.get("labelSelector")) for c in spec.get("topologySpreadConstraints") or []]
    return terms


@probe(
    "workloads.oom-kills",
    "No container is being OOM-killed",
    kinds=[POD, "v1/Namespace"],
    params=AppScope,
    items=["resource-optimization.resource-limits-prevent-oom-kills"],
)
def oom_kills(snap: Snapshot, p: AppScope) -> Outcome:
    """On a live cluster, no running container in application namespaces was last terminated for
    running out of memory (OOMKilled)."""
    if not snap.live:
        return skip(NEEDS_LIVE.format(what="container statuses"))
    pods = in_scope(snap, p, POD)
    findings = []
    for pod in pods:
        # dig(pod, "status.containerStatuses", []) by hand: this runs for every Pod.
        held = pod.get("status") if isinstance(pod, dict) else None
        statuses = held.get("containerStatuses", []) if isinstance(held, dict) else []
        for status in statuses or []:
            if not isinstance(status, dict):
                continue  # no state to read: dig would find no reason
            if not (status.get("state") or status.get("lastState")):
                continue  # neither state says anything (most containers): no reason to read
            for state in ("state", "lastState"):
                if _terminated_reason(status.get(state)) == "OOMKilled":
                    findings.append(
                        Finding(
                            f"{namespace(pod)}/Pod/{name(pod)}",
                            f"status.containerStatuses[{status.get('name')}].{state}.terminated.reason",
                            f"container {status.get('name')} was OOM-killed ({status.get('restartCount', 0)} restarts); raise resources.limits.memory in its workload or fix the leak",
                        )
                    )
                    break
    return judge(findings, len(pods), "pods")


def _terminated_reason(held):
    """dig(held, "terminated.reason") for a container's state or lastState, read by hand: it runs
    twice for every container of every Pod, and nearly always stops at a state not terminated."""
    if not isinstance(held, dict) or "terminated" not in held:
        return None
    return dig(held["terminated"], "reason")
