"""Probe run services end to end: manifest bundles and the real kubernetes client over loopback HTTP."""
import hashlib
import io
import json
import tarfile
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from checklists.models import AuditEvent, Evidence, Release, ReleaseItem
from probes import bundles, services
from probes.engine.manifests import load_manifests
from probes.models import Cluster, ProbeResult, ProbeRun, probe_bound

BUNDLES = Path(__file__).parent / "bundles"
REPLICAS = "workloads.replicas"  # passes on the good bundle, fails on the bad one (replicas: 1)
TAGS = "images.pinned-tags"  # passes on the good bundle, fails on the bad one (:latest)
DAPR = "dapr.control-plane"  # fails on both: no Dapr in the bundle
NODES = "cluster.node-count"  # skips on bundles: no Nodes in manifests

pytestmark = pytest.mark.django_db


def bundle_run(release, name, **kwargs):
    bundle = bundles.read_paths([BUNDLES / name])
    run = services.run_create(release=release, bundle=bundle, bundle_name=name, queue=False, **kwargs)
    return services.run_execute(run_id=run.pk)


def item(release, probe_id) -> ReleaseItem:
    return release.items.filter(probe_id=probe_id).order_by("order").first()


def test_bundle_run_decides_items_and_attaches_evidence(release):
    bound = release.items.filter(probe_bound()).count()

    execution = bundle_run(release, "good")

    run = execution.run
    assert run.state == ProbeRun.State.DONE and run.attempts == 1
    assert run.results.count() == bound  # one result per bound item, in one transaction
    passed = item(release, REPLICAS)
    assert passed.status == ReleaseItem.Status.DONE
    assert passed.decided_by_probe and passed.probe_status == "pass" and passed.probe_checked_at
    assert passed.version == 2
    evidence = Evidence.objects.get(item=passed)
    result = ProbeResult.objects.get(run=run, item=passed)
    assert evidence.kind == Evidence.Kind.PROBE and evidence.probe_result == result
    assert evidence.sha256 == hashlib.sha256(services.result_json(result).encode()).hexdigest()

    failed = item(release, DAPR)
    assert failed.status == ReleaseItem.Status.FAILED and failed.probe_status == "fail"
    assert ProbeResult.objects.get(run=run, item=failed).summary

    skipped = item(release, NODES)  # skip is recorded but never ticks the item
    assert skipped.status == ReleaseItem.Status.OPEN and skipped.probe_status == "skip"
    assert ProbeResult.objects.filter(run=run, item=skipped, status="skip").exists()
    assert not Evidence.objects.filter(item=skipped).exists()

    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "probes.item.decided" in actions and actions.count("probes.run.finished") == 1
    assert run.stats["results"]["pass"] >= 5 and run.stats["files"] == 1


def test_findings_name_object_field_and_file(release):
    run = bundle_run(release, "bad").run
    result = ProbeResult.objects.get(run=run, item=item(release, TAGS))
    assert result.status == "fail"
    [finding] = result.findings
    assert finding["object"] == "shop/Deployment/web"
    assert "image" in finding["field"] and finding["source"] == "bad/app.yaml"


def test_waived_and_not_applicable_items_keep_their_status(release):
    waived, na = item(release, REPLICAS), item(release, TAGS)
    ReleaseItem.objects.filter(pk=waived.pk).update(status=ReleaseItem.Status.WAIVED)
    ReleaseItem.objects.filter(pk=na.pk).update(status=ReleaseItem.Status.NOT_APPLICABLE)

    run = bundle_run(release, "bad").run

    waived.refresh_from_db()
    na.refresh_from_db()
    assert waived.status == ReleaseItem.Status.WAIVED and not waived.decided_by_probe
    assert na.status == ReleaseItem.Status.NOT_APPLICABLE
    assert waived.probe_status == na.probe_status == "fail"  # the result is still recorded
    assert ProbeResult.objects.filter(run=run, item__in=[waived, na], status="fail").count() == 2
    assert Evidence.objects.filter(item=waived, kind="probe").exists()


def test_regression_on_an_approved_release_is_flagged_as_drift(release):
    bundle_run(release, "good")
    Release.objects.filter(pk=release.pk).update(state=Release.State.APPROVED)
    release.refresh_from_db()

    bundle_run(release, "bad", trigger=ProbeRun.Trigger.SCHEDULE)

    release.refresh_from_db()
    regressed = item(release, REPLICAS)
    assert release.drifted
    assert regressed.status == ReleaseItem.Status.FAILED and regressed.regressed
    assert not item(release, DAPR).regressed  # it never passed: no drift
    assert AuditEvent.objects.filter(action="checklists.release.drifted", object_id=str(release.pk)).exists()


