"""Artifact checks: CI files (test reports, coverage, scans, load tests, Dockerfiles, repository
listings, workflows) judged by the same `(input, params) -> Outcome` shape as the probes.

Importing this package registers every check in `ARTIFACT_CHECKS`; `judge_artifact` is the entry
point for callers.
"""
from probes.engine.artifacts import coverage, dockerfile, junit, loadtest, repository, sarif, workflow  # noqa: F401
from probes.engine.artifacts.base import (  # noqa: F401
    ARTIFACT_CHECKS,
    FORMATS,
    Artifact,
    ArtifactCheck,
    ArtifactError,
    UnknownCheck,
    judge_artifact,
)
