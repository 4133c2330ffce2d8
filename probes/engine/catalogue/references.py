"""References that point at nothing, and replica counts that fight an autoscaler.

A Service selecting no pods, an Ingress naming a missing Service, an HPA whose target does not
exist, a NetworkPolicy selecting no pods or a StatefulSet naming a missing governing Service all
apply cleanly and then do nothing: kube-score and Polaris report them, and so do we.
"""
import json

from probes.engine.outcome import Finding, Outcome, judge, probe
from probes.engine.catalogue.common import HPA, hpa_targets
from probes.engine.labels import LabelIndex, Requirement, selector_requirements, selects
from probes.engine.objects import annotations, dig, name, namespace
from probes.engine.podspecs import POD, STATEFULSET, WORKLOADS, workload_specs
from probes.engine.scope import AppScope, app_namespaces, in_scope, namespaces_of
from probes.engine.snapshot import Snapshot

SERVICE = "v1/Service"
INGRESS = "networking.k8s.io/v1/Ingress"
NETWORKPOLICY = "networking.k8s.io/v1/NetworkPolicy"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _pod_labels(snap: Snapshot, p: AppScope) -> dict[str, LabelIndex]:
    """The distinct label sets of the pods each application namespace runs (or will run),
    templates and Pods, indexed so that a selector is tried only on those carrying its labels.
    Replicas share their labels, so each set is indexed once: selectors read label values as
    strings, and sets alike as strings are alike to every selector."""
    chosen = app_namespaces(snap, p)
    # (namespace, the set as strings) -> the first such set; this runs for every Pod.
    found: dict[tuple, tuple[str, dict]] = {}
    for spec in workload_specs(snap, p):
        found.setdefault((spec.namespace, _alike(spec.labels)), (spec.namespace, spec.labels))
    for pod, ns in zip(snap.of(POD), namespaces_of(snap, POD)):
        if ns in chosen:
            pod_labels = pod.get("metadata", {}).get("labels") or {}  # labels(pod), without a call per Pod
            found.setdefault((ns, _alike(pod_labels)), (ns, pod_labels))
    distinct: dict[str, list] = {}
    for ns, pod_labels in found.values():
        distinct.setdefault(ns, []).append(pod_labels)
    return {ns: LabelIndex(sets, _no_namespace, _itself) for ns, sets in distinct.items()}


def _alike(pod_labels) -> tuple | int:
    """The pairs (key, str(value)), built without a Python-level loop; a set that is not a mapping
    is alike only to itself."""
    return tuple(zip(pod_labels, map(str, pod_labels.values()))) if type(pod_labels) is dict else id(pod_labels)


def _no_namespace(_) -> str:
    return ""


def _itself(value):
    return value


def _selects_a_pod(selector: dict, pods: LabelIndex | None) -> bool:
    """Does a Service selector pick any of these pods? Values compare as strings, and a value of
    "None" also matches a pod without the label (str(None)): such a selector asks every pod."""
    if pods is None:
        return False
    pairs = selector.items()
    asks_every_pod = any(str(v) == "None" for _, v in pairs)
    candidates = pods.candidates([] if asks_every_pod else [Requirement(k, "In", (str(v),)) for k, v in pairs])
    return any(all(str(lbls.get(k)) == str(v) for k, v in pairs) for lbls in candidates)


def _policy_selects_a_pod(selector: dict, pods: LabelIndex | None) -> bool:
    if pods is None:
        return False
    return any(selects(selector, lbls) for lbls in pods.candidates(selector_requirements(selector)))


@probe("references.dangling", "References point at something",
       kinds=[*WORKLOADS, POD, SERVICE, INGRESS, HPA, NETWORKPOLICY, "v1/Namespace"], params=AppScope)
