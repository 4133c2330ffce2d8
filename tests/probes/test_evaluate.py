"""Evaluating bindings: errors contained, params checked, kinds gathered."""
import pytest
from tests.probes.probe_builders import deployment, run, snapshot

from probes.engine.outcome import CATALOGUE, Outcome, ParamsError, probe
from probes.engine.evaluate import Binding, catalogue_bindings, evaluate, kinds_needed
from probes.engine.kinds import KINDS


def test_unknown_probe_is_an_error_result():
    [result] = evaluate(snapshot(), [("no.such-probe", {}, ["x.y"])])
    assert result.status == "error" and "unknown probe" in result.outcome.summary
    assert result.items == ["x.y"]


def test_bad_params_are_an_error_result_naming_the_param():
    outcome = run("workloads.replicas", snapshot(deployment()), {"min_replicas": "two"})
    assert outcome.status == "error"
    assert "min_replicas" in outcome.summary and "expected an integer" in outcome.summary
    outcome = run("workloads.replicas", snapshot(deployment()), {"minimum": 2})
    assert outcome.status == "error" and "unknown param(s) minimum" in outcome.summary


def test_a_probe_that_raises_does_not_sink_the_run():
    @probe("test.explodes", "Explodes", kinds=[])
    def explodes(snap, p):
        raise RuntimeError("boom")

    try:
        results = evaluate(snapshot(deployment()), [Binding("test.explodes"), Binding("workloads.replicas")])
    finally:
        del CATALOGUE["test.explodes"]
    assert [r.status for r in results] == ["error", "pass"]
    assert results[0].outcome.summary == "RuntimeError: boom"


def test_params_refuse_silent_conversions():
    with pytest.raises(ParamsError, match="quote it"):
        CATALOGUE["cluster.version"].parse_params({"min_version": 1.30})
    params = CATALOGUE["storage.production-classes"].parse_params({"allowed": ["fast"], "namespaces": "env=prod"})
    assert params.allowed == ["fast"] and params.namespaces == "env=prod"


def test_kinds_needed_are_known_kinds_of_the_bound_probes():
    needed = kinds_needed([("cluster.node-count", {}, []), ("dapr.pubsub", {}, []), ("no.such", {}, [])])
    assert needed == {"v1/Node", "dapr.io/v1alpha1/Component", "kafka.strimzi.io/v1beta2/Kafka"}
    assert kinds_needed(catalogue_bindings()) <= set(KINDS)


# Probes that judge what peers (Polaris, kube-score) judge beyond the seed's items: they decide no
# seed item, and run with `probe --probe ID` or when a team's own template binds them.
BEYOND_THE_SEED = {"security.host-access", "security.seccomp", "security.service-account-token",
                   "references.dangling", "scaling.replicas-vs-hpa"}


def test_every_probe_is_described():
    for p in CATALOGUE.values():
        assert p.title and p.description, p.id
        assert isinstance(p.defaults(), dict)
    assert {p.id for p in CATALOGUE.values() if not p.items} == BEYOND_THE_SEED


def test_namespace_selector_limits_the_application():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"env": "prod"}}}
    other = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab", "labels": {"env": "dev"}}}
    snap = snapshot(ns, other, deployment(replicas=1, ns="lab"), deployment(replicas=3))
    assert run("workloads.replicas", snap, {"namespaces": "env=prod"}).status == "pass"
    assert run("workloads.replicas", snap, {"namespaces": "env in (prod, dev)"}).status == "fail"
    assert run("workloads.replicas", snap, {"namespaces": "env=staging"}).status == "skip"


def test_system_and_platform_namespaces_are_not_the_application():
    snap = snapshot(deployment(replicas=1, ns="kube-system"), deployment(replicas=1, ns="monitoring"))
    assert run("workloads.replicas", snap).status == "skip"
    assert run("workloads.replicas", snap, {"platform_namespaces": []}).status == "fail"


def test_outcome_rejects_unknown_status():
    with pytest.raises(ValueError):
        Outcome("passed", "x")


@pytest.mark.parametrize("where", ["metadata", "spec.template.metadata"])
def test_annotations_that_cannot_be_read_exempt_nothing_and_sink_nothing(where):
    """Exemptions are read once per run, outside the probes' guard: an object only a hostile API
    server would answer leaves the probes that read it to say so."""
    odd = deployment(annotations={"readiness.dev/exempt": "workloads.replicas"}, replicas=1)
    target = odd
    for step in where.split("."):
        target = target[step]
    target["annotations"] = ["readiness.dev/exempt-reason"]
    [result] = evaluate(snapshot(odd, live=True), [Binding("workloads.replicas", {"min_replicas": 2}, ())])
    assert result.status in ("fail", "error") and not result.outcome.exempted
