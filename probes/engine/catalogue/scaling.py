"""Horizontal Pod Autoscalers and the metrics server they depend on."""
from dataclasses import dataclass

from probes.engine.outcome import Finding, Outcome, fail, judge, probe
from probes.engine.catalogue.common import HPA, describe, hpa_targets, where, workloads_matching
from probes.engine.objects import dig, name, namespace
from probes.engine.podspecs import DEPLOYMENT, SERVICES, workload_specs
from probes.engine.scope import AppScope, in_scope
from probes.engine.snapshot import Snapshot

APISERVICE = "apiregistration.k8s.io/v1/APIService"
METRICS_API = "v1beta1.metrics.k8s.io"


def _hpa_ref(hpa: dict) -> str:
    return f"{namespace(hpa)}/HorizontalPodAutoscaler/{name(hpa)}"


@probe(
    "scaling.hpa-coverage",
    "Every service has a Horizontal Pod Autoscaler",
    kinds=[*SERVICES, HPA, "v1/Namespace"],
    params=AppScope,
    items=["horizontal-pod-autoscaling-hpa.hpa-is-configured-for-all-services"],
)
def hpa_coverage(snap: Snapshot, p: AppScope) -> Outcome:
    """Each Deployment and StatefulSet in application namespaces is the scaleTargetRef of an HPA."""
    targets = hpa_targets(snap)
    workloads = workload_specs(snap, p, kinds=SERVICES)
    findings = [
        Finding(w.object, "HorizontalPodAutoscaler.spec.scaleTargetRef", f"no HPA scales this workload; add a HorizontalPodAutoscaler with scaleTargetRef {w.object.split('/', 1)[1]}")
        for w in workloads
        if w.object not in targets
    ]
    return judge(findings, len(workloads), "services")


@dataclass(frozen=True)
class CpuTargetParams(AppScope):
    target: int = 70  # averageUtilization, percent of requests
    tolerance: int = 10


@probe(
    "scaling.hpa-cpu-target",
    "HPAs scale on CPU near the target utilisation",
    kinds=[HPA, "v1/Namespace"],
    params=CpuTargetParams,
    items=["horizontal-pod-autoscaling-hpa.cpu-threshold-is-set-70"],
)
def hpa_cpu_target(snap: Snapshot, p: CpuTargetParams) -> Outcome:
    """Each HPA has a Resource metric on cpu with target type Utilization and averageUtilization
    within `tolerance` points of `target`."""
    hpas = in_scope(snap, p, HPA)
    findings = []
    for hpa in hpas:
        cpu = next((m for m in dig(hpa, "spec.metrics", []) or [] if m.get("type") == "Resource" and dig(m, "resource.name") == "cpu"), None)
        utilization = dig(cpu, "resource.target.averageUtilization") if cpu else None
        if utilization is None:
            findings.append(Finding(_hpa_ref(hpa), "spec.metrics", f"HPA has no CPU utilization target; add a Resource metric on cpu with target type Utilization, averageUtilization: {p.target}"))
        elif abs(int(utilization) - p.target) > p.tolerance:
            findings.append(Finding(_hpa_ref(hpa), "spec.metrics[cpu].resource.target.averageUtilization", f"CPU target is {utilization}%; set it to about {p.target}%"))
    return judge(findings, len(hpas), "HPAs")


@dataclass(frozen=True)
class BoundsParams(AppScope):
    min_replicas: int = 2
    max_replicas: int = 0  # an upper limit on maxReplicas; 0 means no limit


@probe(
    "scaling.hpa-bounds",
    "HPAs set sensible minimum and maximum replicas",
    kinds=[HPA, "v1/Namespace"],
    params=BoundsParams,
    items=["horizontal-pod-autoscaling-hpa.min-max-replicas-are-defined-min-2-max-10"],
)
def hpa_bounds(snap: Snapshot, p: BoundsParams) -> Outcome:
    """Each HPA sets minReplicas of at least `min_replicas` (the API defaults it to 1) and a maxReplicas
    above it (and, when `max_replicas` is set, no higher than that)."""
    hpas = in_scope(snap, p, HPA)
    findings = []
    for hpa in hpas:
        low, high = dig(hpa, "spec.minReplicas"), dig(hpa, "spec.maxReplicas")
        if low is None or int(low) < p.min_replicas:
            findings.append(Finding(_hpa_ref(hpa), "spec.minReplicas", f"minReplicas is {low if low is not None else 'unset (1)'}; set it to {p.min_replicas} or more"))
        if high is None or int(high) <= int(low or 1):
            findings.append(Finding(_hpa_ref(hpa), "spec.maxReplicas", f"maxReplicas {high} leaves no room to scale; set it above minReplicas"))
        elif p.max_replicas and int(high) > p.max_replicas:
            findings.append(Finding(_hpa_ref(hpa), "spec.maxReplicas", f"maxReplicas is {high}; cap it at {p.max_replicas}"))
    return judge(findings, len(hpas), "HPAs")


@probe(
    "scaling.metrics-server",
    "The metrics server is installed",
    kinds=[APISERVICE, DEPLOYMENT],
    items=["horizontal-pod-autoscaling-hpa.metrics-server-is-installed"],
)
def metrics_server(snap: Snapshot, p) -> Outcome:
    """The resource metrics API (APIService v1beta1.metrics.k8s.io) is registered and Available, or a
    metrics-server Deployment exists; without it HPAs cannot read CPU."""
    service = next((s for s in snap.of(APISERVICE) if name(s) == METRICS_API), None)
    deployments = [describe(k, o) for k, o in workloads_matching(snap, r"metrics-server", kinds=(DEPLOYMENT,))]
    if service is not None:
        conditions = dig(service, "status.conditions", []) or []
        available = any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)
        if snap.live and conditions and not available:
            reason = next((c.get("message") or c.get("reason") for c in conditions if c.get("type") == "Available"), "")
            return fail("metrics API is registered but not available", [Finding(f"APIService/{METRICS_API}", "status.conditions[Available]", f"metrics API is not Available ({reason}); fix the metrics-server Deployment")])
        return Outcome("pass", f"metrics API {METRICS_API} is registered", observed={"apiservice": True, "deployments": deployments})
    if deployments:
        return Outcome("pass", f"metrics-server runs ({', '.join(deployments)})", observed={"apiservice": False, "deployments": deployments})
    return fail(f"no metrics server {where(snap)}: APIService {METRICS_API} and a metrics-server Deployment are both absent")
