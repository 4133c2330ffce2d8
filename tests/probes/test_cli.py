"""`manage.py probe`: formats and exit codes (0 pass/skip, 1 fail, 2 error) on good and bad bundles."""
import io
import json
import tarfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from probes import services
from probes.models import ProbeRun

BUNDLES = Path(__file__).parent / "bundles"
WORKLOAD_PROBES = ["workloads.replicas", "workloads.resources", "workloads.health-probes", "images.pinned-tags"]

pytestmark = pytest.mark.django_db


def probe(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("probe", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit:
        return exit.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def workload_release(release):
    """The seed release bound only to probes a workload bundle can pass."""
    release.items.exclude(probe_id__in=WORKLOAD_PROBES).update(probe_id="")
    return release


def test_json_shape_is_exactly_as_documented_and_failures_exit_1():
    code, out = probe("--manifests", str(BUNDLES / "bad"), "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert list(document) == ["probes"]
    for entry in document["probes"]:
        assert list(entry) == ["id", "items", "status", "summary", "findings", "exempted"]
        for finding in entry["findings"]:
            assert list(finding) == ["object", "field", "message"]
    tags = next(p for p in document["probes"] if p["id"] == "images.pinned-tags")
    assert tags["status"] == "fail" and tags["findings"][0]["object"] == "shop/Deployment/web"


def test_a_passing_bundle_exits_0_and_records_the_run_on_the_release(workload_release):
    code, out = probe("--manifests", str(BUNDLES / "good"), "--release", str(workload_release.pk))
    assert code == 0, out
    assert "PASS  workloads.replicas" in out
    run = ProbeRun.objects.get()
    assert run.trigger == ProbeRun.Trigger.API and run.state == "done"
    assert workload_release.items.get(probe_id="workloads.replicas").status == "done"


def test_junit_and_sarif_outputs(tmp_path):
    target = tmp_path / "report.xml"
    code, out = probe("--manifests", str(BUNDLES / "bad" / "app.yaml"), "--format", "junit", "-o", str(target))
    assert code == 1 and out == ""
    suite = ET.parse(target).getroot().find("testsuite")
    assert int(suite.get("failures")) >= 1 and int(suite.get("skipped")) >= 1

    code, out = probe("--manifests", str(BUNDLES / "bad"), "--format", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "images.pinned-tags" for r in results)


def test_archives_are_read_like_folders(tmp_path):
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(BUNDLES / "bad" / "app.yaml", arcname="chart/app.yaml")
    assert probe("--manifests", str(archive))[0] == 1


def test_errors_exit_2_with_the_message(tmp_path, k8s_server):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    with pytest.raises(CommandError, match="not valid YAML") as error:
        call_command("probe", "--manifests", str(broken), stdout=io.StringIO())
    assert error.value.returncode == 2
    with pytest.raises(CommandError, match="no such file") as error:
        call_command("probe", "--manifests", str(tmp_path / "absent"), stdout=io.StringIO())
    assert error.value.returncode == 2
    with pytest.raises(CommandError, match="No cluster named") as error:
        call_command("probe", "--cluster", "nope", stdout=io.StringIO())
    assert error.value.returncode == 2

    k8s_server.fault("/api/v1/nodes", 403, times=None)
    services.cluster_create(name="locked", kubeconfig=k8s_server.kubeconfig())
    with pytest.raises(CommandError, match="403 Forbidden") as error:
        call_command("probe", "--cluster", "locked", stdout=io.StringIO())
    assert error.value.returncode == 2


def test_cluster_source_with_release_records_an_error_run(workload_release, k8s_server):
    cluster = services.cluster_create(name="gone", kubeconfig=k8s_server.kubeconfig())
    k8s_server.stop()
    with pytest.raises(CommandError, match="Cannot reach the cluster") as error:
        call_command("probe", "--cluster", cluster.name, "--release", str(workload_release.pk), stdout=io.StringIO())
    assert error.value.returncode == 2
    assert ProbeRun.objects.get().state == "error"


def test_cluster_source_evaluates_the_live_objects(workload_release, k8s_server):
    from probes.manifests import load_manifests

    k8s_server.objects = load_manifests(BUNDLES / "good").objects
    services.cluster_create(name="live", kubeconfig=k8s_server.kubeconfig())
    code, out = probe("--cluster", "live", "--release", str(workload_release.pk), "--format", "json")
    assert code == 0, out
    assert {p["status"] for p in json.loads(out)["probes"]} == {"pass"}


_LOADED = """
import atexit, json, os, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in ("weasyprint", "kubernetes") if m in sys.modules)),
                              file=sys.stderr))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", *sys.argv[1:]])
"""


@pytest.mark.django_db(transaction=True)  # the command runs in another process: it must see the data
def test_probe_on_manifests_imports_neither_weasyprint_nor_kubernetes(tmp_path):
    """A CI step should not pay for the PDF renderer or the cluster client it never uses: both are
    imported on first use, and the command skips the system checks (which import every view)."""
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit, urlunsplit

    from django.db import connection

    root = Path(__file__).resolve().parents[2]
    database = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]))
    out = tmp_path / "report.txt"
    result = subprocess.run([sys.executable, "-c", _LOADED, "probe", "--manifests", str(root / "docker" / "k8s"),
                             "-o", str(out)], env={**os.environ, "DATABASE_URL": database}, cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
    assert "pass" in out.read_text()
