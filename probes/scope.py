"""Which namespaces hold the application: a shared parameter of every probe that judges workloads."""
from dataclasses import dataclass, field

from probes.labels import matches, parse_selector
from probes.objects import labels, name, namespace
from probes.snapshot import Snapshot

NAMESPACE = "v1/Namespace"

# Never the application, whatever the parameters say.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})

# Platform components that many clusters run beside the application; a parameter, since a team may
# want to hold its platform to the same rules.
PLATFORM_NAMESPACES = [
    "dapr-system",
    "monitoring",
    "observability",
    "logging",
    "loki",
    "grafana",
    "prometheus",
    "ingress-nginx",
    "traefik",
    "cert-manager",
    "kafka",
    "strimzi",
    "istio-system",
    "linkerd",
    "gatekeeper-system",
    "kyverno",
    "local-path-storage",
    "calico-system",
    "tigera-operator",
    "metallb-system",
    "argocd",
    "flux-system",
    "velero",
    "gmp-system",
    "gke-managed-system",
]


@dataclass(frozen=True)
class AppScope:
    """`namespaces` is a label selector over Namespace objects (e.g. "env=prod"); empty means every
    namespace except the system and platform ones."""

    namespaces: str = ""
    platform_namespaces: list[str] = field(default_factory=lambda: list(PLATFORM_NAMESPACES))


def app_namespaces(snap: Snapshot, scope: AppScope) -> set[str]:
    """The application namespaces seen in the snapshot.

    With a selector, only namespaces whose Namespace object is in the snapshot can match: a manifest
    bundle without Namespace objects has none, which the probes then report as nothing to judge.
    """
    ns_labels = {name(ns): labels(ns) for ns in snap.of(NAMESPACE)}
    seen = set(ns_labels)
    for kind_id, objects in snap.objects.items():
        seen.update(namespace(o) for o in objects if namespace(o))
    excluded = SYSTEM_NAMESPACES | set(scope.platform_namespaces)
    candidates = {ns for ns in seen if ns not in excluded}
    if not scope.namespaces.strip():
        return candidates
    requirements = parse_selector(scope.namespaces)
    return {ns for ns in candidates if ns in ns_labels and matches(requirements, ns_labels[ns])}


def in_scope(snap: Snapshot, scope: AppScope, kind_id: str) -> list[dict]:
    """Objects of a namespaced kind that live in application namespaces."""
    chosen = app_namespaces(snap, scope)
    return [o for o in snap.of(kind_id) if namespace(o) in chosen]


def namespaces_with_pods(snap: Snapshot, scope: AppScope) -> list[str]:
    """Application namespaces that run something: a namespace without pods has nothing to protect."""
    from probes.podspecs import POD, WORKLOADS  # podspecs imports this module

    chosen = app_namespaces(snap, scope)
    running = {namespace(o) for kind_id in (*WORKLOADS, POD) for o in snap.of(kind_id)}
    return sorted(chosen & running)
