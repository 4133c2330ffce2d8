"""A GitHub Actions workflow file: what runs on which events (tests on pull requests, scans on push)."""
import re
from dataclasses import dataclass, field

import yaml

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import read_text
from probes.engine.outcome import Finding, Outcome, ParamsError

MAX_NODES = 200_000  # YAML aliases can make a small file a huge tree to walk


@dataclass(frozen=True)
class Step:
    job: str
    index: int
    text: str  # "uses run name with-key=value..." for matching


@dataclass
class Workflow:
    name: str
    events: set[str]
    steps: list[Step]
    environments: dict[str, str]  # job id -> environment name


def read_workflow(artifact: Artifact) -> Workflow:
    text = read_text(artifact, "a workflow file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ArtifactError("malformed", f"{artifact.filename}: not valid YAML{where}") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise ArtifactError("wrong-format", f"{artifact.filename}: not a GitHub Actions workflow (no jobs mapping)")
    _bounded(data, artifact)
    # YAML 1.1 reads the bare key `on` as True.
    on = data.get("on", data.get(True))
    if isinstance(on, str):
        events = {on}
    elif isinstance(on, list):
        events = {str(e) for e in on}
    elif isinstance(on, dict):
        events = {str(e) for e in on}
    else:
        raise ArtifactError("wrong-format", f"{artifact.filename}: the workflow has no `on:` events")
    steps, environments = [], {}
    for job_id, job in data["jobs"].items():
        if not isinstance(job, dict):
            continue
        env = job.get("environment")
        env_name = env.get("name") if isinstance(env, dict) else env
        if env_name:
            environments[str(job_id)] = str(env_name)
        if job.get("uses"):  # a reusable workflow call counts as one step
            steps.append(Step(str(job_id), 0, f"{job['uses']} {_with(job.get('with'))}"))
        for index, step in enumerate(job.get("steps") or []):
            if isinstance(step, dict):
                parts = [str(step.get(k) or "") for k in ("uses", "run", "name")]
                steps.append(Step(str(job_id), index, " ".join(parts + [_with(step.get("with"))])))
    return Workflow(str(data.get("name") or artifact.filename), events, steps, environments)


def _with(values) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) if isinstance(values, dict) else ""


def _bounded(data, artifact: Artifact) -> None:
    seen, stack = 0, [data]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ArtifactError("hostile", f"{artifact.filename}: refused: the YAML expands to more than {MAX_NODES} nodes")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _regex(patterns: list[str], name: str) -> re.Pattern:
    if not patterns:
        raise ParamsError(f"param {name}: give at least one pattern")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ParamsError(f"param {name}: {pattern!r} is not a regular expression: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


TEST_RUNNERS = [r"\bpytest\b", r"\bmanage\.py test\b", r"\btox\b", r"\bnox\b", r"\bmake (test|check)\b", r"\b(npm|yarn|pnpm) (run )?test\b",
                r"\bjest\b", r"\bvitest\b", r"\bgo test\b", r"\bcargo test\b", r"\b(mvn|\./mvnw)\b.*\b(test|verify)\b",
                r"\b(gradle|\./gradlew)\b.*\b(test|check)\b", r"\bdotnet test\b", r"\brspec\b", r"\bphpunit\b"]


@dataclass(frozen=True)
class StepParams:
    patterns: list[str] = field(default_factory=lambda: list(TEST_RUNNERS))  # regexes over a step's uses/run/name/with
    events: list[str] = field(default_factory=lambda: ["pull_request"])  # the workflow must run on each of these
    label: str = "tests"

    def __post_init__(self):
        _regex(self.patterns, "patterns")


def _missing_events(artifact: Artifact, wf: Workflow, events: list[str]) -> Finding | None:
    wanted = {e: {e, f"{e}_target"} if e == "pull_request" else {e} for e in events}
    missing = [e for e, names in wanted.items() if not wf.events & names]
    if missing:
        return Finding(artifact.filename, "on", f"the workflow runs on {', '.join(sorted(wf.events))}, not on {', '.join(missing)}")
    return None


@artifact_check(
    "artifact.workflow.step",
    "The CI workflow runs the step on the events",
    format="workflow",
    params=StepParams,
    items=["continuous-integration.automated-tests-run-on-every-pr",
           "continuous-integration.code-quality-checks-are-enforced-linting-formatting",
           "continuous-integration.security-scans-run-on-every-build",
           "continuous-integration.docker-images-are-built-and-pushed-automatically",
           "continuous-deployment.deployment-notifications-are-sent-to-team"],
)
def workflow_step(artifact: Artifact, p: StepParams) -> Outcome:
    """The workflow is triggered by every event in `events` and has a step whose action, command,
    name or inputs match one of `patterns` (test runners on pull requests by default; the bindings
    ask for linters, scanners, image pushes and notifications the same way)."""
    wf = read_workflow(artifact)
    regex = _regex(p.patterns, "patterns")
    matched = [s for s in wf.steps if regex.search(s.text)]
    findings = []
    event_problem = _missing_events(artifact, wf, p.events)
    if event_problem:
        findings.append(event_problem)
    if not matched:
        findings.append(Finding(artifact.filename, "jobs.*.steps", f"no step runs {p.label} (none matches {', '.join(p.patterns[:4])}{'…' if len(p.patterns) > 4 else ''})"))
    observed = {"workflow": wf.name, "events": sorted(wf.events), "steps": len(wf.steps), "matched": [f"{s.job}.steps[{s.index}]" for s in matched][:20]}
    if findings:
        return Outcome("fail", f"workflow {wf.name}: {findings[0].message}", findings, observed=observed)
    on = f" on {', '.join(p.events)}" if p.events else ""
    return Outcome("pass", f"workflow {wf.name} runs {p.label}{on} ({matched[0].job})", observed=observed)


@dataclass(frozen=True)
class DeployParams:
    environment: str = "staging"  # regex for the job's environment name
    events: list[str] = field(default_factory=lambda: ["push"])  # automatic, not only workflow_dispatch

    def __post_init__(self):
        _regex([self.environment], "environment")


@artifact_check(
    "artifact.workflow.deploys-to",
    "The CI workflow deploys to the environment automatically",
    format="workflow",
    params=DeployParams,
    items=["continuous-deployment.automated-deployment-to-staging-environment"],
)
def deploys_to(artifact: Artifact, p: DeployParams) -> Outcome:
    """A job of the workflow targets a GitHub environment matching `environment` and the workflow is
    triggered by each of `events` (push by default), so deploying there needs nobody to start it."""
    wf = read_workflow(artifact)
    regex = re.compile(p.environment, re.IGNORECASE)
    jobs = [job for job, env in wf.environments.items() if regex.search(env)]
    findings = []
    event_problem = _missing_events(artifact, wf, p.events)
    if event_problem:
        findings.append(event_problem)
    if not jobs:
        findings.append(Finding(artifact.filename, "jobs.*.environment", f"no job deploys to an environment matching {p.environment!r} (environments: {', '.join(sorted(set(wf.environments.values()))) or 'none'})"))
    observed = {"workflow": wf.name, "events": sorted(wf.events), "environments": wf.environments}
    if findings:
        return Outcome("fail", f"workflow {wf.name}: {findings[0].message}", findings, observed=observed)
    return Outcome("pass", f"workflow {wf.name} deploys to {wf.environments[jobs[0]]} on {', '.join(p.events)} (job {jobs[0]})", observed=observed)
