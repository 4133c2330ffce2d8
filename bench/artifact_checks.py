"""Benchmark the artifact checks on large files generated here.

    python bench/artifact_checks.py [--runs 3]

Judges a 10,000-test JUnit report (with failures and skips), a 50 MB SARIF file (Trivy-shaped:
thousands of rules and results across image runs) and a k6 summary. For each it prints the file
size, the median time of `judge_artifact` over the runs, and its ratio to a baseline measured in
the same run on the same bytes: a plain parse (xml.etree.ElementTree for XML, json.loads for JSON)
that checks nothing, refuses nothing and keeps nothing. The ratio is what safe parsing (defusedxml,
size budgets) and judging cost on top of reading the file at all.
"""
import argparse
import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from probes.engine.artifacts import judge_artifact  # noqa: E402


def junit(tests: int = 10_000) -> bytes:
    cases = []
    for i in range(tests):
        body = ""
        if i % 500 == 0:
            body = f'<failure message="assert {i} == {i + 1}">Traceback line {i}\nAssertionError</failure>'
        elif i % 97 == 0:
            body = '<skipped type="pytest.skip" message="needs a GPU"/>'
        cases.append(f'<testcase classname="tests.{"integration" if i % 3 == 0 else "unit"}.test_mod{i // 100}" name="test_case_{i}" time="0.01{i % 10}">{body}</testcase>')
    return ('<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" '
            f'tests="{tests}">' + "".join(cases) + "</testsuite></testsuites>").encode()


def sarif(target_mb: int = 50) -> bytes:
    """Trivy-shaped runs, one per image, until the file reaches `target_mb`."""
    runs, size, image = [], 0, 0
    while size < target_mb * 1024 * 1024:
        name = f"registry.acme.io/shop/svc-{image}:1.{image}.0"
        rules, results = [], []
        for i in range(2_000):
            cve = f"CVE-2024-{image:03d}{i:04d}"
            score = ["9.8", "7.5", "5.3", "3.1"][i % 4]
            rules.append({"id": cve, "name": "OsPackageVulnerability", "shortDescription": {"text": f"openssl: {cve}"},
                          "fullDescription": {"text": "A flaw was found in a library. " * 4}, "defaultConfiguration": {"level": "error"},
                          "helpUri": f"https://avd.aquasec.com/nvd/{cve.lower()}", "properties": {"security-severity": score, "tags": ["vulnerability", "security"]}})
            results.append({"ruleId": cve, "ruleIndex": i, "level": "error",
                             "message": {"text": f"Package: libssl{i % 7}\nInstalled Version: 3.0.{i % 20}\nVulnerability {cve}\nSeverity: HIGH"},
                             "locations": [{"physicalLocation": {"artifactLocation": {"uri": name.split(":")[0], "uriBaseId": "ROOTPATH"}, "region": {"startLine": 1}}}]})
        run = {"tool": {"driver": {"name": "Trivy", "version": "0.58.1", "rules": rules}}, "results": results,
               "properties": {"imageName": name, "repoTags": [name]}}
        size += len(json.dumps(run))
        runs.append(run)
        image += 1
    return json.dumps({"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": runs}).encode()


def k6() -> bytes:
    metrics = {"http_req_duration": {"avg": 140.3, "min": 20.1, "med": 120.0, "max": 1400.2, "p(90)": 190.0, "p(95)": 212.4},
               "http_reqs": {"count": 249600, "rate": 832.0}, "http_req_failed": {"passes": 120, "fails": 249480, "value": 0.00048}}
    for i in range(50):
        metrics[f"http_req_duration{{name:GET /api/v1/resource-{i}}}"] = {"avg": 100 + i, "p(90)": 150 + i, "p(95)": 180 + i, "max": 900}
    return json.dumps({"root_group": {"name": "", "groups": {}, "checks": {}}, "metrics": metrics}).encode()


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cases = [
        ("JUnit, 10,000 tests", "artifact.junit.tests-pass", junit(), "report.xml", {}, ET.fromstring),
        ("SARIF, 50 MB", "artifact.sarif.severity-threshold", sarif(), "trivy.sarif", {"fail_at": "critical"}, json.loads),
        ("k6 summary", "artifact.loadtest.p95", k6(), "summary.json", {}, json.loads),
    ]
    print(f"{'artifact':<22} {'size':>9} {'judge (s)':>10} {'plain parse (s)':>16} {'ratio':>6}  verdict")
    for label, check, data, filename, params, parse in cases:
        baseline = timed(lambda: parse(data), args.runs)
        outcome = None

        def judge():
            nonlocal outcome
            outcome = judge_artifact(check, data, filename, params)

        judged = timed(judge, args.runs)
        size = f"{len(data) / (1024 * 1024):.1f} MB" if len(data) > 1024 * 1024 else f"{len(data) / 1024:.1f} KB"
        print(f"{label:<22} {size:>9} {judged:>10.3f} {baseline:>16.3f} {judged / baseline:>6.2f}  {outcome.status}: {outcome.summary[:60]}")


if __name__ == "__main__":
    main()
