"""The good and bad app bundles: what a CI run over manifests reports."""
from pathlib import Path

from probes.evaluate import catalogue_bindings, evaluate
from probes.formats import exit_code
from probes.manifests import load_manifests

FIXTURES = Path(__file__).parent / "fixtures"

# What an application bundle can prove on its own; the rest needs the platform or a live cluster.
APP_PROBES = {
    "dapr.sidecars",
    "images.pinned-tags",
    "images.private-registry",
    "images.pull-secrets",
    "networking.default-deny",
    "networking.https-only",
    "networking.ingress-tls",
    "references.dangling",
    "observability.metrics-scraped",
    "observability.servicemonitors",
    "scaling.hpa-bounds",
    "scaling.hpa-coverage",
    "scaling.hpa-cpu-target",
    "scaling.replicas-vs-hpa",
    "security.host-access",
    "security.no-inline-secrets",
    "security.non-root",
    "security.pod-security-admission",
    "security.read-only-root-fs",
    "security.seccomp",
    "security.security-context",
    "security.service-account-token",
    "workloads.disruption-budgets",
    "workloads.health-probes",
    "workloads.pod-spread",
    "workloads.replicas",
    "workloads.resources",
}


def results_for(bundle: str) -> dict:
    snap = load_manifests(FIXTURES / bundle)
    return {r.probe_id: r for r in evaluate(snap, catalogue_bindings())}


def test_good_bundle_passes_every_application_probe():
    results = results_for("good-bundle")
    assert {pid for pid, r in results.items() if r.status == "pass"} == APP_PROBES
    assert not [r for r in results.values() if r.status == "error"]


def test_cluster_probes_skip_on_manifests_and_platform_probes_fail_as_not_in_the_bundle():
    results = results_for("good-bundle")
    for pid in ("cluster.node-count", "cluster.zone-spread", "cluster.node-capacity", "cluster.version"):
        assert results[pid].status == "skip" and "needs a live cluster" in results[pid].outcome.summary
    for pid in ("observability.prometheus-storage", "observability.alert-rules", "logs.loki", "kafka.topic-replicas"):
        assert results[pid].status == "fail" and "in the bundle" in results[pid].outcome.summary


def test_bad_bundle_fails_every_application_probe_naming_objects():
    results = results_for("bad-bundle")
    failed = {pid for pid, r in results.items() if r.status == "fail"}
    # The bad bundle has no dangling reference, host access or autoscaled workload to catch.
    passing = {"observability.servicemonitors", "scaling.hpa-bounds", "scaling.hpa-cpu-target",
               "references.dangling", "scaling.replicas-vs-hpa", "security.host-access"}
    assert APP_PROBES - passing <= failed
    named = {(f.object, f.field) for r in results.values() for f in r.outcome.findings}
    assert ("shop/Deployment/api", "spec.template.spec.containers[api].env[STRIPE_API_KEY].value") in named
    assert ("shop/Deployment/worker", "spec.template.spec.containers[worker].securityContext.privileged") in named
    assert exit_code(list(results.values())) == 1


def test_findings_from_manifests_carry_their_file_and_line():
    results = results_for("bad-bundle")
    [finding] = results["workloads.replicas"].outcome.findings
    assert finding.source.endswith("bad-bundle/shop.yaml") and finding.line == 3


def test_exemption_without_reason_in_the_bad_bundle_is_reported():
    outcome = results_for("bad-bundle")["security.read-only-root-fs"].outcome
    assert ("shop/Deployment/worker", "metadata.annotations.readiness.dev/exempt-reason") in {(f.object, f.field) for f in outcome.findings}
