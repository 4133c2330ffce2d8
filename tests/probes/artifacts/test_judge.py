"""The registry's door: every check has an id, declared params with defaults, and refuses bad input
(oversized, hostile, garbage) with a clear error that names the file."""
import os

import pytest

from probes.engine.artifacts import ARTIFACT_CHECKS, FORMATS, UnknownCheck, judge_artifact
from probes.engine.outcome import ParamsError

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuites><testsuite name="&lol9;"><testcase name="x"/></testsuite></testsuites>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE coverage [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<coverage line-rate="1.0" branch-rate="1.0"><sources><source>&secret;</source></sources></coverage>"""


def test_every_check_declares_an_id_a_format_and_valid_defaults():
    assert len(ARTIFACT_CHECKS) >= 15
    for check_id, check in ARTIFACT_CHECKS.items():
        assert check_id.startswith("artifact.") and check.format in FORMATS and check.description
        check.parse_params(check.defaults())  # the defaults validate


@pytest.mark.parametrize("check_id, data", [
    ("artifact.junit.tests-pass", BILLION_LAUGHS),
    ("artifact.coverage.threshold", EXTERNAL_ENTITY),
])
def test_entity_expansion_and_external_entities_are_refused(check_id, data):
    outcome = judge_artifact(check_id, data, "report.xml", {})
    assert outcome.status == "error" and outcome.observed["error"] == "hostile"
    assert "report.xml" in outcome.summary and "entities" in outcome.summary


@pytest.mark.parametrize("check_id, data, code", [
    ("artifact.junit.tests-pass", b"<testsuites><testsuite", "malformed"),
    ("artifact.junit.tests-pass", b"<html><body>404</body></html>", "wrong-format"),
    ("artifact.junit.tests-pass", os.urandom(4096), "malformed"),
    ("artifact.coverage.threshold", b"{\"totals\": ", "malformed"),
    ("artifact.coverage.threshold", b"PK\x03\x04garbage", "wrong-format"),
    ("artifact.sarif.severity-threshold", b"{\"runs\": 3}", "wrong-format"),
    ("artifact.sarif.severity-threshold", b"[1, 2]", "wrong-format"),
    ("artifact.loadtest.p95", b"\xff\xfe\x00garbage", "malformed"),
    ("artifact.loadtest.p95", b"{\"metrics\": {}}", "wrong-format"),
    ("artifact.dockerfile.multi-stage", b"RUN echo hi\n", "malformed"),
    ("artifact.repo.no-env-files", b"   \n\n", "empty"),
    ("artifact.workflow.step", b"jobs: [1, 2\n", "malformed"),
])
def test_garbage_is_an_error_naming_the_file_never_a_crash(check_id, data, code):
    outcome = judge_artifact(check_id, data, "upload.bin", {})
    assert outcome.status == "error", outcome
    assert outcome.observed["error"] == code and outcome.summary.startswith("upload.bin")


def test_an_oversized_file_is_refused_before_it_is_parsed():
    limit = FORMATS["dockerfile"].max_bytes
    outcome = judge_artifact("artifact.dockerfile.multi-stage", b"#" * (limit + 1), "Dockerfile", {})
    assert outcome.status == "error" and outcome.observed["error"] == "too-large"
    assert "over the 1 MB limit" in outcome.summary


def test_the_outcome_names_its_evidence_by_sha256():
    data = b"FROM python:3.13 AS build\nFROM gcr.io/distroless/python3:nonroot\nCOPY --from=build /app /app\n"
    outcome = judge_artifact("artifact.dockerfile.multi-stage", data, "Dockerfile", None)
    assert outcome.status == "pass"
    assert outcome.observed["sha256"] == __import__("hashlib").sha256(data).hexdigest() and outcome.observed["size"] == len(data)


def test_unknown_checks_and_bad_params_are_the_callers_mistake():
    with pytest.raises(UnknownCheck):
        judge_artifact("artifact.nope", b"x", "x", {})
    with pytest.raises(ParamsError, match="unknown param"):
        judge_artifact("artifact.coverage.threshold", b"x", "x", {"line": 80})
    with pytest.raises(ParamsError, match="percentage from 0 to 100"):
        judge_artifact("artifact.coverage.threshold", b"x", "x", {"line_min": 180})
    with pytest.raises(ParamsError, match="expected a number"):
        judge_artifact("artifact.loadtest.p95", b"x", "x", {"sla_ms": "500ms"})
    with pytest.raises(ParamsError, match="fail_at"):
        judge_artifact("artifact.sarif.severity-threshold", b"x", "x", {"fail_at": "severe"})
    with pytest.raises(ParamsError, match="not a regular expression"):
        judge_artifact("artifact.junit.suites-pass", b"x", "x", {"suite_patterns": ["(unclosed"]})
