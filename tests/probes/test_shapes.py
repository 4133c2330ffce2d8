"""A bundle whose fields have the wrong type (what the API server would refuse) is refused as it
loads, naming the file, line, object and field; everything the loader takes, every probe can judge."""
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.engine.evaluate import catalogue_bindings, evaluate
from probes.engine.manifests import ManifestError, load_texts
from tests.probes.wrong_types import WRONG, field_paths, with_field

ROOT = Path(__file__).resolve().parent.parent.parent
BUNDLES = [ROOT / "docker" / "k8s", ROOT / "tests" / "probes" / "fixtures", ROOT / "tests" / "probes" / "bundles"]
FILES = [(str(path.relative_to(ROOT)), [doc for doc in yaml.safe_load_all(path.read_text()) if doc])
         for folder in BUNDLES for path in sorted(folder.rglob("*.yaml"))]
# Every field of every object of the bundles, but apiVersion and kind (the loader's own checks).
SITES = [(f, d, path) for f, (_, docs) in enumerate(FILES) for d, doc in enumerate(docs)
         for path in field_paths(doc) if path and path[0] not in ("apiVersion", "kind")]


def _load(files):
    return load_texts([(name, yaml.safe_dump_all(docs)) for name, docs in files], source="test")


def test_the_bundles_load_and_every_probe_judges_them():
    assert len(SITES) > 500  # enough fields to draw from
    results = evaluate(_load(FILES), catalogue_bindings())
    assert not [r.probe_id for r in results if r.status == "error"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=st.sampled_from(SITES), wrong=st.sampled_from(WRONG))
def test_a_field_of_the_wrong_type_is_refused_by_name_or_judged(site, wrong):
    f, d, path = site
    files = with_field(FILES, (f, 1, d, *path), wrong)
    try:
        snapshot = _load(files)
    except ManifestError as error:
        assert str(error).startswith(f"{files[f][0]}: document ") and " line " in str(error)
        return
    results = evaluate(snapshot, catalogue_bindings())
    assert not [(r.probe_id, r.outcome.summary) for r in results if r.status == "error"]


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, version: 2}}
spec:
  replicas: "3"
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: shop/web:1.2.3
          resources:
          env:
            - {name: LOG_LEVEL, value: info}
"""


@pytest.mark.parametrize("change, message", [
    (lambda d: d["spec"]["template"].update(spec=[{"containers": []}]),
     "spec.template.spec must be a mapping, found a list"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(env=["LOG_LEVEL=info"]),
     "spec.template.spec.containers[0].env[0] must be a mapping, found a string"),
    (lambda d: d["metadata"].update(annotations=["owner: shop"]),
     "metadata.annotations must be a mapping, found a list"),
    (lambda d: d["spec"].update(replicas="three"), "spec.replicas must be a whole number, found a string"),
    (lambda d: d["spec"]["template"]["spec"]["containers"].append(None), "spec.template.spec.containers[1] is empty"),
])
def test_the_refusal_names_the_file_the_object_and_the_field(change, message):
    deployment = yaml.safe_load(DEPLOYMENT)
    change(deployment)
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n" + yaml.safe_dump(deployment)
    with pytest.raises(ManifestError) as caught:
        load_texts([("web.yaml", text)], source="web.yaml")
    assert str(caught.value) == f"web.yaml: document 2 line 5: Deployment web: {message}"


def test_an_object_without_a_name_is_named_by_its_kind_alone():
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {}\nspec: 3\n"
    with pytest.raises(ManifestError) as caught:
        load_texts([("web.yaml", text)], source="web.yaml")
    assert str(caught.value) == "web.yaml: document 1 line 1: Deployment: spec must be a mapping, found a number"


def test_what_the_api_server_reads_alike_still_loads():
    """Numbers as label values, a number written as a string, an empty field, an empty name."""
    text = DEPLOYMENT + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: , namespace: shop}\ndata: {port: 8080}\n"
    snapshot = load_texts([("web.yaml", text)], source="web.yaml")
    (deployment,) = snapshot.of("apps/v1/Deployment")
    assert deployment["spec"]["replicas"] == "3" and deployment["metadata"]["labels"]["version"] == 2
    (config,) = snapshot.of("v1/ConfigMap")
    assert "name" not in config["metadata"]
    assert not [r.probe_id for r in evaluate(snapshot, catalogue_bindings()) if r.status == "error"]
