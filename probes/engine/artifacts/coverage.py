"""Code coverage: Cobertura XML or coverage.py JSON, line and branch rate against thresholds."""
from dataclasses import dataclass

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import number, read_json, read_xml
from probes.engine.outcome import Finding, Outcome, ParamsError

MAX_FILE_FINDINGS = 20


@dataclass
class Coverage:
    format: str  # "cobertura" or "coverage.py"
    line_percent: float
    branch_percent: float | None  # None: the report measured no branches
    files: dict[str, float]  # file -> line percent


def read_coverage(artifact: Artifact) -> Coverage:
    head = artifact.data.lstrip()[:1]
    if head == b"<":
        return _cobertura(artifact)
    if head == b"{":
        return _coverage_json(artifact)
    raise ArtifactError("wrong-format", f"{artifact.filename}: neither Cobertura XML nor coverage.py JSON")


def _cobertura(artifact: Artifact) -> Coverage:
    root = read_xml(artifact, expect=("coverage",))
    line_rate = number(root.get("line-rate"))
    if line_rate is None:
        raise ArtifactError("malformed", f"{artifact.filename}: <coverage> has no line-rate attribute")
    branch_rate = number(root.get("branch-rate"))
    branches_valid = number(root.get("branches-valid"))
    # coverage.py writes branch-rate="0" branches-valid="0" when it did not measure branches.
    measured = branch_rate is not None and (branches_valid is None or branches_valid > 0)
    branch = branch_rate * 100 if measured else None
    files = {}
    for cls in root.iter("class"):
        rate = number(cls.get("line-rate"))
        if cls.get("filename") and rate is not None:
            files[cls.get("filename")] = rate * 100
    return Coverage("cobertura", line_rate * 100, branch, files)


def _coverage_json(artifact: Artifact) -> Coverage:
    data = read_json(artifact, "a coverage.py JSON report")
    totals = data.get("totals") if isinstance(data, dict) else None
    if not isinstance(totals, dict) or number(totals.get("num_statements")) is None:
        raise ArtifactError("wrong-format", f"{artifact.filename}: not a coverage.py JSON report (no totals.num_statements)")
    statements, covered = number(totals.get("num_statements"), 0), number(totals.get("covered_lines"), 0)
    line = 100.0 if statements == 0 else covered * 100 / statements
    branch = None
    if (data.get("meta") or {}).get("branch_coverage") and number(totals.get("num_branches")):
        branch = number(totals.get("covered_branches"), 0) * 100 / number(totals.get("num_branches"))
    files = {}
    for path, entry in (data.get("files") or {}).items():
        summary = (entry or {}).get("summary") or {}
        n = number(summary.get("num_statements"))
        if n:
            files[path] = number(summary.get("covered_lines"), 0) * 100 / n
    return Coverage("coverage.py", line, branch, files)


@dataclass(frozen=True)
class CoverageParams:
    line_min: float = 80.0  # percent of lines covered (the seed: >80%)
    branch_min: float | None = 80.0  # percent of branches; null to judge lines only

    def __post_init__(self):
        for name in ("line_min", "branch_min"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 100:
                raise ParamsError(f"param {name}: a percentage from 0 to 100, not {value}")


@artifact_check(
    "artifact.coverage.threshold",
    "Test coverage meets the threshold",
    format="coverage",
    params=CoverageParams,
    items=["testing.unit-tests-cover-critical-business-logic-80"],
)
def coverage_threshold(artifact: Artifact, p: CoverageParams) -> Outcome:
    """The report's total line coverage is at least `line_min` percent and, unless `branch_min` is
    null, its branch coverage at least `branch_min` (a report without branch data fails: run
    coverage with --branch). Findings name the total and the least-covered files."""
    cov = read_coverage(artifact)
    findings = []
    if cov.line_percent < p.line_min:
        findings.append(Finding(artifact.filename, "line-rate", f"{cov.line_percent:.1f}% of lines covered; at least {p.line_min:g}% needed"))
    if p.branch_min is not None:
        if cov.branch_percent is None:
            findings.append(Finding(artifact.filename, "branch-rate", "the report measured no branches; run coverage with --branch (or set branch_min: null)"))
        elif cov.branch_percent < p.branch_min:
            findings.append(Finding(artifact.filename, "branch-rate", f"{cov.branch_percent:.1f}% of branches covered; at least {p.branch_min:g}% needed"))
    observed = {"format": cov.format, "line_percent": round(cov.line_percent, 2),
                "branch_percent": None if cov.branch_percent is None else round(cov.branch_percent, 2), "files": len(cov.files)}
    branch_text = "" if cov.branch_percent is None else f", {cov.branch_percent:.1f}% of branches"
    if findings:
        lowest = sorted((pct, path) for path, pct in cov.files.items() if pct < p.line_min)[:MAX_FILE_FINDINGS]
        findings += [Finding(path, "line-rate", f"{pct:.1f}% of lines covered") for pct, path in lowest]
        return Outcome("fail", f"coverage {cov.line_percent:.1f}% of lines{branch_text}: below the threshold", findings, observed=observed)
    return Outcome("pass", f"coverage {cov.line_percent:.1f}% of lines{branch_text} meets {p.line_min:g}%", observed=observed)
