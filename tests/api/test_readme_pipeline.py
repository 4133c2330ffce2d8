"""The README's pipeline steps, run as written with bash, curl and jq against a live server and a worker.

If a README example stops working, this test fails: the examples cannot rot.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from checklists.models import Evidence, Release, Role
from tests.api.conftest import worker_ready
from tests.celery_workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", section, flags=re.S | re.M)


SECTION = readme_section("Pipelines")
SH = blocks(SECTION, "sh")
YAML = blocks(SECTION, "yaml")
GATE_URL = '"$READINESS_URL/api/v1/gate/$SERVICE/$VERSION?environment=production"'


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "junit.xml").write_text('<testsuite name="integration" tests="1" failures="0" errors="0">'
                                        '<testcase classname="integration.orders" name="a"/></testsuite>')
    (tmp_path / "coverage.xml").write_text('<coverage line-rate="0.91" branch-rate="0" branches-valid="0">'
                                           '</coverage>')
    manifests = sorted((ROOT / "docker" / "k8s").glob("*.yaml"))
    (tmp_path / "rendered.yaml").write_text("\n---\n".join(p.read_text() for p in manifests))
    return tmp_path


def _bash(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_the_readme_pipeline_runs_as_written(live_server, workers, broker, people, approvers, seed_teams, workdir,
                                             settings, tmp_path):
    from api.services import service_token_create
    from checklists.seed import load_default_template
    from checklists.signoff import services as signoff
    from tests.factories import approve_all, complete_all

    assert len(SH) == 5, "the README's pipeline steps: create, evidence, bulk, probes, gate"
    # The worker stores and reads uploads where this process does.
    settings.MEDIA_ROOT = tmp_path / "data" / "uploads"
    workers.env["READINESS_DATA_DIR"] = str(tmp_path / "data")
    load_default_template()
    workers.start()
    wait_for(lambda: worker_ready(broker), timeout=60, what="the worker")
    _, secret = service_token_create(name="pipeline", team=seed_teams["release"], role=Role.RELEASE_MANAGER,
                                     by=people["admin"])
    env = {"PATH": os.environ["PATH"], "READINESS_URL": live_server.url, "READINESS_TOKEN": secret,
           "SERVICE": "shop", "VERSION": "3.2.0", "CI_RUN": "build-77"}
    steps, gate = "\n".join(SH[:4]), SH[4]

    done = _bash(steps, env, workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    release = Release.objects.get(service="shop", version="3.2.0")
    assert f"release {release.pk}" in done.stdout and "done: " in done.stdout
    assert Evidence.objects.filter(item__release=release, kind="file").count() == 2
    testing = release.items.filter(key__startswith="testing.")
    by_hand = release.items.filter(key__startswith="documentation.", probe_id="")
    assert by_hand.count() > 1 and by_hand.filter(status="done").count() == by_hand.count()
    assert release.probe_runs.get(trigger="api").state == "done"
    # The two files were judged by the worker, each by the check its item is bound to.
    uploads = release.probe_runs.filter(trigger="upload")
    wait_for(lambda: uploads.count() == 2 and all(run.finished_at for run in uploads), timeout=60,
             what="the artifact checks")
    judged = testing.filter(evidence__kind="file").distinct()
    assert judged.count() == 2 and set(judged.values_list("probe_status", flat=True)) <= {"pass", "fail", "error"}

    closed = _bash(gate, env, workdir)
    assert closed.returncode == 22  # curl --fail-with-body on the 409
    assert Release.objects.filter(service="shop").count() == 1

    again = _bash(SH[0], env, workdir)  # a retried step: the same release, nothing added
    assert again.returncode == 0 and f"release {release.pk}" in again.stdout
    assert Release.objects.filter(service="shop").count() == 1

    complete_all(release)
    signoff.signoff_open(release=release, by=people["admin"])
    approve_all(release, approvers)
    opened = _bash(gate, env, workdir)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert '"allowed": true' in opened.stdout


def test_the_ci_examples_are_valid_and_call_the_gate():
    github, gitlab, argo = (yaml.safe_load(block) for block in YAML)
    steps = github["jobs"]["deploy"]["steps"]
    assert GATE_URL in steps[0]["run"] and steps[0]["run"].strip() == SH[4].strip()
    assert GATE_URL in " ".join(gitlab["readiness-gate"]["script"])
    assert argo["kind"] == "AnalysisTemplate"
    metric = argo["spec"]["metrics"][0]
    assert metric["successCondition"] == "result.allowed == true"
    assert "/api/v1/gate/{{args.service}}/{{args.version}}" in metric["provider"]["web"]["url"]
    assert "dry_run=1" in metric["provider"]["web"]["url"]
