"""Readiness meets the checklist it tracks: its own probes pass on its own Kubernetes manifests.

Only the probes an application bundle can satisfy are asked; cluster components (Prometheus, Loki,
Dapr, Kafka, the ingress controller) belong to the platform, not to this bundle.
"""
from pathlib import Path

from probes.engine.evaluate import catalogue_bindings, evaluate
from probes.engine.manifests import load_manifests

MANIFESTS = Path(__file__).resolve().parents[2] / "docker" / "k8s"
APPLICATION_PROBES = {
    "workloads.replicas", "workloads.resources", "workloads.health-probes", "workloads.disruption-budgets",
    "workloads.pod-spread", "images.pinned-tags", "images.pull-secrets", "security.no-inline-secrets",
    "security.non-root", "security.read-only-root-fs", "security.security-context",
    "security.pod-security-admission", "networking.default-deny", "networking.ingress-tls", "networking.https-only",
    "scaling.hpa-coverage", "scaling.hpa-bounds", "scaling.hpa-cpu-target", "scaling.replicas-vs-hpa", "observability.metrics-scraped",
    "observability.servicemonitors",
}


def test_own_manifests_pass_own_probes():
    bindings = [b for b in catalogue_bindings() if b.probe_id in APPLICATION_PROBES]
    assert {b.probe_id for b in bindings} == APPLICATION_PROBES
    results = evaluate(load_manifests(MANIFESTS), bindings, allow_exemptions=True)
    failing = {r.probe_id: r.outcome.summary for r in results if r.status != "pass"}
    assert failing == {}


def test_the_beat_singleton_is_exempted_with_a_reason():
    bindings = [b for b in catalogue_bindings() if b.probe_id == "workloads.replicas"]
    result = evaluate(load_manifests(MANIFESTS), bindings, allow_exemptions=True)[0]
    assert any("readiness-beat" in entry for entry in map(str, result.outcome.exempted))
    strict = evaluate(load_manifests(MANIFESTS), bindings, allow_exemptions=False)[0]
    assert strict.status == "fail"
