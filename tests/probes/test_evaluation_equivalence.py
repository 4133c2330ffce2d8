"""Evaluation shares views between probes (namespaces in scope, pod specs, label indexes) for speed.

These tests hold it to the straightforward answer: every probe run on a snapshot of its own gives the
same outcome as all probes run together on one snapshot, and each index finds exactly what asking
every object would find.
"""
import copy
from dataclasses import replace
from pathlib import Path

import pytest
from tests.probes.generated import generated_snapshot
from tests.probes.probe_builders import service

from probes.engine.catalogue.observability import SERVICE, SERVICEMONITOR, _monitor_selects, _service_index, _services_selected_by
from probes.engine.evaluate import Binding, catalogue_bindings, evaluate
from probes.engine.labels import LabelIndex, Requirement
from probes.engine.manifests import load_manifests
from probes.engine.objects import labels, namespace

HERE = Path(__file__).parent
BUNDLES = [HERE / "bundles/good", HERE / "bundles/bad", HERE / "fixtures/good-bundle", HERE / "fixtures/bad-bundle"]


def _outcomes(results) -> list[tuple]:
    """Everything a reader sees of a run, findings and exemptions in order."""
    return [(r.probe_id, r.status, r.outcome.summary, r.outcome.findings, r.outcome.exempted, r.outcome.observed) for r in results]


# The default bindings plus probes whose scope differs, so views memoised for one scope must not
# leak into another.
BINDINGS = [
    *catalogue_bindings(),
    Binding("workloads.resources", {"namespaces": "env=prod"}),
    Binding("security.non-root", {"platform_namespaces": []}),
    Binding("observability.metrics-scraped", {"namespaces": "env=dev"}),
]


def _fresh(snap):
    """A snapshot with nothing memoised; objects are shared, which is safe since probes only read
    them (see test_probes_do_not_change_the_snapshot)."""
    return replace(snap, objects={kind_id: list(objects) for kind_id, objects in snap.objects.items()})


def _one_probe_at_a_time(make_snapshot, allow_exemptions: bool) -> list[tuple]:
    """The reference: each probe on a snapshot of its own, so nothing one probe derives reaches another."""
    results = []
    for binding in BINDINGS:
        results += evaluate(make_snapshot(), [binding], allow_exemptions=allow_exemptions)
    return _outcomes(results)


@pytest.mark.parametrize("allow_exemptions", [True, False])
def test_generated_snapshot_gives_the_same_results_as_probes_run_alone(allow_exemptions):
    pristine = generated_snapshot(7)
    together = _outcomes(evaluate(_fresh(pristine), BINDINGS, allow_exemptions=allow_exemptions))
    assert together == _one_probe_at_a_time(lambda: _fresh(pristine), allow_exemptions)


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bundles_give_the_same_results_as_probes_run_alone(path):
    together = _outcomes(evaluate(load_manifests(path), BINDINGS))
    assert together == _one_probe_at_a_time(lambda: load_manifests(path), True)


def test_key_outcomes_of_the_generated_snapshot():
    """Pinned from the catalogue before evaluation shared any views; a change here is a change of result.

    The snapshot holds every catalogue case's objects, so a new case moves the denominators (the
    hardening and reference cases added ten compliant workloads); the failures must not move."""
    summaries = {r.probe_id: r.outcome.summary for r in evaluate(generated_snapshot(7), catalogue_bindings())}
    assert summaries["observability.servicemonitors"] == "44 of 85 ServiceMonitors need attention"
    assert summaries["observability.metrics-scraped"] == "32 of 172 application Services need attention (2 exempted)"
    assert summaries["workloads.disruption-budgets"] == "19 of 105 multi-replica services need attention (1 exempted)"
    assert summaries["workloads.resources"] == "22 of 267 containers need attention (1 exempted)"
    assert summaries["workloads.health-probes"] == "62 of 292 containers need attention"
    assert summaries["security.non-root"] == "1 of 313 containers need attention (2 exempted)"
    assert summaries["dapr.sidecars"] == "1 of 206 services need attention"


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_service_index_finds_what_asking_every_service_finds(seed):
    snap = generated_snapshot(seed)
    index = _service_index(snap)
    for monitor in snap.of(SERVICEMONITOR):
        expected = [s for s in snap.of(SERVICE) if _monitor_selects(monitor, s)]
        assert _services_selected_by(monitor, index) == expected, monitor["spec"]


def test_label_index_compares_label_values_as_strings():
    # YAML reads `version: 2` as a number; selectors hold strings, and Requirement.matches str()s both.
    numbered = service("api", labels={"version": 2})
    index = LabelIndex([numbered], namespace, labels)
    assert index.candidates([Requirement("version", "In", ("2",))]) == [numbered]
    assert index.candidates([Requirement("version", "In", ("3",))]) == []


def test_a_run_after_objects_changed_does_not_reuse_old_views():
    snap = generated_snapshot(7)
    [before] = evaluate(snap, [Binding("observability.metrics-scraped")])
    snap.objects[SERVICE].append(service("fresh", "team-new"))  # a namespace the first run never saw
    [after] = evaluate(snap, [Binding("observability.metrics-scraped")])
    assert after.outcome.observed["judged"] == before.outcome.observed["judged"] + 1
    assert "team-new/Service/fresh" in {f.object for f in after.outcome.findings}


def test_probes_do_not_change_the_snapshot():
    snap = generated_snapshot(7)
    pristine = copy.deepcopy(snap.objects)
    evaluate(snap, catalogue_bindings())
    assert snap.objects == pristine
