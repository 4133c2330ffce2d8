"""What an artifact check is, the registry that holds them, and `judge_artifact`, the one way in.

An artifact check judges a file a pipeline produced (a JUnit report, a SARIF scan, a k6 summary...)
the way a probe judges a snapshot: `(artifact, params) -> Outcome`, with the same statuses, findings
and params validation (`probes.engine.outcome`). It imports no Django: the app calls `judge_artifact` with the
bytes of an uploaded evidence file and records the outcome.
"""
import hashlib
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass

from probes.engine.outcome import NoParams, Outcome, ParamsError, parse_params

MB = 1024 * 1024


class ArtifactError(ValueError):
    """An artifact that cannot be judged: too large, malformed, hostile or of the wrong format.

    `code` is stable for callers to branch on ("too-large", "malformed", "hostile", "wrong-format",
    "empty"); the message names the file and, where it can, the line.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class UnknownCheck(LookupError):
    pass


@dataclass(frozen=True)
class Artifact:
    """The file as received. `data` is never decoded by the registry: each format reads it itself."""

    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ArtifactCheck:
    id: str
    title: str
    description: str
    format: str  # a key of FORMATS: what file the check reads
    params: type
    items: tuple[str, ...]  # seed item keys this check can decide
    check: Callable[[Artifact, typing.Any], Outcome]

    def parse_params(self, raw: dict | None) -> typing.Any:
        return validated_params(self.params, raw or {}, where=f"check {self.id}")

    def defaults(self) -> dict:
        return asdict(self.params())


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    max_bytes: int


# Budgets are generous for what real pipelines produce (a 10,000-test JUnit report is ~2 MB; a
# Trivy scan of a large image ~20 MB) and small enough that one upload cannot exhaust a worker.
FORMATS = {
    f.name: f
    for f in [
        Format("junit", "JUnit XML test report (pytest --junitxml, Maven Surefire, Jest, go-junit-report)", 64 * MB),
        Format("coverage", "Cobertura XML (coverage xml, JaCoCo converters) or coverage.py JSON (coverage json)", 64 * MB),
        Format("sarif", "SARIF 2.1.0 from any scanner (Trivy, Grype, Semgrep, gitleaks, Checkov, CodeQL)", 128 * MB),
        Format("loadtest", "k6 --summary-export JSON or Locust --csv stats (PREFIX_stats.csv)", 16 * MB),
        Format("dockerfile", "a Dockerfile", 1 * MB),
        Format("listing", "a repository listing: `git ls-files` output, one path per line (or -z)", 32 * MB),
        Format("workflow", "a CI workflow file (GitHub Actions YAML)", 2 * MB),
    ]
}

ARTIFACT_CHECKS: dict[str, ArtifactCheck] = {}


def artifact_check(id: str, title: str, *, format: str, params: type = NoParams, items=()):
    """Register the decorated function as an artifact check; its docstring is the description."""
    if format not in FORMATS:
        raise ValueError(f"unknown artifact format {format!r}")

    def register(check):
        if id in ARTIFACT_CHECKS:
            raise ValueError(f"artifact check {id!r} is registered twice")
        description = " ".join((check.__doc__ or "").split())
        ARTIFACT_CHECKS[id] = ArtifactCheck(id, title, description, format, params, tuple(items), check)
        return check

    return register


def validated_params(cls: type, raw: dict, *, where: str):
    """`probes.engine.outcome.parse_params`, plus the range checks a params class makes in `__post_init__`."""
    try:
        return parse_params(cls, raw, where=where)
    except ParamsError as exc:
        if str(exc).startswith(where):
            raise
        raise ParamsError(f"{where}: {exc}") from None


def judge_artifact(check_id: str, data: bytes, filename: str, params: dict | None = None) -> Outcome:
    """Judge one file with one check. Never raises for a bad file: a malformed, hostile or oversized
    artifact is an `error` outcome naming the file and the reason (`observed["error"]` holds the
    code). Raises `UnknownCheck` for an id not in the registry and `ParamsError` for bad params,
    both of which are the caller's mistakes, not the artifact's.

    `observed` always holds the file's name, size and SHA-256, so the verdict names its evidence.
    """
    check = ARTIFACT_CHECKS.get(check_id)
    if check is None:
        raise UnknownCheck(f"unknown artifact check {check_id!r}")
    parsed = check.parse_params(params)
    artifact = Artifact(filename or "artifact", bytes(data))
    evidence = {"filename": artifact.filename, "size": len(artifact.data), "sha256": artifact.sha256, "check": check_id}
    limit = FORMATS[check.format].max_bytes
    if len(artifact.data) > limit:
        return Outcome("error", f"{artifact.filename}: {len(artifact.data) / MB:.1f} MB is over the {limit // MB} MB limit for {check.format} files",
                       observed={**evidence, "error": "too-large"})
    if not artifact.data.strip():
        return Outcome("error", f"{artifact.filename}: the file is empty", observed={**evidence, "error": "empty"})
    try:
        outcome = check.check(artifact, parsed)
    except ArtifactError as exc:
        return Outcome("error", str(exc), observed={**evidence, "error": exc.code})
    except RecursionError:
        return Outcome("error", f"{artifact.filename}: nested too deeply to read", observed={**evidence, "error": "hostile"})
    outcome.observed = {**evidence, **outcome.observed}
    return outcome
