"""Evaluation shares views between probes (namespaces in scope, pod specs, label indexes) for speed.

These tests hold it to the straightforward answer: every probe run on a snapshot of its own gives the
same outcome as all probes run together on one snapshot, and each index finds exactly what asking
every object would find.
"""
import copy
import gc
import re
import weakref
from dataclasses import replace
from pathlib import Path

import pytest
from tests.probes.generated import generated_snapshot
from tests.probes.probe_builders import namespace_obj, obj, service, snapshot

from probes.engine.catalogue.observability import SERVICE, SERVICEMONITOR, _monitor_selects, _service_index, _services_selected_by
from probes.engine.catalogue.references import _pod_labels, _selects_a_pod
from probes.engine.evaluate import Binding, catalogue_bindings, evaluate
from probes.engine.labels import LabelIndex, Requirement, SelectorIndex, matches, selector_requirements
from probes.engine.manifests import load_manifests
from probes.engine.objects import labels, namespace
from probes.engine.podspecs import DEPLOYMENT, POD, _controller, pod_containers, pod_specs, workload_specs
from probes.engine.scope import AppScope, in_scope

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


def _budget_selectors():
    """PDB-style selectors in every form, including ones no index can narrow."""
    return [
        selector_requirements({"matchLabels": {"app": "web-001"}}),
        selector_requirements({"matchLabels": {"tier": "api"}}),
        selector_requirements({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web-002", "api-003"]}]}),
        selector_requirements({"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}], "matchLabels": {"tier": "web"}}),
        selector_requirements({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["batch"]}]}),
        selector_requirements({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
        [Requirement("tier", "Sometimes", ("web",))],  # an unknown operator: raises when tried
        [],
    ]


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_selector_index_finds_the_selectors_asking_every_one_finds(seed):
    snap = generated_snapshot(seed)
    selectors = _budget_selectors()
    index = SelectorIndex(selectors)
    label_sets = [labels(o) for kind_id in (POD, DEPLOYMENT) for o in snap.of(kind_id)] + [{"tier": 2}, {}]

    def tried(positions, pod_labels):
        outcomes = []
        for position in positions:
            try:
                outcomes.append((position, matches(selectors[position], pod_labels)))
            except ValueError:
                outcomes.append((position, "raises"))
        return [o for o in outcomes if o[1]]

    for pod_labels in label_sets:
        assert tried(index.candidates(pod_labels), pod_labels) == tried(range(len(selectors)), pod_labels), pod_labels


def test_label_index_never_skips_objects_it_cannot_read():
    odd_namespace = {"metadata": {"namespace": ["a", "list"], "labels": {"app": "api"}}}
    odd_labels = {"metadata": {"namespace": "shop", "labels": ["app=api"]}}
    plain = {"metadata": {"namespace": "shop", "labels": {"app": "api"}}}
    elsewhere = {"metadata": {"namespace": "other", "labels": {"app": "api"}}}
    index = LabelIndex([odd_namespace, odd_labels, plain, elsewhere], lambda o: o["metadata"]["namespace"], lambda o: o["metadata"]["labels"])
    assert index.candidates([Requirement("app", "In", ("api",))], {"shop"}) == [odd_namespace, odd_labels, plain]
    assert index.candidates([Requirement("app", "In", ("web",))], {"shop"}) == [odd_labels]
    # A selector the index cannot narrow on is tried on every object, so it fails as it would unindexed.
    assert index.candidates([Requirement("app", "Sometimes", ("web",))]) == [odd_namespace, odd_labels, plain, elsewhere]


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_service_selectors_pick_the_pods_asking_every_pod_picks(seed):
    snap = generated_snapshot(seed)
    scope = AppScope()
    indexes = _pod_labels(snap, scope)
    everyone: dict[str, list[dict]] = {}
    for spec in workload_specs(snap, scope):
        everyone.setdefault(spec.namespace, []).append(spec.labels)
    for pod in in_scope(snap, scope, POD):
        everyone.setdefault(namespace(pod), []).append(labels(pod))
    selectors = [s["spec"]["selector"] for s in snap.of(SERVICE)] + [{"track": "None"}, {"tier": "web", "track": "canary"}, {"app": 5}]
    for ns in [*everyone, "nowhere"]:
        for selector in selectors:
            expected = any(all(str(lbls.get(k)) == str(v) for k, v in selector.items()) for lbls in everyone.get(ns, []))
            assert _selects_a_pod(selector, indexes.get(ns)) == expected, (ns, selector)


def test_a_dropped_snapshot_is_freed_without_the_cycle_collector():
    # Containers are cached on their pod specs; a reference back would make a cycle that keeps
    # every judged object of a big cluster alive until the collector happens to run.
    snap = generated_snapshot(7)
    evaluate(snap, catalogue_bindings())
    spec = weakref.ref(pod_specs(snap, AppScope())[0])
    gc.disable()
    try:
        del snap
        assert spec() is None
    finally:
        gc.enable()


def test_pods_labelled_alike_only_as_numbers_and_booleans_stay_apart():
    # {"v": 1} == {"v": True} in Python, but a selector reads "1" and "True": each set is kept.
    pods = [obj("v1", "Pod", f"p{i}", "shop") for i in range(2)]
    pods[0]["metadata"]["labels"], pods[1]["metadata"]["labels"] = {"v": 1}, {"v": True}
    snap = snapshot(namespace_obj("shop"), *pods, live=True)
    indexes = _pod_labels(snap, AppScope())
    assert _selects_a_pod({"v": "True"}, indexes["shop"]) and _selects_a_pod({"v": 1}, indexes["shop"])
    assert not _selects_a_pod({"v": "true"}, indexes["shop"])


# --- hand-written fast paths, each held to the plain computation it replaces -------------------
from dataclasses import FrozenInstanceError, asdict, dataclass  # noqa: E402

from probes.engine import exemptions  # noqa: E402
from probes.engine.catalogue.workloads import _terminated_reason  # noqa: E402
from probes.engine.objects import dig  # noqa: E402
from probes.engine.outcome import Finding  # noqa: E402
from probes.engine.podspecs import Container, PodSpec, containers  # noqa: E402
from tests.probes.probe_builders import container, deployment, pod_spec, run  # noqa: E402


@dataclass(frozen=True)
class _PlainFinding:
    object: str
    field: str
    message: str
    source: str | None = None
    line: int | None = None


def test_findings_set_by_hand_are_the_frozen_dataclass_they_were():
    made = [Finding("ns/Pod/a", "spec", "message"), Finding("ns/Pod/a", "spec", "message", "k8s/a.yaml", 3),
            Finding(object="o", field="f", message="m", line=9)]
    plain = [_PlainFinding("ns/Pod/a", "spec", "message"), _PlainFinding("ns/Pod/a", "spec", "message", "k8s/a.yaml", 3),
             _PlainFinding(object="o", field="f", message="m", line=9)]
    for finding, reference in zip(made, plain):
        assert asdict(finding) == asdict(reference)
        assert repr(finding).removeprefix("Finding") == repr(reference).removeprefix("_PlainFinding")
        assert hash(finding) == hash(reference) and finding == replace(finding)
        assert replace(finding, line=1) == Finding(finding.object, finding.field, finding.message, finding.source, 1)
        with pytest.raises(FrozenInstanceError):
            finding.message = "changed"
    with pytest.raises(TypeError):
        Finding("o", "f")


def test_pod_specs_and_containers_set_by_hand_keep_every_field_and_stay_frozen():
    spec = {"containers": [{"name": "app"}], "initContainers": [{"name": "setup"}]}
    pod = PodSpec("ns/Pod/a", POD, {}, "ns", "spec", spec, {"app": "a"}, {}, running=True)
    assert asdict(pod) == {"object": "ns/Pod/a", "kind_id": POD, "obj": {}, "namespace": "ns", "path": "spec",
                           "spec": spec, "labels": {"app": "a"}, "annotations": {}, "running": True,
                           "judged_on_template": frozenset(), "_containers": {}}
    assert pod == PodSpec("ns/Pod/a", POD, {}, "ns", "spec", spec, {"app": "a"}, {}, True)
    assert containers(pod) == (Container("ns/Pod/a", spec, {"name": "app"}, "spec.containers[app]", False),
                               Container("ns/Pod/a", spec, {"name": "setup"}, "spec.initContainers[setup]", True))
    # Without init containers: the same objects, the init one left out.
    assert containers(pod, init=False) == containers(pod)[:1] and containers(pod, init=False)[0] is containers(pod)[0]
    with pytest.raises(FrozenInstanceError):
        pod.spec = {}
    with pytest.raises(FrozenInstanceError):
        containers(pod)[0].init = True


@pytest.mark.parametrize("status", [
    {}, {"state": None}, {"state": "x"}, {"state": {"running": {}}}, {"state": {"terminated": None}},
    {"state": {"terminated": "OOMKilled"}}, {"state": {"terminated": {"reason": "OOMKilled"}}},
    {"lastState": {"terminated": {"reason": "Error"}}}, {"lastState": {"terminated": {}}},
])
def test_a_terminated_reason_read_by_hand_is_what_dig_finds(status):
    for state in ("state", "lastState"):
        assert _terminated_reason(status.get(state)) == dig(status, f"{state}.terminated.reason")


def _plainly_exempt(kind_id: str, o: dict) -> bool:
    """What exemptions.annotated's fast path must agree with: annotations that cannot be read (not
    a mapping) exempt nothing."""
    try:
        return bool(exemptions._may_be_exempt(kind_id, o)
                    and exemptions.exempt_ids(exemptions.exemption_annotations(kind_id, o)))
    except (AttributeError, TypeError):
        return False


@pytest.mark.parametrize("notes", [None, {}, "", [], "odd", ["a"], 0, {"other": "x"}, {exemptions.EXEMPT: "p"},
                                   {exemptions.EXEMPT: ""}, {exemptions.EXEMPT: " , "}])
def test_objects_passed_over_for_exemptions_are_those_without_one(notes):
    found = []
    for kind, name in (("Pod", "a"), ("ConfigMap", "b"), ("Deployment", "c")):
        made = obj("apps/v1" if kind == "Deployment" else "v1", kind, name)
        if notes is not None:
            made["metadata"]["annotations"] = notes
        found.append(made)
    snap = snapshot(*found)
    plain = [(kind_id, o) for kind_id, objects in snap.objects.items() for o in objects if _plainly_exempt(kind_id, o)]
    assert exemptions.annotated(snap) == plain


def test_env_pairs_judged_once_per_run_give_each_workload_its_own_findings():
    env = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "API_TOKEN", "value": "abc"},
           {"name": "DB_URL", "value": "postgres://u:p@db/x"}, {"name": "KEY", "value": "AKIA" + "A" * 16},
           {"name": "PORT", "value": 8080}, {"name": 5, "value": "AKIA" + "B" * 16}]
    workloads = []
    for i in range(3):
        made = container()
        # Pairs repeat within and across workloads; MODE holds the value API_TOKEN does, and is fine.
        made["env"] = env[: 4 + i] + env[: 2] + [{"name": "MODE", "value": "abc"}]
        workloads.append(deployment(f"api-{i}", spec=pod_spec(made)))
    together = run("security.no-inline-secrets", snapshot(*workloads)).findings
    alone = [f for w in workloads for f in run("security.no-inline-secrets", snapshot(w)).findings]
    assert together == alone and len(alone) == 4 + 4 + 5


@pytest.mark.parametrize("seed", [7, 11])
def test_the_flat_container_list_is_each_pod_spec_s_containers_in_order(seed):
    snap = generated_snapshot(seed)
    for scope in (AppScope(), AppScope(namespaces="env=prod")):
        nested = [(pod, c) for pod in pod_specs(snap, scope) for c in containers(pod)]
        assert list(pod_containers(snap, scope)) == nested


def test_pinned_tags_judged_once_per_image_give_each_container_its_own_findings():
    images = ["acme.azurecr.io/api", "acme.azurecr.io/api:latest", "acme.azurecr.io/api:1.4.2",
              "acme.azurecr.io/api:main", "acme.azurecr.io/api@sha256:" + "a" * 64]
    workloads = []
    for i in range(3):
        made = [container(f"c{j}", image) for j, image in enumerate(images[i:] + images[:i])]
        workloads.append(deployment(f"api-{i}", spec=pod_spec(*made)))
    for params in ({}, {"require_semver": False}):
        together = run("images.pinned-tags", snapshot(*workloads), params).findings
        alone = [f for w in workloads for f in run("images.pinned-tags", snapshot(w), params).findings]
        assert together == alone and len(alone) == (9 if not params else 6)


def _plain_workload(owners, pod):
    """Owners.workload as first written, reading the Pod through namespace() and labels()."""
    ns = namespace(pod)
    owner = _controller(pod)
    if owner is None:
        return None
    kind, owner_name = owner.get("kind"), owner.get("name", "")
    if kind == "ReplicaSet":
        parent = owners.replicasets.get((ns, owner_name))
        if parent is not None:
            return f"{ns}/{parent.get('kind')}/{parent.get('name')}"
        template_hash = labels(pod).get("pod-template-hash")
        if template_hash and owner_name.endswith(f"-{template_hash}"):
            return f"{ns}/Deployment/{owner_name[: -len(template_hash) - 1]}"
    if kind == "Job":
        cronjob = re.sub(r"-\d+$", "", owner_name)
        if (ns, cronjob) in owners.cronjobs:
            return f"{ns}/CronJob/{cronjob}"
    return f"{ns}/{kind}/{owner_name}"


@pytest.mark.parametrize("seed", [7, 11])
def test_owners_read_from_the_pod_s_metadata_once_are_the_plain_reading(seed):
    snap = generated_snapshot(seed)
    owners = exemptions.snapshot_owners(snap)
    odd = [obj("v1", "Pod", "a", "shop"), obj("v1", "Pod", "b", None)]
    odd[0]["metadata"].update(labels=None, ownerReferences=[{"kind": "ReplicaSet", "name": "web-abc"}])
    odd[1]["metadata"].update(labels={"pod-template-hash": "abc"}, ownerReferences=[{"kind": "ReplicaSet", "name": "web-abc"}])
    pods = snap.of(POD) + odd
    assert pods and [owners.workload(p) for p in pods] == [_plain_workload(owners, p) for p in pods]


OOM_STATUSES = [
    {"name": "a"}, {"name": "b", "state": {}}, {"name": "c", "state": None, "lastState": {}},
    {"name": "d", "state": {"running": {}}}, {"name": "e", "lastState": {"terminated": {"reason": "OOMKilled"}}},
    {"name": "f", "state": {"terminated": {"reason": "OOMKilled"}}, "lastState": {"terminated": {"reason": "OOMKilled"}}},
    {"name": "g", "state": "", "lastState": {"terminated": {"reason": "Error"}}}, {"name": "h", "state": 0, "lastState": []},
    "odd", {"name": "i", "state": {"terminated": "OOMKilled"}},
]


def test_container_statuses_passed_over_for_oom_kills_are_those_without_one():
    pods = []
    for i, status in enumerate(OOM_STATUSES):
        made = obj("v1", "Pod", f"p{i}", "shop")
        made["status"] = {"containerStatuses": [status]}
        pods.append(made)
    # The plain reading: every state of every status, as dig finds its reason.
    plain = [f"status.containerStatuses[{s['name']}].{state}.terminated.reason" for s in OOM_STATUSES if isinstance(s, dict)
             for state in [next((st for st in ("state", "lastState") if dig(s, f"{st}.terminated.reason") == "OOMKilled"), None)] if state]
    found = run("workloads.oom-kills", snapshot(namespace_obj("shop"), *pods, live=True)).findings
    assert [f.field for f in found] == plain and len(plain) == 2


POD_STATUSES = [None, "odd", [], {}, {"phase": "Running"}, {"phase": "Failed"}, {"phase": "Succeeded"},
                {"phase": None}, {"containerStatuses": None}, {"containerStatuses": "odd"},
                {"containerStatuses": [{"name": "app", "lastState": {"terminated": {"reason": "OOMKilled"}}}]}]


def _pods_with_statuses():
    pods = []
    for i, status in enumerate(POD_STATUSES):
        made = obj("v1", "Pod", f"p{i}", "shop", spec={"containers": [{"name": "app"}]})
        if status is not None:
            made["status"] = status
        pods.append(made)
    return pods


def test_pods_passed_over_as_terminated_are_those_dig_finds_terminated():
    pods = _pods_with_statuses()
    snap = snapshot(namespace_obj("shop"), *pods, live=True)
    judged = [spec.object for spec in pod_specs(snap, AppScope()) if spec.running]
    plain = [f"shop/Pod/{p['metadata']['name']}" for p in pods if dig(p, "status.phase") not in ("Succeeded", "Failed")]
    assert judged == sorted(plain) and len(plain) == len(pods) - 2


def test_container_statuses_read_by_hand_are_those_dig_finds():
    pods = _pods_with_statuses()
    outcome = run("workloads.oom-kills", snapshot(namespace_obj("shop"), *pods, live=True))
    # The plain reading: every status dig finds, and the first state whose reason is OOMKilled.
    plain = [f"shop/Pod/{p['metadata']['name']} status.containerStatuses[{s.get('name')}].{state}.terminated.reason"
             for p in pods for s in dig(p, "status.containerStatuses", []) or [] if isinstance(s, dict)
             for state in [next((st for st in ("state", "lastState") if dig(s, f"{st}.terminated.reason") == "OOMKilled"), None)] if state]
    assert [f"{f.object} {f.field}" for f in outcome.findings] == plain and len(plain) == 1
