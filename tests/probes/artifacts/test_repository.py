"""Repository listings as `git ls-files` prints them, from a real repository made in the test."""
import subprocess

import pytest

from probes.engine.artifacts import judge_artifact


@pytest.fixture
def repo(tmp_path):
    def make(*files):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        for name in files:
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x\n")
        subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "."], check=True)
        return subprocess.run(["git", "-C", str(tmp_path), "ls-files", "-z"], check=True, capture_output=True).stdout
    return make


def test_committed_env_files_fail_and_templates_do_not(repo):
    listing = repo("app.py", ".env.example", "services/api/.env", "deploy/.env.production")
    outcome = judge_artifact("artifact.repo.no-env-files", listing, "ls-files.txt", {})
    assert outcome.status == "fail" and sorted(f.object for f in outcome.findings) == ["deploy/.env.production", "services/api/.env"]


def test_a_clean_listing_passes(repo):
    listing = repo("app.py", ".env.example", ".github/workflows/ci.yml", "envoy.yaml")
    assert judge_artifact("artifact.repo.no-env-files", listing, "l", {}).status == "pass"


def test_ci_workflows_and_other_files_are_found_by_pattern(repo):
    listing = repo("app.py", ".github/workflows/ci.yml", "docs/openapi.yaml", "renovate.json")
    assert judge_artifact("artifact.repo.files-present", listing, "l", {}).status == "pass"
    assert judge_artifact("artifact.repo.files-present", listing, "l", {"any_of": [".github/dependabot.yml", "renovate.json"]}).status == "pass"
    assert judge_artifact("artifact.repo.files-present", listing, "l", {"any_of": ["openapi*.yaml", "swagger*.json"]}).status == "pass"


def test_a_listing_without_workflows_fails(repo):
    listing = repo("app.py", "README.md")
    outcome = judge_artifact("artifact.repo.files-present", listing, "l", {})
    assert outcome.status == "fail" and outcome.summary == "no CI workflow files among 2 tracked files"


def test_plain_newline_listings_are_read_too():
    assert judge_artifact("artifact.repo.no-env-files", b"./app.py\n./.env\n", "l", {}).findings[0].object == ".env"