def test_a_second_execution_of_a_finished_run_stores_nothing(release):
    run = bundle_run(release, "good").run
    count = ProbeResult.objects.count()

    again = services.run_execute(run_id=run.pk)

    assert again.run is None and ProbeResult.objects.count() == count
    assert Evidence.objects.count() == ProbeResult.objects.filter(status__in=["pass", "fail"]).count()


def test_same_verdict_again_does_not_bump_the_item(release):
    bundle_run(release, "good")
    before = item(release, REPLICAS)
    bundle_run(release, "good")
    after = item(release, REPLICAS)
    assert after.version == before.version and after.probe_checked_at > before.probe_checked_at


def test_a_run_that_keeps_losing_its_worker_ends_failed(release):
    bundle = bundles.read_paths([BUNDLES / "good"])
    run = services.run_create(release=release, bundle=bundle, queue=False)
    ProbeRun.objects.filter(pk=run.pk).update(state="running", attempts=settings.READINESS_PROBE_MAX_ATTEMPTS)

    assert services.run_execute(run_id=run.pk).run is None

    run.refresh_from_db()
    assert run.state == ProbeRun.State.FAILED and "attempts" in run.message
    assert not run.results.exists()


def test_sweeper_requeues_stuck_runs_and_fails_exhausted_ones(release, broker):
    bundle = bundles.read_paths([BUNDLES / "good"])
    stuck = services.run_create(release=release, bundle=bundle, queue=False)
    exhausted = services.run_create(release=release, bundle=bundle, queue=False)
    fresh = services.run_create(release=release, bundle=bundle, queue=False)
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    ProbeRun.objects.filter(pk__in=[stuck.pk, exhausted.pk]).update(state="running", started_at=long_ago, attempts=1)
    ProbeRun.objects.filter(pk=exhausted.pk).update(attempts=settings.READINESS_PROBE_MAX_ATTEMPTS)
    ProbeRun.objects.filter(pk=fresh.pk).update(state="running", started_at=timezone.now(), attempts=1)

    swept = services.runs_sweep_stuck()

    assert swept == {"requeued": [stuck.pk], "failed": [exhausted.pk]}
    # The requeued run's task is on the broker's queue (the sweeper's row update is already committed).
    [message] = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    assert message["headers"]["task"] == "probes.tasks.run_probes"
    assert message["headers"]["argsrepr"] == f"({stuck.pk},)"
    states = dict(ProbeRun.objects.values_list("pk", "state"))
    assert states[stuck.pk] == "queued" and states[exhausted.pk] == "failed" and states[fresh.pk] == "running"


# --- live clusters through the real client --------------------------------------------------------
def serve(k8s_server, name="good"):
    k8s_server.objects = load_manifests(BUNDLES / name).objects


def cluster_for(k8s_server, name="loop", **kwargs) -> Cluster:
    return services.cluster_create(name=name, kubeconfig=k8s_server.kubeconfig(**kwargs))


def cluster_run(release, cluster, *, final_attempt=True):
    run = services.run_create(release=release, cluster=cluster, queue=False)
    return run, services.run_execute(run_id=run.pk, final_attempt=final_attempt)


def test_cluster_run_collects_once_per_kind_and_decides_items(release, k8s_server):
    serve(k8s_server)
    cluster = cluster_for(k8s_server)

    run, execution = cluster_run(release, cluster)

    run.refresh_from_db()
    assert run.state == ProbeRun.State.DONE, run.message
    assert item(release, REPLICAS).status == ReleaseItem.Status.DONE
    assert item(release, DAPR).status == ReleaseItem.Status.FAILED  # CRD not installed: a failure
    # One list call per kind the bound probes read, plus /version: calls grow with kinds, not objects.
    assert run.stats["calls"] == run.stats["kinds"] + 1 == k8s_server.calls()
    cluster.refresh_from_db()
    assert cluster.last_status == "reachable"
    assert "test-token" not in cluster.kubeconfig_encrypted


def test_unparseable_kubeconfig_ends_the_run_in_error(release):
    cluster = Cluster.objects.create(name="broken", kubeconfig_encrypted=services.crypto.encrypt(
        "clusters: [unclosed", settings.READINESS_SECRETS_KEYS))
    run, _ = cluster_run(release, cluster)
    run.refresh_from_db()
    assert run.state == ProbeRun.State.ERROR and "kubeconfig is not valid YAML" in run.message
    assert item(release, REPLICAS).status == ReleaseItem.Status.OPEN


