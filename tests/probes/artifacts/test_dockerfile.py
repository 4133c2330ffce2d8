"""Dockerfiles: stages, the user the image runs as, and pinned bases, with line numbers in findings."""
from pathlib import Path

from probes.engine.artifacts import judge_artifact

OURS = Path(__file__).resolve().parents[3] / "docker" / "Dockerfile"

SINGLE = b"""# syntax=docker/dockerfile:1
FROM python:latest
RUN pip install app
USER root
CMD ["app"]
"""

MULTI = b"""ARG PY=3.13
FROM python:${PY}-slim AS build
RUN pip wheel --wheel-dir /wheels \\
    app==1.2.3
FROM gcr.io/distroless/python3-debian12@sha256:""" + b"b" * 64 + b"""
COPY --from=build /wheels /wheels
USER 10001:10001
ENTRYPOINT ["python", "-m", "app"]
"""


def test_our_own_dockerfile_runs_as_non_root_on_a_pinned_base_in_two_stages():
    data = OURS.read_bytes()
    for check in ("artifact.dockerfile.multi-stage", "artifact.dockerfile.non-root", "artifact.dockerfile.pinned-base"):
        outcome = judge_artifact(check, data, "docker/Dockerfile", {})
        assert outcome.status == "pass", (check, outcome.summary)


def test_a_multi_stage_build_with_build_args_and_a_digest_passes():
    for check in ("artifact.dockerfile.multi-stage", "artifact.dockerfile.non-root", "artifact.dockerfile.pinned-base"):
        assert judge_artifact(check, MULTI, "Dockerfile", {}).status == "pass", check


def test_single_stage_root_and_latest_fail_naming_the_line():
    stages = judge_artifact("artifact.dockerfile.multi-stage", SINGLE, "Dockerfile", {})
    assert stages.status == "fail" and stages.findings[0].line == 2
    user = judge_artifact("artifact.dockerfile.non-root", SINGLE, "Dockerfile", {})
    assert user.status == "fail" and user.findings[0].object == "Dockerfile:4"
    base = judge_artifact("artifact.dockerfile.pinned-base", SINGLE, "Dockerfile", {})
    assert base.status == "fail" and "uses latest" in base.findings[0].message


def test_no_user_is_root_and_an_untagged_base_is_latest():
    data = b"FROM node AS build\nRUN npm ci\nFROM node:22-alpine\nCOPY --from=build /app /app\n"
    assert judge_artifact("artifact.dockerfile.non-root", data, "D", {}).summary == "the final stage sets no USER, so the container runs as root"
    base = judge_artifact("artifact.dockerfile.pinned-base", data, "D", {})
    assert base.status == "fail" and len(base.findings) == 1 and "has no tag" in base.findings[0].message


def test_stages_that_copy_nothing_across_do_not_count_as_multi_stage():
    data = b"FROM golang:1.23 AS tools\nRUN go version\nFROM alpine:3.20\nRUN echo hi\nUSER 1000\n"
    assert judge_artifact("artifact.dockerfile.multi-stage", data, "D", {}).status == "fail"
