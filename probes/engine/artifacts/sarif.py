"""SARIF 2.1.0 from any scanner: which tool ran, what it found at or above a severity, what it scanned."""
from dataclasses import dataclass, field

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import number, read_json
from probes.engine.outcome import Finding, Outcome, ParamsError
from probes.engine.imagerefs import parse_image
from probes.engine.shapes import INTEGER, MAPPING, SCALAR, STRING, misfit

SEVERITIES = ("none", "low", "medium", "high", "critical")
RANK = {s: i for i, s in enumerate(SEVERITIES)}
# SARIF levels have no "critical"; GitHub code scanning reads them this way.
LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "none"}
MAX_FINDINGS = 100
# The fields read below, as SARIF 2.1.0's schema types them: a file that types one otherwise is
# refused naming it, rather than read half-way.
_LOCATION = {"physicalLocation": {"artifactLocation": {"uri": SCALAR}, "region": {"startLine": INTEGER}},
             "logicalLocations": [{"name": SCALAR, "fullyQualifiedName": SCALAR}]}
_PROPERTIES = {"security-severity": SCALAR, "imageName": SCALAR, "image": SCALAR, "repoTags": [SCALAR],
               "repoDigests": [SCALAR]}
_SARIF = {"runs": [{
    "tool": {"driver": {"name": SCALAR, "version": SCALAR, "semanticVersion": SCALAR, "rules": [{
        "id": STRING, "properties": _PROPERTIES, "defaultConfiguration": {"level": SCALAR}}]}},
    "results": [{"ruleId": STRING, "ruleIndex": INTEGER, "kind": SCALAR, "level": SCALAR, "message": {"text": SCALAR},
                 "locations": [_LOCATION], "suppressions": [{"status": SCALAR}], "properties": _PROPERTIES}],
    "invocations": [MAPPING],
    "properties": _PROPERTIES,
}]}


@dataclass(frozen=True)
class Result:
    tool: str
    rule: str
    severity: str
    message: str
    location: str
    line: int | None
    suppressed: bool


@dataclass
class Run:
    tool: str
    version: str
    succeeded: bool  # False when an invocation says executionSuccessful: false
    results: list[Result]
    images: list[str]  # images the run names as its target (Trivy: properties.imageName, repoTags, repoDigests)


def read_sarif(artifact: Artifact) -> list[Run]:
    data = read_json(artifact, "SARIF")
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ArtifactError("wrong-format", f"{artifact.filename}: not SARIF (no runs array)")
    version = str(data.get("version", ""))
    if version != "2.1.0":
        raise ArtifactError("wrong-format", f"{artifact.filename}: SARIF version {version or 'missing'}; 2.1.0 is read")
    problem = misfit(data, _SARIF)
    if problem:
        raise ArtifactError("malformed", f"{artifact.filename}: {problem}")
    return [_run(artifact, index, run) for index, run in enumerate(data["runs"])]


def _run(artifact: Artifact, index: int, run) -> Run:
    driver = ((run or {}).get("tool") or {}).get("driver") if isinstance(run, dict) else None
    if not isinstance(driver, dict) or not driver.get("name"):
        raise ArtifactError("malformed", f"{artifact.filename}: runs[{index}].tool.driver.name is missing")
    tool = str(driver["name"])
    rules = [r for r in driver.get("rules") or [] if isinstance(r, dict)]
    by_id = {r.get("id"): r for r in rules}
    results = []
    for raw in run.get("results") or []:
        if not isinstance(raw, dict) or raw.get("kind", "fail") != "fail":
            continue  # pass, notApplicable, informational... are not problems
        index_ = raw.get("ruleIndex")
        rule = rules[index_] if isinstance(index_, int) and 0 <= index_ < len(rules) else by_id.get(raw.get("ruleId")) or {}
        rule_id = str(raw.get("ruleId") or rule.get("id") or "")
        location, line = _location(raw)
        suppressions = raw.get("suppressions") or []
        suppressed = any(isinstance(s, dict) and s.get("status", "accepted") == "accepted" for s in suppressions)
        message = str((raw.get("message") or {}).get("text") or rule_id)
        results.append(Result(tool, rule_id, _severity(raw, rule), message.splitlines()[0][:300] if message else "", location, line, suppressed))
    succeeded = all(inv.get("executionSuccessful", True) is not False for inv in run.get("invocations") or [] if isinstance(inv, dict))
    properties = run.get("properties") or {}
    images = []
    if isinstance(properties, dict):
        for key in ("imageName", "image"):
            if isinstance(properties.get(key), str):
                images.append(properties[key])
        for key in ("repoTags", "repoDigests"):
            images += [v for v in properties.get(key) or [] if isinstance(v, str)]
    return Run(tool, str(driver.get("semanticVersion") or driver.get("version") or ""), succeeded, results, images)


