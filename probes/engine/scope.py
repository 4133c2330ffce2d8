"""Which namespaces hold the application: a shared parameter of every probe that judges workloads."""
from dataclasses import dataclass, field

from probes.engine.labels import matches, parse_selector
from probes.engine.objects import labels, name, namespace
from probes.engine.snapshot import Snapshot

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


def app_namespaces(snap: Snapshot, scope: AppScope) -> frozenset[str]:
    """The application namespaces seen in the snapshot.

    With a selector, only namespaces whose Namespace object is in the snapshot can match: a manifest
    bundle without Namespace objects has none, which the probes then report as nothing to judge.
    """
    return snap.memo(("app_namespaces", scope_key(scope)), lambda: _app_namespaces(snap, scope))


def scope_key(scope: AppScope) -> tuple:
    """What of a probe's params decides its scope: probes whose params differ elsewhere share it."""
    return (scope.namespaces, tuple(scope.platform_namespaces))


def _app_namespaces(snap: Snapshot, scope: AppScope) -> frozenset[str]:
    ns_labels = {name(ns): labels(ns) for ns in snap.of(NAMESPACE)}
    seen = snap.memo("namespaces_seen", lambda: _namespaces_seen(snap))
    excluded = SYSTEM_NAMESPACES | set(scope.platform_namespaces)
    candidates = frozenset(ns for ns in seen if ns not in excluded)
    if not scope.namespaces.strip():
        return candidates
    requirements = parse_selector(scope.namespaces)
    return frozenset(ns for ns in candidates if ns in ns_labels and matches(requirements, ns_labels[ns]))


def _namespaces_seen(snap: Snapshot) -> frozenset[str]:
    """Namespaces named by a Namespace object or by any namespaced object: every object is read."""
    seen = {name(ns) for ns in snap.of(NAMESPACE)}
    for kind_id in snap.objects:
        seen.update(ns for ns in namespaces_of(snap, kind_id) if ns)
    return frozenset(seen)


def namespaces_of(snap: Snapshot, kind_id: str) -> list:
    """The namespace of each object of a kind, in the snapshot's order: read once for the views
    that filter or group a kind by namespace."""
    return snap.memo(("namespaces_of", kind_id), lambda: _namespaces(snap.of(kind_id)))


def _namespaces(objects: list[dict]) -> list:
    # objects.namespace() inlined: this reads every object of the snapshot once per run.
    return [o.get("metadata", {}).get("namespace", "") for o in objects]


def in_scope(snap: Snapshot, scope: AppScope, kind_id: str) -> list[dict]:
    """Objects of a namespaced kind that live in application namespaces (a new list each call)."""
    return list(snap.memo(("in_scope", scope_key(scope), kind_id), lambda: _in_scope(snap, scope, kind_id)))


def _in_scope(snap: Snapshot, scope: AppScope, kind_id: str) -> list[dict]:
    chosen = app_namespaces(snap, scope)
    return [o for o, ns in zip(snap.of(kind_id), namespaces_of(snap, kind_id)) if ns in chosen]
