"""JUnit XML from pytest's own --junitxml, on a tiny suite run in the test setup."""
from probes.engine.artifacts import judge_artifact


def test_a_passing_suite_passes_and_counts_what_ran(junit_passing):
    outcome = judge_artifact("artifact.junit.tests-pass", junit_passing, "report.xml", {})
    assert outcome.status == "pass", outcome.summary
    assert outcome.summary == "all 3 tests passed (1 skipped)"
    assert outcome.observed["tests"] == 4 and outcome.observed["skipped"] == 1


def test_failures_and_errors_fail_naming_each_test_and_its_message(junit_failing):
    outcome = judge_artifact("artifact.junit.tests-pass", junit_failing, "report.xml", {})
    assert outcome.status == "fail"
    assert outcome.summary == "2 failed of 6 tests"  # pytest reports a raised exception as a failure too
    objects = {f.object: f.message for f in outcome.findings}
    assert "report.xml:tests.integration.test_db::test_writes_a_row" in objects
    assert "the row was not written" in objects["report.xml:tests.integration.test_db::test_writes_a_row"]


def test_skips_can_be_refused_and_too_few_tests_fail(junit_passing):
    assert judge_artifact("artifact.junit.tests-pass", junit_passing, "r.xml", {"allow_skipped": False}).status == "fail"
    outcome = judge_artifact("artifact.junit.tests-pass", junit_passing, "r.xml", {"min_tests": 10})
    assert outcome.status == "fail" and outcome.summary == "3 tests ran; at least 10 must"


def test_an_error_element_counts_as_an_error():
    xml = b'<testsuite name="api" tests="1"><testcase classname="api.Setup" name="boot"><error message="no database"/></testcase></testsuite>'
    outcome = judge_artifact("artifact.junit.tests-pass", xml, "surefire.xml", {})
    assert outcome.status == "fail" and outcome.summary == "1 error of 1 tests"
    assert outcome.findings[0].message == "no database"


def test_suites_are_selected_by_pattern_and_must_exist(junit_passing, junit_failing):
    outcome = judge_artifact("artifact.junit.suites-pass", junit_passing, "r.xml", {})
    assert outcome.status == "pass" and outcome.summary == "all 1 integration tests passed"
    e2e = judge_artifact("artifact.junit.suites-pass", junit_passing, "r.xml", {"suite_patterns": ["e2e"], "label": "E2E tests"})
    assert e2e.status == "fail" and e2e.summary.startswith("no E2E tests in the report")
    failing = judge_artifact("artifact.junit.suites-pass", junit_failing, "r.xml", {})
    assert failing.status == "fail" and failing.summary == "2 failed of 3 integration tests"


def test_ten_thousand_tests_are_counted_from_the_cases_not_the_attributes():
    cases = "".join(f'<testcase classname="t.c{i // 100}" name="test_{i}"/>' for i in range(10_000))
    xml = f'<testsuites><testsuite name="big" tests="3" failures="0">{cases}</testsuite></testsuites>'.encode()
    outcome = judge_artifact("artifact.junit.tests-pass", xml, "big.xml", {})
    assert outcome.status == "pass" and outcome.observed["tests"] == 10_000
