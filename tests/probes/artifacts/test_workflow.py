"""GitHub Actions workflows: what runs on which events."""
from pathlib import Path

from probes.engine.artifacts import judge_artifact

CI = b"""name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ruff check . && ruff format --check .
      - run: python -m pytest -q
      - uses: aquasecurity/trivy-action@0.28.0
        with: {scan-type: fs}
  image:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ghcr.io/acme/api:${{ github.sha }}
  deploy:
    needs: image
    environment: staging
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -k deploy/staging
      - uses: slackapi/slack-github-action@v1
"""

MANUAL = b"""name: Release
on: workflow_dispatch
jobs:
  deploy:
    environment: {name: staging}
    runs-on: ubuntu-latest
    steps: [{run: make deploy}]
"""


def test_tests_run_on_pull_requests():
    outcome = judge_artifact("artifact.workflow.step", CI, "ci.yml", {})
    assert outcome.status == "pass" and outcome.summary == "workflow CI runs tests on pull_request (test)"


def test_linters_scanners_pushes_and_notifications_are_found_by_pattern():
    for patterns, events in ([r"\bruff\b"], ["pull_request"]), ([r"trivy"], ["push"]), ([r"build-push-action.*push=True"], ["push"]), ([r"slack"], []):
        assert judge_artifact("artifact.workflow.step", CI, "ci.yml", {"patterns": patterns, "events": events}).status == "pass", patterns


def test_a_workflow_not_triggered_by_pull_requests_fails_naming_the_events():
    outcome = judge_artifact("artifact.workflow.step", MANUAL, "release.yml", {"patterns": ["make"]})
    assert outcome.status == "fail" and "runs on workflow_dispatch, not on pull_request" in outcome.summary


def test_automated_deployment_needs_the_environment_and_an_automatic_trigger():
    assert judge_artifact("artifact.workflow.deploys-to", CI, "ci.yml", {}).status == "pass"
    manual = judge_artifact("artifact.workflow.deploys-to", MANUAL, "release.yml", {})
    assert manual.status == "fail" and "not on push" in manual.summary
    prod = judge_artifact("artifact.workflow.deploys-to", CI, "ci.yml", {"environment": "prod"})
    assert prod.status == "fail" and "environments: staging" in prod.findings[0].message


def test_an_alias_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    bomb = ("\n".join(lines) + "\non: push\njobs: {j: {steps: [{run: *a8}]}}\n").encode()
    outcome = judge_artifact("artifact.workflow.step", bomb, "bomb.yml", {})
    assert outcome.status == "error" and outcome.observed["error"] == "hostile"


def test_our_own_workflows_if_any_are_readable():
    for path in (Path(__file__).resolve().parents[3] / ".github" / "workflows").glob("*.yml"):
        assert judge_artifact("artifact.workflow.step", path.read_bytes(), path.name, {}).status in ("pass", "fail")
