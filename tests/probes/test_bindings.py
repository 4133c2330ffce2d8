"""The seed template's probe bindings: valid probes and params, and keys the importer really makes."""
from pathlib import Path

import pytest

from probes.engine import registry
from probes.engine.outcome import CATALOGUE
from probes.engine.bindings import SEED_BINDINGS, BindingsError, kind_of, load_bindings, read_bindings

SEED = Path(__file__).resolve().parents[2] / "checklists" / "seed" / "production-readiness-checklist.md"


def test_seed_bindings_name_known_checks_with_valid_params():
    bindings = read_bindings()
    for key, entry in bindings.items():
        kind = kind_of(entry)
        check = registry.lookup(kind, entry[kind])
        assert check is not None, key
        check.parse_params(entry.get("params") or {})  # raises on a bad param


@pytest.mark.parametrize("kind", registry.KINDS)
def test_each_check_decides_exactly_the_items_it_is_bound_to(kind):
    bound: dict[str, set] = {}
    for key, entry in read_bindings().items():
        if kind in entry:
            bound.setdefault(entry[kind], set()).add(key)
    declared = {cid: set(c.items) for cid, c in registry.REGISTRIES[kind].items() if c.items}
    assert declared == bound


def test_more_than_half_of_the_built_in_template_is_decided_by_machine():
    markdown = pytest.importorskip("checklists.checklist_markdown")
    checklist = markdown.parse(SEED.read_text(encoding="utf-8"))
    keys = [item.key for item, _ in checklist.walk_items()]
    bindings = read_bindings()
    bound = [key for key in keys if key in bindings]
    assert len(keys) == 211
    # 57 by Kubernetes probes before artifact checks and collectors; the goal is at least 110.
    assert len(bound) >= 110, f"{len(bound)} of {len(keys)} items bound"


def test_only_kubernetes_probes_run_over_a_snapshot():
    grouped = load_bindings()
    assert grouped and all(b.probe_id in CATALOGUE for b in grouped)


def test_items_with_the_same_probe_and_params_are_evaluated_once():
    grouped = {(b.probe_id, tuple(sorted(b.params.get("required", [])))): b.items for b in load_bindings()}
    assert grouped[("networking.default-deny", ())] == (
        "networking.network-policies-restrict-pod-to-pod-communication",
        "network-security.network-policies-restrict-pod-to-pod-communication",
    )
    assert grouped[("observability.alert-rules", ("disk",))] == ("alerting.disk-space-low-20",)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a.b: {probe: no.such}\n", "unknown probe"),
        ("a.b: {artifact: artifact.no-such}\n", "unknown artifact"),
        ("a.b: {probe: workloads.replicas, artifact: artifact.junit.tests-pass}\n", "expected {probe"),
        ("a.b: {artifact: artifact.coverage.threshold, params: {line_min: 180}}\n", "percentage from 0 to 100"),
        ("a.b: {collector: collector.loki.log-fields, params: {fields: timestamp}}\n", "expected a list"),
        ("a.b: {probe: workloads.replicas, params: {min_replicas: two}}\n", "expected an integer"),
        ("a.b: workloads.replicas\n", "expected {probe"),
    ],
)
def test_bad_bindings_files_are_refused(tmp_path, text, message):
    path = tmp_path / "bindings.yaml"
    path.write_text(text)
    with pytest.raises(BindingsError, match=message):
        read_bindings(path)


def test_every_bound_key_is_an_item_of_the_seed_checklist():
    markdown = pytest.importorskip("checklists.checklist_markdown", reason="the Markdown importer is not on this branch yet")
    if not SEED.exists():
        pytest.skip("the seed checklist is not on this branch yet")
    checklist = markdown.parse(SEED.read_text(encoding="utf-8"))
    keys = {item.key for item, _ in checklist.walk_items()}
    assert set(read_bindings(SEED_BINDINGS)) - keys == set()
