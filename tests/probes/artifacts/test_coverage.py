"""Coverage reports written by coverage.py itself (Cobertura XML and JSON) from a run of a small module."""
import pytest

from probes.engine.artifacts import judge_artifact


@pytest.mark.parametrize("kind", ["xml-branch", "json-branch"])
def test_a_module_69_percent_covered_fails_the_seed_threshold(coverage_files, kind):
    outcome = judge_artifact("artifact.coverage.threshold", coverage_files[kind], f"coverage.{kind[:4]}", {})
    assert outcome.status == "fail"
    assert outcome.summary == "coverage 69.2% of lines, 50.0% of branches: below the threshold"
    assert [f.field for f in outcome.findings[:2]] == ["line-rate", "branch-rate"]
    assert any(f.object == "shop.py" for f in outcome.findings)


@pytest.mark.parametrize("kind", ["xml-branch", "json-branch"])
def test_lower_thresholds_pass(coverage_files, kind):
    outcome = judge_artifact("artifact.coverage.threshold", coverage_files[kind], "c", {"line_min": 65, "branch_min": 50})
    assert outcome.status == "pass", outcome.summary


@pytest.mark.parametrize("kind", ["xml", "json"])
def test_a_report_without_branch_data_fails_a_branch_threshold_rather_than_guessing(coverage_files, kind):
    outcome = judge_artifact("artifact.coverage.threshold", coverage_files[kind], "c", {"line_min": 60})
    assert outcome.status == "fail" and "measured no branches" in outcome.findings[0].message
    assert judge_artifact("artifact.coverage.threshold", coverage_files[kind], "c", {"line_min": 60, "branch_min": None}).status == "pass"