def dangling(snap: Snapshot, p: AppScope) -> Outcome:
    """In application namespaces: every Service with a selector selects some pod; every Ingress
    backend names a Service that exists; every HPA scales a workload that exists; every
    NetworkPolicy with a non-empty podSelector selects some pod; every StatefulSet's serviceName
    names a Service that exists."""
    pods = _pod_labels(snap, p)
    services = {(namespace(s), name(s)) for s in snap.of(SERVICE)}
    workloads = {f"{namespace(o)}/{kind_id.rsplit('/', 1)[-1]}/{name(o)}" for kind_id in WORKLOADS for o in snap.of(kind_id)}
    findings, judged = [], 0
    for svc in in_scope(snap, p, SERVICE):
        selector = dig(svc, "spec.selector") or {}
        if not selector or dig(svc, "spec.type") == "ExternalName":
            continue  # endpoints managed by hand, or a DNS alias
        judged += 1
        if not _selects_a_pod(selector, pods.get(namespace(svc))):
            findings.append(Finding(f"{namespace(svc)}/Service/{name(svc)}", "spec.selector", f"selects no pod: no workload in {namespace(svc)} has labels {selector}"))
    for ing in in_scope(snap, p, INGRESS):
        judged += 1
        for path, backend in _backends(ing):
            wanted = (backend.get("service") or {}).get("name")
            if wanted and (namespace(ing), wanted) not in services:
                findings.append(Finding(f"{namespace(ing)}/Ingress/{name(ing)}", f"{path}.service.name", f"backend Service {wanted} does not exist in {namespace(ing)}"))
    chosen = app_namespaces(snap, p)
    for target, hpa in hpa_targets(snap).items():
        if namespace(hpa) not in chosen:
            continue
        judged += 1
        if target not in workloads:
            findings.append(Finding(f"{namespace(hpa)}/HorizontalPodAutoscaler/{name(hpa)}", "spec.scaleTargetRef", f"scales {target.split('/', 1)[1]}, which does not exist"))
    for policy in in_scope(snap, p, NETWORKPOLICY):
        selector = dig(policy, "spec.podSelector") or {}
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            continue  # {} selects every pod in the namespace: a default policy
        judged += 1
        if not _policy_selects_a_pod(selector, pods.get(namespace(policy))):
            findings.append(Finding(f"{namespace(policy)}/NetworkPolicy/{name(policy)}", "spec.podSelector", "selects no pod, so it protects nothing"))
    for sts in in_scope(snap, p, STATEFULSET):
        judged += 1
        governing = dig(sts, "spec.serviceName")
        if governing and (namespace(sts), governing) not in services:
            findings.append(Finding(f"{namespace(sts)}/StatefulSet/{name(sts)}", "spec.serviceName", f"governing Service {governing} does not exist; create a headless Service (clusterIP: None) named {governing}"))
    return judge(findings, judged, "references")


def _backends(ing: dict):
    default = dig(ing, "spec.defaultBackend")
    if default:
        yield "spec.defaultBackend", default
    for i, rule in enumerate(dig(ing, "spec.rules", []) or []):
        for j, path in enumerate(dig(rule, "http.paths", []) or []):
            yield f"spec.rules[{i}].http.paths[{j}].backend", path.get("backend") or {}


@probe("scaling.replicas-vs-hpa", "Autoscaled workloads leave replicas to the HPA", kinds=[*WORKLOADS, HPA, "v1/Namespace"], params=AppScope)
def replicas_vs_hpa(snap: Snapshot, p: AppScope) -> Outcome:
    """A Deployment or StatefulSet an HPA scales does not set spec.replicas in its manifest: every
    apply would reset the replica count the HPA chose. On a live cluster the last applied
    configuration (kubectl.kubernetes.io/last-applied-configuration) shows what was applied."""
    hpas = hpa_targets(snap)
    findings, judged = [], 0
    for spec in workload_specs(snap, p):
        if spec.object not in hpas:
            continue
        applied = spec.obj
        if snap.live:
            try:
                applied = json.loads(annotations(spec.obj).get(LAST_APPLIED) or "null")
            except json.JSONDecodeError:
                applied = None
            if not isinstance(applied, dict):
                continue  # applied by other means: nothing shows what the manifest said
        judged += 1
        if dig(applied, "spec.replicas") is not None:
            hpa = hpas[spec.object]
            findings.append(Finding(spec.object, "spec.replicas", f"sets replicas: {dig(applied, 'spec.replicas')} while HorizontalPodAutoscaler {name(hpa)} scales it; remove spec.replicas from the manifest"))
    return judge(findings, judged, "autoscaled workloads")