def _severity(result: dict, rule: dict) -> str:
    """security-severity (a CVSS score, as Trivy, Grype and CodeQL write it) first, then the level."""
    for props in (result.get("properties"), rule.get("properties")):
        score = number((props or {}).get("security-severity")) if isinstance(props, dict) else None
        if score is not None:
            return "critical" if score >= 9 else "high" if score >= 7 else "medium" if score >= 4 else "low" if score > 0 else "none"
    level = result.get("level") or ((rule.get("defaultConfiguration") or {}).get("level")) or "warning"  # SARIF's default
    return LEVELS.get(str(level), "medium")


def _location(result: dict) -> tuple[str, int | None]:
    for loc in result.get("locations") or []:
        physical = (loc or {}).get("physicalLocation") or {}
        uri = (physical.get("artifactLocation") or {}).get("uri")
        if uri:
            line = (physical.get("region") or {}).get("startLine")
            return str(uri), line if isinstance(line, int) else None
        for logical in (loc or {}).get("logicalLocations") or []:
            if (logical or {}).get("fullyQualifiedName") or (logical or {}).get("name"):
                return str(logical.get("fullyQualifiedName") or logical.get("name")), None
    return "", None


def _tool_matches(tool: str, wanted: list[str]) -> bool:
    return any(w.casefold() in tool.casefold() for w in wanted)


def _check_severity(value: str) -> None:
    if value not in SEVERITIES[1:]:
        raise ParamsError(f"param fail_at: one of {', '.join(SEVERITIES[1:])}, not {value!r}")


@dataclass(frozen=True)
class SeverityParams:
    fail_at: str = "high"  # results at or above this severity fail: low, medium, high or critical
    tools: list[str] = field(default_factory=list)  # when set, a run by one of these tools must be in the file
    count_suppressed: bool = False  # True: suppressed results count too

    def __post_init__(self):
        _check_severity(self.fail_at)


def _require_tools(artifact: Artifact, runs: list[Run], tools: list[str]) -> Outcome | None:
    ran = sorted({r.tool for r in runs})
    if tools and not any(_tool_matches(r.tool, tools) for r in runs):
        return Outcome("fail", f"no run by {' or '.join(tools)} in the file (tools: {', '.join(ran) or 'none'})",
                       [Finding(artifact.filename, "runs[].tool.driver.name", f"expected a scan by {' or '.join(tools)}")], observed={"tools": ran})
    failed = [r.tool for r in runs if not r.succeeded and (not tools or _tool_matches(r.tool, tools))]
    if failed:
        return Outcome("fail", f"the scan by {', '.join(failed)} did not complete (executionSuccessful: false)",
                       [Finding(artifact.filename, "runs[].invocations[].executionSuccessful", f"{t} reported a failed execution") for t in failed],
                       observed={"tools": ran})
    return None


