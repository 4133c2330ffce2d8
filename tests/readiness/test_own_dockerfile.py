"""Readiness's own image passes the artifact checks it runs on its users' Dockerfiles."""
from pathlib import Path

import pytest

from probes.engine.artifacts import ARTIFACT_CHECKS, judge_artifact
from probes.engine.artifacts.dockerfile import read_stages
from probes.engine.artifacts.base import Artifact

DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile"
DOCKERFILE_CHECKS = sorted(check_id for check_id, check in ARTIFACT_CHECKS.items() if check.format == "dockerfile")


def test_every_dockerfile_check_is_asked():
    assert {"artifact.dockerfile.multi-stage", "artifact.dockerfile.non-root",
            "artifact.dockerfile.pinned-base"} <= set(DOCKERFILE_CHECKS)


@pytest.mark.parametrize("check_id", DOCKERFILE_CHECKS)
def test_own_dockerfile_passes(check_id):
    outcome = judge_artifact(check_id, DOCKERFILE.read_bytes(), "docker/Dockerfile")
    assert (outcome.status, outcome.summary) == ("pass", outcome.summary), outcome.findings


def test_the_runtime_stage_ships_no_build_tools():
    stages = read_stages(Artifact("docker/Dockerfile", DOCKERFILE.read_bytes()))
    runtime = stages[-1]
    assert runtime.base == stages[0].base  # the same pinned slim image, without the compilers
    runtime_text = " ".join(i.args for i in runtime.instructions)
    assert "build-essential" not in runtime_text and "pip install" not in runtime_text
    assert any(i.keyword == "COPY" and "--from=build" in i.args and "/venv" in i.args for i in runtime.instructions)
