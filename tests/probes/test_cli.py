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


def test_a_link_leaving_the_folder_is_refused_and_one_inside_is_read(tmp_path, workload_release):
    outside = tmp_path / "secret.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\n")
    folder = tmp_path / "chart"
    folder.mkdir()
    (folder / "app.yaml").write_bytes((BUNDLES / "good" / "app.yaml").read_bytes())
    (folder / "same.yaml").symlink_to(folder / "app.yaml")
    assert probe("--manifests", str(folder))[0] in (0, 1)  # read, not refused: the link stays inside
    for link in (folder / "passwd.yaml", folder / "etc"):
        link.symlink_to(outside if link.suffix else tmp_path)
        with pytest.raises(CommandError, match=f"{link}: a link to .*, outside {folder}") as error:
            call_command("probe", "--manifests", str(folder), stdout=io.StringIO())
        assert error.value.returncode == 2
        with pytest.raises(CommandError, match="links must stay inside the folder"):
            call_command("probe", "--manifests", str(folder), "--release", str(workload_release.pk), stdout=io.StringIO())
        link.unlink()


@pytest.mark.parametrize("text, says", [
    ("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 5000 + "]" * 5000 + "\n", "line 3: nested more than 64 levels deep"),
    ("apiVersion: v1\nkind: ConfigMap\ndata:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 3001)),
     "nested more than 64 levels deep"),
    ("apiVersion: v1\nkind: List\nitems: &a [*a]\n", "refers to the node that contains it"),
])
def test_deep_or_recursive_yaml_exits_2_with_a_message(tmp_path, text, says):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    for source in (str(path), str(tmp_path)):
        with pytest.raises(CommandError, match=says) as error:
            call_command("probe", "--manifests", source, stdout=io.StringIO())
        assert error.value.returncode == 2
    archive = tmp_path / "deep.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(path, arcname="chart/deep.yaml")
    with pytest.raises(CommandError, match=says) as error:
        call_command("probe", "--manifests", str(archive), stdout=io.StringIO())
    assert error.value.returncode == 2 and str(error.value).startswith("chart/deep.yaml: document 1 line ")


def test_cluster_source_with_release_records_an_error_run(workload_release, k8s_server):
    cluster = services.cluster_create(name="gone", kubeconfig=k8s_server.kubeconfig())
    k8s_server.stop()
    with pytest.raises(CommandError, match="Cannot reach the cluster") as error:
        call_command("probe", "--cluster", cluster.name, "--release", str(workload_release.pk), stdout=io.StringIO())
    assert error.value.returncode == 2
    assert ProbeRun.objects.get().state == "error"


def test_cluster_source_evaluates_the_live_objects(workload_release, k8s_server):
    from probes.engine.manifests import load_manifests

    k8s_server.objects = load_manifests(BUNDLES / "good").objects
    services.cluster_create(name="live", kubeconfig=k8s_server.kubeconfig())
    code, out = probe("--cluster", "live", "--release", str(workload_release.pk), "--format", "json")
    assert code == 0, out
    assert {p["status"] for p in json.loads(out)["probes"]} == {"pass"}


def _json(args):
    import json

    code, out = probe(*args, "--format", "json")
    return code, {p["id"]: p for p in json.loads(out)["probes"]}


def test_one_probe_can_be_run_alone_with_its_own_params(tmp_path):
    bundle = str(BUNDLES / "good")
    code, results = _json(["--manifests", bundle, "--probe", "workloads.replicas"])
    assert list(results) == ["workloads.replicas"] and results["workloads.replicas"]["status"] == "pass"
    params = tmp_path / "params.yaml"
    params.write_text("workloads.replicas: {min_replicas: 50}\n")
    code, results = _json(["--manifests", bundle, "--probe", "workloads.replicas", "--params", str(params)])
    assert code == 1 and results["workloads.replicas"]["status"] == "fail"


def test_several_probes_and_one_the_template_does_not_bind():
    code, results = _json(["--manifests", str(BUNDLES / "good"), "--probe", "workloads.replicas", "--probe", "security.non-root"])
    assert sorted(results) == ["security.non-root", "workloads.replicas"]


@pytest.mark.parametrize("text, message", [
    ("workloads.replicas: {min_replicas: two}\n", "expected an integer"),
    ("no.such.probe: {}\n", "unknown probe 'no.such.probe'"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_params_files_exit_2_naming_the_file(tmp_path, text, message):
    params = tmp_path / "params.yaml"
    params.write_text(text)
    with pytest.raises(CommandError, match=message) as error:
        call_command("probe", "--manifests", str(BUNDLES / "good"), "--params", str(params), stdout=io.StringIO())
    assert error.value.returncode == 2 and str(params) in str(error.value)


def test_unknown_probes_and_templates_exit_2():
    with pytest.raises(CommandError, match="Unknown probe") as error:
        call_command("probe", "--manifests", str(BUNDLES / "good"), "--probe", "nope", stdout=io.StringIO())
    assert error.value.returncode == 2
    with pytest.raises(CommandError, match="No template named 'Nope'") as error:
        call_command("probe", "--manifests", str(BUNDLES / "good"), "--template", "Nope", stdout=io.StringIO())
    assert error.value.returncode == 2


def test_another_templates_bindings():
    from checklists.services.templates import template_import

    template_import(data=b"# Ops\n\n## Run\n- [ ] Enough replicas\n", source_name="ops.md",
                    metadata={"probes": {"run.enough-replicas": {"probe": "workloads.replicas", "params": {"min_replicas": 2}}}})
    code, results = _json(["--manifests", str(BUNDLES / "good"), "--template", "Ops"])
    assert list(results) == ["workloads.replicas"]


def test_a_compose_file_beside_the_manifests_is_skipped_with_a_note(tmp_path):
    import shutil

    folder = tmp_path / "docker"
    shutil.copytree(BUNDLES / "good", folder / "k8s")
    (folder / "compose.yaml").write_text("services:\n  web:\n    image: readiness:1.0\n")
    err = io.StringIO()
    try:
        call_command("probe", "--manifests", str(folder), "--probe", "workloads.replicas", stdout=io.StringIO(), stderr=err)
    except SystemExit as exit:
        assert exit.code != 2
    assert "compose.yaml: document 1: no apiVersion or kind" in err.getvalue()


_LOADED = """
import atexit, json, os, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in ("typst", "kubernetes", "redis", "celery") if m in sys.modules)),
                              file=sys.stderr))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", *sys.argv[1:]])
"""


@pytest.mark.django_db(transaction=True)  # the command runs in another process: it must see the data
def test_probe_on_manifests_imports_neither_the_pdf_engine_nor_kubernetes_nor_the_job_queue(tmp_path):
    """A CI step should not pay for the PDF renderer, the cluster client or the job queue (Celery and
    its Redis client) it never uses: all are imported on first use, and the command skips the system
    checks (which import every view)."""
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


def test_params_for_a_probe_the_run_does_not_evaluate_are_refused_not_ignored(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("security.seccomp: {}\n")
    with pytest.raises(CommandError, match="which this run does not evaluate; add --probe security.seccomp") as error:
        call_command("probe", "--manifests", str(BUNDLES / "good"), "--params", str(params), stdout=io.StringIO())
    assert error.value.returncode == 2
