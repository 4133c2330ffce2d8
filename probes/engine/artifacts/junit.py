"""JUnit XML test reports: did the tests run, and did they pass?"""
import re
from dataclasses import dataclass, field

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import local, read_xml
from probes.engine.outcome import Finding, Outcome, ParamsError

MAX_FINDINGS = 50  # a report with 3,000 failures names the first fifty; the summary counts them all


@dataclass(frozen=True)
class TestCase:
    suite: str
    classname: str
    name: str
    file: str
    outcome: str  # "passed", "failed", "error", "skipped"
    message: str = ""

    @property
    def id(self) -> str:
        return "::".join(p for p in (self.classname or self.suite, self.name) if p)


def read_junit(artifact: Artifact) -> list[TestCase]:
    root = read_xml(artifact, expect=("testsuites", "testsuite"))
    cases: list[TestCase] = []
    _walk(root, root.get("name", "") if local(root.tag) == "testsuite" else "", cases)
    return cases


def _walk(element, suite: str, cases: list[TestCase]) -> None:
    for child in element:
        tag = local(child.tag)
        if tag in ("testsuite", "testsuites"):
            _walk(child, child.get("name", "") or suite, cases)
        elif tag == "testcase":
            cases.append(_case(child, suite))


def _case(element, suite: str) -> TestCase:
    outcome, message = "passed", ""
    for child in element:
        tag = local(child.tag)
        if tag in ("failure", "error"):  # an error outranks a failure; both outrank a skip
            if outcome != "error":
                outcome = "failed" if tag == "failure" else "error"
                message = child.get("message") or (child.text or "").strip()
        elif tag == "skipped" and outcome == "passed":
            outcome, message = "skipped", child.get("message") or ""
    first_line = message.strip().splitlines()[0][:300] if message.strip() else ""
    return TestCase(suite, element.get("classname", ""), element.get("name", ""), element.get("file", ""), outcome, first_line)


def _counts(cases: list[TestCase]) -> dict:
    counts = {"tests": len(cases), "passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for case in cases:
        counts[case.outcome] += 1
    return counts


@dataclass(frozen=True)
class TestsPassParams:
    min_tests: int = 1  # fewer tests run than this is a failure: an empty report proves nothing
    allow_skipped: bool = True  # False: a skipped test fails the check too

    def __post_init__(self):
        if self.min_tests < 1:
            raise ParamsError("param min_tests: must be at least 1, or an empty report would pass")


def _verdict(artifact: Artifact, cases: list[TestCase], p, what: str) -> Outcome:
    counts = _counts(cases)
    ran = counts["tests"] - counts["skipped"]
    bad = [c for c in cases if c.outcome in ("failed", "error") or (c.outcome == "skipped" and not p.allow_skipped)]
    findings = [
        Finding(f"{artifact.filename}:{c.id}", c.outcome, c.message or f"test {c.outcome}", source=c.file or None)
        for c in bad[:MAX_FINDINGS]
    ]
    observed = {**counts, "ran": ran}
    if bad:
        parts = [f"{counts[k]} {k}" for k in ("failed", "error") if counts[k]]
        if not p.allow_skipped and counts["skipped"]:
            parts.append(f"{counts['skipped']} skipped")
        return Outcome("fail", f"{', '.join(parts)} of {counts['tests']} {what}", findings, observed=observed)
    if ran < p.min_tests:
        return Outcome("fail", f"{ran} {what} ran; at least {p.min_tests} must", [
            Finding(artifact.filename, "testcase", f"the report holds {counts['tests']} {what}, {counts['skipped']} skipped")], observed=observed)
    skipped = f" ({counts['skipped']} skipped)" if counts["skipped"] else ""
    return Outcome("pass", f"all {ran} {what} passed{skipped}", observed=observed)


@artifact_check(
    "artifact.junit.tests-pass",
    "The test report shows tests ran and passed",
    format="junit",
    params=TestsPassParams,
    items=["testing.tests-run-in-ci-pipeline"],
)
def tests_pass(artifact: Artifact, p: TestsPassParams) -> Outcome:
    """A JUnit XML report with at least `min_tests` tests run and no failure or error (nor skip, when
    `allow_skipped` is false). Findings name each failed test and its message."""
    return _verdict(artifact, read_junit(artifact), p, "tests")


@dataclass(frozen=True)
class SuitesParams(TestsPassParams):
    # Regular expressions matched (case-insensitively) against each test's suite name, class name
    # and file: the tests they select must exist and pass.
    suite_patterns: list[str] = field(default_factory=lambda: ["integration"])
    label: str = "integration tests"  # how the summary names what the patterns select

    def __post_init__(self):
        super().__post_init__()
        if not self.suite_patterns:
            raise ParamsError("param suite_patterns: give at least one pattern")
        for pattern in self.suite_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ParamsError(f"param suite_patterns: {pattern!r} is not a regular expression: {exc}") from None


@artifact_check(
    "artifact.junit.suites-pass",
    "The selected test suites ran and passed",
    format="junit",
    params=SuitesParams,
    items=["testing.integration-tests-verify-service-interactions", "testing.e2e-tests-validate-complete-workflows"],
)
def suites_pass(artifact: Artifact, p: SuitesParams) -> Outcome:
    """The tests whose suite, class or file matches `suite_patterns` (integration tests by default)
    exist in the report, at least `min_tests` of them ran, and none failed. A report without any
    such test fails: it is not evidence that they ran."""
    cases = read_junit(artifact)
    regex = re.compile("|".join(f"(?:{pat})" for pat in p.suite_patterns), re.IGNORECASE)
    selected = [c for c in cases if regex.search(c.suite) or regex.search(c.classname) or regex.search(c.file)]
    if not selected:
        if not cases:
            raise ArtifactError("empty", f"{artifact.filename}: the report holds no test cases")
        return Outcome("fail", f"no {p.label} in the report: none of {len(cases)} tests matches {', '.join(p.suite_patterns)}",
                       [Finding(artifact.filename, "testsuite", f"no suite, class or file matches {', '.join(p.suite_patterns)}")],
                       observed={"tests": len(cases), "selected": 0})
    outcome = _verdict(artifact, selected, p, p.label)
    outcome.observed["selected"] = len(selected)
    outcome.observed["tests_in_report"] = len(cases)
    return outcome
