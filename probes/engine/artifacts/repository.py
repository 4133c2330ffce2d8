"""A repository listing (`git ls-files`): no committed .env files, CI workflows and other files present."""
import fnmatch
import posixpath
from dataclasses import dataclass, field

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import read_text
from probes.engine.outcome import Finding, Outcome, ParamsError

ENV_TEMPLATES = [".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults"]
CI_WORKFLOWS = [".github/workflows/*.yml", ".github/workflows/*.yaml"]
MAX_FINDINGS = 50


def read_listing(artifact: Artifact) -> list[str]:
    """Paths, one per line (or NUL-separated, as `git ls-files -z` writes them), without "./"."""
    text = read_text(artifact, "a repository listing")
    parts = text.split("\x00") if "\x00" in text else text.splitlines()
    paths = []
    for part in parts:
        path = part.strip().strip('"')
        if not path:
            continue
        if path.startswith("./"):
            path = path[2:]
        paths.append(path)
    if not paths:
        raise ArtifactError("empty", f"{artifact.filename}: the listing names no file")
    return paths


def _matches(path: str, pattern: str) -> bool:
    """Glob against the whole path; a pattern without "/" matches the file name in any folder."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(posixpath.basename(path), pattern)
    return fnmatch.fnmatchcase(path, pattern)


@dataclass(frozen=True)
class EnvParams:
    allow: list[str] = field(default_factory=lambda: list(ENV_TEMPLATES))  # committed templates are fine


@artifact_check(
    "artifact.repo.no-env-files",
    "No .env file is committed",
    format="listing",
    params=EnvParams,
    items=["secrets-management.env-files-are-not-committed-to-git"],
)
def no_env_files(artifact: Artifact, p: EnvParams) -> Outcome:
    """No tracked file is named `.env` or `.env.<anything>` (in any folder), except the templates in
    `allow` (.env.example and friends)."""
    paths = read_listing(artifact)
    found = [path for path in paths
             if _matches(path, ".env") or (_matches(path, ".env.*") and not any(_matches(path, a) for a in p.allow))]
    if found:
        return Outcome("fail", f"{len(found)} .env file(s) committed", [
            Finding(path, "git", "an environment file is tracked; remove it (git rm --cached), rotate what it held, and list it in .gitignore")
            for path in found[:MAX_FINDINGS]], observed={"files": len(paths), "env_files": found[:MAX_FINDINGS]})
    return Outcome("pass", f"no .env file among {len(paths)} tracked files", observed={"files": len(paths)})


@dataclass(frozen=True)
class PresentParams:
    any_of: list[str] = field(default_factory=lambda: list(CI_WORKFLOWS))  # glob patterns; one match is enough
    label: str = "CI workflow files"

    def __post_init__(self):
        if not self.any_of:
            raise ParamsError("param any_of: give at least one glob pattern")


@artifact_check(
    "artifact.repo.files-present",
    "The repository holds the expected files",
    format="listing",
    params=PresentParams,
    items=["continuous-integration.github-actions-workflows-are-configured",
           "continuous-improvement.regular-dependency-updates",
           "documentation.api-documentation-is-generated-openapi-swagger"],
)
def files_present(artifact: Artifact, p: PresentParams) -> Outcome:
    """At least one tracked file matches one of the glob patterns in `any_of` (GitHub Actions
    workflows by default; the bindings ask for Dependabot/Renovate configuration and OpenAPI
    documents the same way)."""
    paths = read_listing(artifact)
    found = [path for path in paths if any(_matches(path, pattern) for pattern in p.any_of)]
    observed = {"files": len(paths), "matched": found[:MAX_FINDINGS]}
    if not found:
        return Outcome("fail", f"no {p.label} among {len(paths)} tracked files",
                       [Finding(artifact.filename, "files", f"no file matches {', '.join(p.any_of)}")], observed=observed)
    return Outcome("pass", f"{len(found)} {p.label}: {', '.join(found[:5])}{'…' if len(found) > 5 else ''}", observed=observed)
