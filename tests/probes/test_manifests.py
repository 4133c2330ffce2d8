"""Reading manifest bundles into a snapshot."""
from pathlib import Path

import pytest

from probes.engine.manifests import ManifestError, load_manifests, load_texts

FIXTURES = Path(__file__).parent / "fixtures"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folder_is_read_recursively_with_yaml_and_yml():
    snap = load_manifests(FIXTURES / "good-bundle")
    assert not snap.live and snap.missing == set()
    assert [d["metadata"]["name"] for d in snap.of("apps/v1/Deployment")] == ["api"]
    assert len(snap.of("networking.k8s.io/v1/NetworkPolicy")) == 2  # expanded from a List in a .yml file
    assert [f.rsplit("/", 1)[-1] for f in snap.files] == ["api.yaml", "namespace.yaml", "network.yml"]


def test_several_paths_and_empty_documents(tmp_path):
    a = write(tmp_path, "a.yaml", "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n")
    b = write(tmp_path, "b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: other}\n")
    snap = load_manifests([a, b])
    assert [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in snap.of("v1/ConfigMap")] == [("default", "a"), ("other", "b")]


def test_namespaced_objects_default_to_default_and_cluster_scoped_do_not(tmp_path):
    path = write(tmp_path, "x.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api}\n")
    snap = load_manifests(path)
    assert "namespace" not in snap.of("v1/Namespace")[0]["metadata"]
    assert snap.of("v1/Service")[0]["metadata"]["namespace"] == "default"


def test_unknown_kinds_are_ignored_and_counted():
    snap = load_manifests(FIXTURES / "bad-bundle")
    assert snap.unknown_kinds == {"example.com/v1/Widget": 1}
    assert "example.com/v1/Widget (1)" in snap.note


def test_sources_name_file_and_line():
    snap = load_manifests(FIXTURES / "bad-bundle")
    path, line = snap.sources["shop/Deployment/worker"]
    assert path.endswith("bad-bundle/shop.yaml")
    lines = (FIXTURES / "bad-bundle/shop.yaml").read_text().splitlines()
    assert lines[line - 2 : line] == ["# Source: shop/templates/worker.yaml", "apiVersion: apps/v1"]


def test_older_api_versions_are_read_in_the_current_shape(tmp_path):
    path = write(
        tmp_path,
        "hpa.yaml",
        "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: api}\n"
        "spec: {scaleTargetRef: {kind: Deployment, name: api}, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70}\n"
        "---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: api}\nspec: {maxUnavailable: 1}\n",
    )
    snap = load_manifests(path)
    [hpa] = snap.of("autoscaling/v2/HorizontalPodAutoscaler")
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert len(snap.of("policy/v1/PodDisruptionBudget")) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n", "document 2 line 6: not valid YAML"),
        ("apiVersion: v1\nkind: ConfigMap\n---\nmetadata: {name: a}\n", "document 2 line 4: has no apiVersion and kind"),
        ("kind: Service\n", "document 1 line 1: has no apiVersion"),
        ("apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n", "document 1 line 1: has no apiVersion"),
    ],
)
def test_malformed_documents_name_file_and_document(tmp_path, text, message):
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(ManifestError) as caught:
        load_manifests(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="no such file or folder"):
        load_manifests(tmp_path / "nope")


BOMB = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"  l{n}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(6)))


@pytest.mark.parametrize("text, message", [
    (BOMB, "document 1 line 8: aliases expand to more than 10,000 nodes"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: " + "[" * 5000 + "}\n", "document 1 line 4: nested more than 64 levels deep"),
    ("apiVersion: v1\nkind: List\nitems: &a [*a]\n", "document 1 line 3: the alias *a refers to the node that contains it"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: [1, 2]\n", "document 1 line 1: ConfigMap metadata must be a mapping, found list"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [1]}\n", "document 1 line 1: ConfigMap metadata.name must be a string"),
    ("apiVersion: v1\nkind: [ConfigMap]\n", "document 1 line 1: kind must be a string"),
    ("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: []}]\n", "a List inside a List is not allowed"),
])
def test_hostile_documents_are_refused_naming_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "hostile.yaml", text)
    with pytest.raises(ManifestError) as caught:
        load_manifests(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_deep_nesting_is_refused_with_the_limit():
    from readiness import safe_yaml

    text = "apiVersion: example.com/v1\nkind: Widget\nspec:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 80)) + "  " * 80 + "v: 1\n"
    with pytest.raises(ManifestError, match="nested more than 64 levels deep"):
        load_texts([("deep.yaml", text)], source="deep.yaml")
    snap = load_texts([("deep.yaml", text)], source="deep.yaml", limits=safe_yaml.Limits(max_depth=100))
    assert snap.files == ["deep.yaml"]


def test_object_count_is_capped():
    text = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{n}}}\n" for n in range(11))
    assert len(load_texts([("a.yaml", text)], source="a", max_objects=11).of("v1/ConfigMap")) == 11
    with pytest.raises(ManifestError, match=r"a.yaml: document 11 line 42: the bundle holds more than 10 objects"):
        load_texts([("a.yaml", text)], source="a", max_objects=10)


