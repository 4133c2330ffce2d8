"""SARIF: severity threshold, which tool ran, and whether every image of the release was scanned."""
from probes.engine.artifacts import judge_artifact
from tests.probes.artifacts.sarif_docs import dump, gitleaks, semgrep, trivy


def test_a_critical_cve_fails_the_high_threshold_naming_the_rule_and_location():
    outcome = judge_artifact("artifact.sarif.severity-threshold", dump(trivy()), "trivy.sarif", {})
    assert outcome.status == "fail" and outcome.summary == "1 result(s) at or above high from Trivy"
    finding = outcome.findings[0]
    assert (finding.object, finding.field) == ("registry.acme.io/shop/api", "CVE-2024-0001")
    assert finding.message.startswith("critical: Package: openssl")
    assert outcome.observed["by_severity"] == {"none": 0, "low": 0, "medium": 1, "high": 0, "critical": 1}


def test_security_severity_outranks_the_level_and_thresholds_move():
    only_medium = trivy(vulns=(("CVE-2024-0002", "5.3", "zlib"),))  # level "error", CVSS 5.3: medium
    assert judge_artifact("artifact.sarif.severity-threshold", dump(only_medium), "t", {}).status == "pass"
    assert judge_artifact("artifact.sarif.severity-threshold", dump(only_medium), "t", {"fail_at": "medium"}).status == "fail"
    assert judge_artifact("artifact.sarif.severity-threshold", dump(trivy()), "t", {"fail_at": "critical"}).status == "fail"


def test_levels_decide_without_a_score_and_suppressed_results_do_not_count():
    doc = semgrep(levels=("error",))
    assert judge_artifact("artifact.sarif.severity-threshold", dump(doc), "s", {}).status == "fail"
    doc["runs"][0]["results"][0]["suppressions"] = [{"kind": "inSource", "justification": "test fixture"}]
    outcome = judge_artifact("artifact.sarif.severity-threshold", dump(doc), "s", {})
    assert outcome.status == "pass" and outcome.observed["suppressed"] == 1


def test_a_secret_scanner_finding_fails_at_low_and_the_tool_must_be_the_one_asked_for():
    params = {"fail_at": "low", "tools": ["gitleaks", "trufflehog"]}
    assert judge_artifact("artifact.sarif.severity-threshold", dump(gitleaks(leaks=0)), "g", params).status == "pass"
    leaked = judge_artifact("artifact.sarif.severity-threshold", dump(gitleaks()), "g", params)
    assert leaked.status == "fail" and leaked.findings[0].object == "config/settings.py" and leaked.findings[0].line == 3
    wrong_tool = judge_artifact("artifact.sarif.severity-threshold", dump(semgrep(levels=())), "g", params)
    assert wrong_tool.status == "fail" and "no run by gitleaks or trufflehog" in wrong_tool.summary


def test_a_failed_execution_is_not_a_clean_scan():
    doc = semgrep(levels=())
    doc["runs"][0]["invocations"] = [{"executionSuccessful": False}]
    outcome = judge_artifact("artifact.sarif.tool-ran", dump(doc), "s", {})
    assert outcome.status == "fail" and "did not complete" in outcome.summary
    assert judge_artifact("artifact.sarif.tool-ran", dump(semgrep()), "s", {"tools": ["semgrep"]}).status == "pass"


def test_every_image_of_the_release_must_have_been_scanned():
    doc = trivy()
    doc["runs"].append(trivy(image="registry.acme.io/shop/worker:2.0.0")["runs"][0])
    images = ["registry.acme.io/shop/api:1.4.2", "registry.acme.io/shop/worker:2.0.0"]
    assert judge_artifact("artifact.sarif.images-scanned", dump(doc), "t", {"images": images}).status == "pass"
    outcome = judge_artifact("artifact.sarif.images-scanned", dump(doc), "t", {"images": [*images, "registry.acme.io/shop/web:3.1.0"]})
    assert outcome.status == "fail" and [f.object for f in outcome.findings] == ["registry.acme.io/shop/web:3.1.0"]
    other_tag = judge_artifact("artifact.sarif.images-scanned", dump(doc), "t", {"images": ["registry.acme.io/shop/api:1.5.0"]})
    assert other_tag.status == "fail"
    by_digest = judge_artifact("artifact.sarif.images-scanned", dump(doc), "t", {"images": ["registry.acme.io/shop/api@sha256:" + "a" * 64]})
    assert by_digest.status == "pass"


def test_without_the_release_images_the_image_check_skips_instead_of_passing():
    assert judge_artifact("artifact.sarif.images-scanned", dump(trivy()), "t", {}).status == "skip"


def test_a_version_other_than_2_1_0_is_refused():
    doc = semgrep()
    doc["version"] = "1.0.0"
    outcome = judge_artifact("artifact.sarif.tool-ran", dump(doc), "old.sarif", {})
    assert outcome.status == "error" and "2.1.0" in outcome.summary
