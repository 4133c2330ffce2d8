"""A JSON artifact with a field of the wrong type is judged or refused naming the field: never an
exception out of judge_artifact, whose caller is a worker running a pipeline's upload."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.engine.artifacts import ARTIFACT_CHECKS, judge_artifact
from tests.probes.artifacts import sarif_docs
from tests.probes.artifacts.test_loadtest import k6_summary
from tests.probes.wrong_types import WRONG, field_paths, with_field

DOCS = {"sarif": [sarif_docs.trivy(), sarif_docs.semgrep(), sarif_docs.gitleaks()],
        "loadtest": [json.loads(k6_summary(endpoint_p95=900))]}
CHECKS = {fmt: [check for check, spec in ARTIFACT_CHECKS.items() if spec.format == fmt] for fmt in DOCS}
PARAMS = {"artifact.loadtest.peak": {"normal_rps": 50}}  # the one check that needs a param
SITES = [(fmt, n, path) for fmt, docs in DOCS.items() for n, doc in enumerate(docs) for path in field_paths(doc) if path]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=st.sampled_from(SITES), wrong=st.sampled_from(WRONG))
def test_a_field_of_the_wrong_type_is_judged_or_refused(site, wrong):
    fmt, n, path = site
    doc = with_field(DOCS[fmt][n], path, wrong)
    for check in CHECKS[fmt]:
        outcome = judge_artifact(check, json.dumps(doc).encode(), "scan.json", PARAMS.get(check))  # 1e309: Infinity
        assert outcome.status in ("pass", "fail", "skip", "error")
        if outcome.status == "error":
            assert outcome.summary.startswith("scan.json: ")


def test_a_sarif_result_typed_otherwise_is_refused_naming_the_field():
    doc = sarif_docs.trivy()
    doc["runs"][0]["results"][1]["locations"] = {"uri": "Dockerfile"}
    outcome = judge_artifact("artifact.sarif.severity-threshold", sarif_docs.dump(doc), "trivy.sarif")
    assert outcome.status == "error" and outcome.observed["error"] == "malformed"
    assert outcome.summary == "trivy.sarif: runs[0].results[1].locations must be a list, found a mapping"


def test_an_infinite_request_count_is_no_count():
    summary = json.loads(k6_summary())
    summary["metrics"]["http_reqs"]["count"] = 1e309
    outcome = judge_artifact("artifact.loadtest.performed", json.dumps(summary).encode(), "k6.json")
    assert outcome.status in ("fail", "error") and "Infinity" not in outcome.summary and "inf" not in outcome.summary