def test_forbidden_list_ends_the_run_in_error(release, k8s_server):
    serve(k8s_server)
    k8s_server.fault("/apis/apps/v1/deployments", 403, times=None)
    cluster = cluster_for(k8s_server)

    run, _ = cluster_run(release, cluster)

    run.refresh_from_db()
    cluster.refresh_from_db()
    assert run.state == ProbeRun.State.ERROR and "403 Forbidden" in run.message and "deployments" in run.message
    assert cluster.last_status == "forbidden"
    assert not run.results.exists()


def test_unreachable_cluster_is_retried_then_ends_in_error(release, k8s_server):
    cluster = cluster_for(k8s_server)
    k8s_server.stop()  # nothing listens on that port any more

    run = services.run_create(release=release, cluster=cluster, queue=False)
    with pytest.raises(services.RetryLater):
        services.run_execute(run_id=run.pk, final_attempt=False)
    run.refresh_from_db()
    assert run.state == ProbeRun.State.QUEUED and "Cannot reach the cluster" in run.message

    services.run_execute(run_id=run.pk, final_attempt=True)
    run.refresh_from_db()
    cluster.refresh_from_db()
    assert run.state == ProbeRun.State.ERROR and run.attempts == 2
    assert cluster.last_status == "unreachable"


def test_cluster_check_reports_reachability(k8s_server, people):
    cluster = cluster_for(k8s_server)
    services.cluster_check(cluster=cluster, by=people["admin"])
    assert cluster.last_status == "reachable" and k8s_server.calls("/version") == 1

    bad = cluster_for(k8s_server, name="wrong-context")
    Cluster.objects.filter(pk=bad.pk).update(context="nope")
    bad.refresh_from_db()
    services.cluster_check(cluster=bad)
    assert bad.last_status == "error" and "nope" in bad.last_message


def test_reprobe_queues_scheduled_runs_on_the_last_cluster(release, k8s_server, django_capture_on_commit_callbacks):
    serve(k8s_server)
    cluster = cluster_for(k8s_server)
    cluster_run(release, cluster)

    with django_capture_on_commit_callbacks() as callbacks:
        [run] = services.releases_reprobe()

    assert run.cluster == cluster and run.trigger == ProbeRun.Trigger.SCHEDULE and run.state == "queued"
    assert len(callbacks) == 1
    assert services.releases_reprobe() == []  # a run is queued already


# --- bundle uploads -------------------------------------------------------------------------------
class Upload(io.BytesIO):
    def __init__(self, name, data):
        super().__init__(data)
        self.name = name


def zip_of(entries: dict[str, bytes]) -> Upload:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return Upload("bundle.zip", buffer.getvalue())


def tar_of(*members: tarfile.TarInfo, data=b"kind: x\n") -> Upload:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in members:
            if info.isfile():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return Upload("bundle.tar.gz", buffer.getvalue())


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/evil.yaml", "a/../../evil.yaml", "C:/evil.yaml"])
def test_zip_with_escaping_paths_is_refused(name):
    with pytest.raises(bundles.BundleError, match="not allowed"):
        bundles.read_uploads([zip_of({"ok.yaml": b"a: 1\n", name: b"a: 1\n"})])


def test_tar_with_traversal_or_links_is_refused():
    with pytest.raises(bundles.BundleError, match="'..'"):
        bundles.read_uploads([tar_of(tarfile.TarInfo("../../evil.yaml"))])
    link = tarfile.TarInfo("deploy/app.yaml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(bundles.BundleError, match="not a regular file"):
        bundles.read_uploads([tar_of(link)])


def test_archive_caps_and_contents(settings):
    settings.READINESS_BUNDLE_MAX_FILES = 3
    with pytest.raises(bundles.BundleError, match="more than 3"):
        bundles.read_uploads([zip_of({f"m{i}.yaml": b"a: 1\n" for i in range(4)})])
    settings.READINESS_BUNDLE_MAX_BYTES = 1000
    with pytest.raises(bundles.BundleError, match="allowed size"):
        bundles.read_uploads([zip_of({"big.yaml": b"a" * 5000})])  # compresses well: checked unpacked
    with pytest.raises(bundles.BundleError, match="upload .yaml"):
        bundles.read_uploads([Upload("run.sh", b"#!/bin/sh\n")])
    with pytest.raises(bundles.BundleError, match="no .yaml"):
        bundles.read_uploads([zip_of({"README.md": b"hi"})])


def test_archive_round_trip_keeps_only_manifests():
    bundle = bundles.read_uploads([zip_of({"chart/templates/a.yaml": b"a: 1\n", "chart/README.md": b"x"}),
                                   Upload("b.yml", b"b: 2\n")])
    assert sorted(bundle.files) == ["b.yml", "chart/templates/a.yaml"]
    assert bundles.open_targz(bundle.to_targz()).files == bundle.files