PRIVILEGED_LATEST = """apiVersion: {api_version}
kind: Deployment
metadata: {{name: legacy, namespace: shop}}
spec:
  replicas: 1
  template:
    metadata: {{labels: {{app: legacy}}}}
    spec:
      containers:
        - name: app
          image: acme/legacy:latest
          securityContext: {{privileged: true}}
"""


@pytest.mark.parametrize("api_version, severity", [("extensions/v1beta1", "removed"), ("apps/v1beta2", "removed"), ("v1", "unknown"), ("apps/v2", "unknown")])
def test_a_workload_with_a_removed_or_unknown_api_version_is_judged_and_fails_naming_it(tmp_path, api_version, severity):
    from probes.engine.evaluate import Binding, evaluate

    path = write(tmp_path, "legacy.yaml", PRIVILEGED_LATEST.format(api_version=api_version))
    snap = load_manifests(path)
    assert [(p.object, p.severity) for p in snap.api_problems] == [("shop/Deployment/legacy", severity)]
    results = {r.probe_id: r.outcome for r in evaluate(snap, [Binding("images.pinned-tags"), Binding("security.security-context"), Binding("cluster.version")])}
    for probe_id in ("images.pinned-tags", "security.security-context"):
        outcome = results[probe_id]
        assert outcome.status == "fail"
        assert ("shop/Deployment/legacy", "apiVersion") in {(f.object, f.field) for f in outcome.findings}
        assert any(f.source == str(path) for f in outcome.findings if f.field == "apiVersion")
    assert results["cluster.version"].findings == []  # reads no Deployments


def test_aliased_removed_versions_are_reported_and_deprecated_ones_are_findings(tmp_path):
    from probes.engine.evaluate import Binding, evaluate

    path = write(tmp_path, "old.yaml",
                 "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: api, namespace: shop}\nspec: {maxUnavailable: 1}\n"
                 "---\napiVersion: kafka.strimzi.io/v1beta1\nkind: KafkaTopic\nmetadata: {name: orders, namespace: kafka}\n"
                 "spec: {partitions: 3, replicas: 3, config: {retention.ms: 604800000}}\n")
    snap = load_manifests(path)
    assert {(p.object, p.severity) for p in snap.api_problems} == {("shop/PodDisruptionBudget/api", "removed"), ("kafka/KafkaTopic/orders", "deprecated")}
    [topics] = evaluate(snap, [Binding("kafka.topic-partitions")])
    assert topics.outcome.status == "pass" and "1 deprecated apiVersion(s)" in topics.outcome.summary
    assert topics.outcome.findings[0].message.startswith("apiVersion kafka.strimzi.io/v1beta1 for KafkaTopic is deprecated")


def test_another_groups_kind_of_the_same_name_is_not_ours(tmp_path):
    path = write(tmp_path, "knative.yaml", "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: hello}\nspec: {}\n")
    snap = load_manifests(path)
    assert snap.api_problems == [] and snap.unknown_kinds == {"serving.knative.dev/v1/Service": 1}


def test_documents_that_are_not_kubernetes_objects_are_skipped_with_a_note(tmp_path):
    write(tmp_path, "docker/compose.yaml", "services:\n  web:\n    image: readiness:1.0\n    ports: ['8000:8000']\nvolumes: {data: {}}\n")
    write(tmp_path, "docker/k8s/app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    write(tmp_path, "ansible.yaml", "- hosts: all\n  tasks: []\n")
    snap = load_manifests(tmp_path)
    assert len(snap.of("v1/ConfigMap")) == 1
    assert len(snap.skipped_documents) == 2
    assert "compose.yaml: document 1: no apiVersion or kind (keys: services, volumes)" in snap.note
    assert "2 document(s) that are not Kubernetes objects were skipped" in snap.note
