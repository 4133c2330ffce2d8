"""Every manifest in docker/k8s validates against the Kubernetes API schemas of the version the README
targets (and the newest that kubernetes-validate ships), strictly: an unknown field is an error.

The schemas ship inside the kubernetes-validate package: no network.
"""
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "docker" / "k8s").glob("*.yaml"))
# Custom resources have no schema in kubernetes-validate; each is named here with where its CRD comes from.
CUSTOM_RESOURCES = {("monitoring.coreos.com/v1", "ServiceMonitor"): "the Prometheus Operator"}


def target_version() -> str:
    found = re.search(r"target Kubernetes (\d+\.\d+)", (ROOT / "README.md").read_text())
    assert found, "the README names the Kubernetes version the manifests target ('target Kubernetes 1.NN')"
    return found.group(1)


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def failures(doc: dict, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(p) for p in error.path)}: {error.message}"]
    return []


@pytest.mark.parametrize("version", sorted({target_version(), latest_version()}))
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_matches_the_kubernetes_schemas(path, version):
    problems = {}
    for doc in documents(path):
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCES:
            continue
        errors = failures(doc, version)
        if errors:
            problems[f"{doc['kind']}/{doc['metadata']['name']}"] = errors
    assert problems == {}, f"{path.name} against Kubernetes {version}"


def test_only_known_custom_resources_go_unvalidated():
    kinds = {(doc["apiVersion"], doc["kind"]) for path in MANIFESTS for doc in documents(path)}
    unknown = []
    for api_version, kind in kinds - set(CUSTOM_RESOURCES):
        try:
            kubernetes_validate.validate({"apiVersion": api_version, "kind": kind}, target_version())
        except kubernetes_validate.SchemaNotFoundError:
            unknown.append(f"{api_version} {kind}")
        except kubernetes_validate.ValidationError:
            pass  # it has a schema (the empty object fails it, as it should)
    assert unknown == []


def test_a_mistake_in_a_manifest_is_caught(tmp_path):
    web = next(doc for doc in documents(ROOT / "docker" / "k8s" / "web.yaml") if doc["kind"] == "Deployment")
    web["spec"]["replicas"] = "three"
    assert failures(web, target_version())
    web["spec"]["replicas"] = 2
    web["spec"]["template"]["spec"]["containers"][0]["resorces"] = {}  # a typo: strict refuses unknown fields
    assert failures(web, target_version())
