"""Text, JSON, JUnit XML and SARIF output, and the exit code CI reads."""
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from probes.engine.outcome import Finding, Outcome
from probes.engine.evaluate import ProbeResultData, catalogue_bindings, evaluate
from probes.engine.formats import exit_code, render, to_json, to_junit, to_sarif, to_text
from probes.engine.manifests import load_manifests

FIXTURES = Path(__file__).parent / "fixtures"


def result(pid, status, findings=(), exempted=(), items=("sec.item",)):
    return ProbeResultData(pid, pid.title(), list(items), {}, Outcome(status, f"{status} summary", list(findings), list(exempted)), 12.5)


MIXED = [
    result("workloads.replicas", "pass", exempted=["shop/Deployment/legacy: being retired"]),
    result("workloads.resources", "fail", [Finding("shop/Deployment/api", "spec.replicas", "set it", "bundle/app.yaml", 4)]),
    result("cluster.version", "skip"),
    result("dapr.pubsub", "error"),
    result("observability.grafana", "fail"),  # a missing component: no finding to locate
]


@pytest.mark.parametrize(
    "statuses, code",
    [(["pass", "skip"], 0), ([], 0), (["pass", "fail", "skip"], 1), (["fail", "error"], 2), (["error"], 2)],
)
def test_exit_code(statuses, code):
    assert exit_code([result("x.y", s) for s in statuses]) == code


def test_json_has_exactly_the_documented_shape():
    data = json.loads(to_json(MIXED))
    assert set(data) == {"probes"}
    for entry in data["probes"]:
        assert set(entry) == {"id", "items", "status", "summary", "findings", "exempted"}
        for finding in entry["findings"]:
            assert set(finding) == {"object", "field", "message"}
    assert data["probes"][0]["exempted"] == ["shop/Deployment/legacy: being retired"]
    assert data["probes"][1]["findings"] == [{"object": "shop/Deployment/api", "field": "spec.replicas", "message": "set it"}]


def test_junit_parses_back_with_one_testcase_per_probe():
    root = ET.fromstring(to_junit(MIXED))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("5", "2", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [r.probe_id for r in MIXED]
    assert cases["workloads.replicas"].find("failure") is None
    failure = cases["workloads.resources"].find("failure")
    assert failure.get("message") == "fail summary" and "shop/Deployment/api spec.replicas: set it" in failure.text
    assert cases["dapr.pubsub"].find("error") is not None
    assert cases["cluster.version"].find("skipped") is not None


def test_sarif_structure():
    log = json.loads(to_sarif(MIXED))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "readiness"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == [r.probe_id for r in MIXED]
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning") and res["message"]["text"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"workloads.resources", "dapr.pubsub", "observability.grafana"}
    location = by_rule["workloads.resources"]["locations"][0]
    assert location["logicalLocations"] == [{"fullyQualifiedName": "shop/Deployment/api", "kind": "resource"}]
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("bundle/app.yaml")
    assert location["physicalLocation"]["region"] == {"startLine": 4}
    assert by_rule["dapr.pubsub"]["level"] == "warning"


def test_sarif_points_at_manifest_files(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    results = evaluate(load_manifests("bad-bundle"), catalogue_bindings())
    log = json.loads(to_sarif(results))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for res in log["runs"][0]["results"] for loc in res.get("locations", []) if "physicalLocation" in loc}
    assert uris == {"bad-bundle/shop.yaml"}


def test_text_lists_findings_and_exemptions():
    text = to_text(MIXED)
    assert "FAIL  workloads.resources: fail summary" in text
    assert "shop/Deployment/api spec.replicas" in text and "set it" in text
    assert "exempted: shop/Deployment/legacy: being retired" in text
    assert text.rstrip().endswith("5 probes: 1 passed, 2 failed, 1 errors, 1 skipped")


def test_render_refuses_unknown_formats():
    assert render(MIXED, "json") == to_json(MIXED)
    with pytest.raises(ValueError, match="unknown format"):
        render(MIXED, "yaml")