@artifact_check(
    "artifact.sarif.severity-threshold",
    "The scan found nothing at or above the severity",
    format="sarif",
    params=SeverityParams,
    items=["secrets-management.api-keys-are-not-hardcoded-in-code-or-config"],
)
def severity_threshold(artifact: Artifact, p: SeverityParams) -> Outcome:
    """No (unsuppressed) result at or above `fail_at`, severity read from `security-severity` (CVSS)
    when the scanner gives one and from the SARIF level otherwise (error = high, warning = medium,
    note = low). With `tools`, the file must hold a completed run by one of them."""
    runs = read_sarif(artifact)
    refused = _require_tools(artifact, runs, p.tools)
    if refused:
        return refused
    judged = [r for run in runs if not p.tools or _tool_matches(run.tool, p.tools) for r in run.results]
    counted = [r for r in judged if p.count_suppressed or not r.suppressed]
    by_severity = {s: 0 for s in SEVERITIES}
    for r in counted:
        by_severity[r.severity] += 1
    bad = [r for r in counted if RANK[r.severity] >= RANK[p.fail_at]]
    bad.sort(key=lambda r: -RANK[r.severity])
    observed = {"tools": sorted({run.tool for run in runs}), "results": len(judged), "by_severity": by_severity,
                "suppressed": sum(r.suppressed for r in judged)}
    if bad:
        findings = [Finding(r.location or artifact.filename, r.rule or "result", f"{r.severity}: {r.message} ({r.tool})",
                            source=r.location or None, line=r.line) for r in bad[:MAX_FINDINGS]]
        return Outcome("fail", f"{len(bad)} result(s) at or above {p.fail_at} from {', '.join(observed['tools'])}", findings, observed=observed)
    if not runs:
        raise ArtifactError("empty", f"{artifact.filename}: the SARIF file holds no runs, so no scan to judge")
    return Outcome("pass", f"no result at or above {p.fail_at} in {len(counted)} result(s) from {', '.join(observed['tools'])}", observed=observed)


@dataclass(frozen=True)
class ToolParams:
    tools: list[str] = field(default_factory=list)  # empty: any scanner counts


@artifact_check(
    "artifact.sarif.tool-ran",
    "A scanner ran to completion",
    format="sarif",
    params=ToolParams,
    items=["compliance-auditing.regular-security-scans-are-performed"],
)
def tool_ran(artifact: Artifact, p: ToolParams) -> Outcome:
    """The file holds a completed run by one of `tools` (any scanner when empty), whatever it found:
    it shows the scan was performed, not that the code is clean."""
    runs = read_sarif(artifact)
    if not runs:
        raise ArtifactError("empty", f"{artifact.filename}: the SARIF file holds no runs")
    refused = _require_tools(artifact, runs, p.tools)
    if refused:
        return refused
    tools = sorted({f"{r.tool} {r.version}".strip() for r in runs})
    return Outcome("pass", f"scanned by {', '.join(tools)}: {sum(len(r.results) for r in runs)} result(s)", observed={"tools": tools})


@dataclass(frozen=True)
class ImagesParams:
    images: list[str] = field(default_factory=list)  # the release's images (from its last manifest or cluster run)
    tools: list[str] = field(default_factory=lambda: ["trivy", "grype", "snyk"])


def _same_image(wanted: str, scanned: str) -> bool:
    a, b = parse_image(wanted), parse_image(scanned)
    if a.path != b.path:
        return False
    if a.digest and b.digest:
        return a.digest == b.digest
    if b.digest and not b.tag:
        return False  # a digest alone cannot be matched to a tag
    return (a.tag or "latest") == (b.tag or "latest")


@artifact_check(
    "artifact.sarif.images-scanned",
    "Every image of the release was scanned",
    format="sarif",
    params=ImagesParams,
    items=["container-images.images-are-scanned-for-vulnerabilities-trivy-snyk"],
)
def images_scanned(artifact: Artifact, p: ImagesParams) -> Outcome:
    """Every image in `images` is the target of a completed run by one of `tools` (matched by
    repository and tag, or by digest). A run counts as scanning an image when it names it
    (Trivy writes `properties.imageName`, `repoTags` and `repoDigests`). Without `images` there
    is nothing to compare against, so the check skips."""
    runs = read_sarif(artifact)
    if not p.images:
        return Outcome("skip", "no list of the release's images to compare the scan against: run probes on its cluster or manifests first",
                       observed={"scanned": sorted({i for r in runs for i in r.images})})
    refused = _require_tools(artifact, runs, p.tools)
    if refused:
        return refused
    scanned = [i for r in runs if _tool_matches(r.tool, p.tools) for i in r.images]
    missing = [image for image in p.images if not any(_same_image(image, s) for s in scanned)]
    observed = {"images": len(p.images), "scanned": sorted(set(scanned))}
    if missing:
        return Outcome("fail", f"{len(missing)} of {len(p.images)} images were not scanned",
                       [Finding(image, "image", f"no {' or '.join(p.tools)} run in {artifact.filename} names this image") for image in missing],
                       observed=observed)
    return Outcome("pass", f"all {len(p.images)} images were scanned", observed=observed)
