"""Artifact bindings wired end to end: a file attached to an item bound to an artifact check is judged
by a background run whose verdict decides the item, and goes stale like a probe's."""
import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists import deciders
from checklists.models import Evidence, ReleaseItem
from checklists.signoff.services import signoff_blockers
from probes import services
from probes.models import ProbeResult, ProbeRun
from tests.factories import add_file_evidence
from tests.probes.artifacts.conftest import coverage_files, junit_failing, junit_passing  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

INTEGRATION = "testing.integration-tests-verify-service-interactions"  # artifact.junit.suites-pass
COVERAGE = "testing.unit-tests-cover-critical-business-logic-80"  # artifact.coverage.threshold, line_min 80


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root


def upload_in_browser(client, user, item, data: bytes, name: str):
    client.force_login(user)
    return client.post(reverse("evidence-create", args=[item.release_id, item.pk]),
                       {"kind": "file", "file": SimpleUploadedFile(name, data)}, headers={"HX-Request": "true"})


def run_for(item) -> ProbeRun:
    return ProbeRun.objects.filter(evidence__item=item).order_by("-pk").first()


def judge(run: ProbeRun) -> ProbeRun:
    """What the worker does with the queued run (probes.tasks.run_probes)."""
    return services.run_execute(run_id=run.pk).run


def test_the_seed_template_stores_artifact_and_collector_bindings(release):
    item = release.items.get(key=INTEGRATION)
    assert item.probe_id == "artifact.junit.suites-pass"
    assert item.probe_params == {"suite_patterns": ["integration"], "label": "integration tests"}
    assert release.items.get(key=COVERAGE).probe_params == {"line_min": 80}
    kinds = [deciders.kind_of(p) for p in release.items.exclude(probe_id="").values_list("probe_id", flat=True)]
    assert kinds.count("artifact") >= 20 and kinds.count("collector") >= 10 and kinds.count("probe") >= 50
    assert len(kinds) >= 110


def test_a_passing_junit_report_uploaded_in_the_browser_turns_the_item_done(client, people, release, junit_passing):
    item = release.items.get(key=INTEGRATION)

    response = upload_in_browser(client, people["manager"], item, junit_passing, "report.xml")

    assert response.status_code == 200
    assert "judged by artifact.junit.suites-pass in the background" in response.content.decode()
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN  # nothing decided in the request
    run = run_for(item)
    assert run.state == ProbeRun.State.QUEUED and run.trigger == ProbeRun.Trigger.UPLOAD

    run = judge(run)

    assert run.state == ProbeRun.State.DONE
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.DONE and item.decided_by_probe and item.probe_status == "pass"
    evidence = item.evidence.get(kind=Evidence.Kind.FILE)
    assert evidence.sha256 == hashlib.sha256(junit_passing).hexdigest()
    assert evidence.file.read() == junit_passing  # the file itself is kept as the evidence
    result = ProbeResult.objects.get(run=run, item=item)
    assert result.probe_id == "artifact.junit.suites-pass" and result.observed["sha256"] == evidence.sha256
    assert item.probe_checked_at == evidence.created_at  # the verdict is as old as the file


def test_a_failing_coverage_file_turns_the_item_failed_with_findings(client, people, release, coverage_files):
    item = release.items.get(key=COVERAGE)
    upload_in_browser(client, people["manager"], item, coverage_files["xml-branch"], "coverage.xml")

    judge(run_for(item))

    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.FAILED and item.probe_status == "fail"
    result = item.probe_results.get()
    assert "below the threshold" in result.summary
    assert any(f["object"] == "shop.py" for f in result.findings)


def test_a_failing_junit_report_fails_the_item(client, people, release, junit_failing):
    item = release.items.get(key=INTEGRATION)
    upload_in_browser(client, people["manager"], item, junit_failing, "report.xml")
    judge(run_for(item))
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.FAILED


@pytest.mark.parametrize("data, reason", [
    (b"<testsuite><testcase", "report.xml"),  # malformed XML, named by file
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><testsuite>&b;</testsuite>',
     "report.xml"),  # entity expansion
])
def test_a_malformed_artifact_changes_nothing_and_says_why(client, people, release, data, reason):
    item = release.items.get(key=INTEGRATION)
    before = (item.status, item.version, item.probe_status, item.probe_checked_at, item.decided_by_probe)

    upload_in_browser(client, people["manager"], item, data, "report.xml")
    run = judge(run_for(item))

    item.refresh_from_db()
    assert (item.status, item.version, item.probe_status, item.probe_checked_at, item.decided_by_probe) == before
    result = ProbeResult.objects.get(run=run, item=item)
    assert result.status == "error" and reason in result.summary
    assert not item.evidence.filter(kind=Evidence.Kind.PROBE).exists()
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert result.summary[:40] in page.replace("&quot;", '"').replace("&#x27;", "'")


def test_an_artifact_over_its_format_budget_is_not_read_and_changes_nothing(people, release, settings):
    item = release.items.get(key="container-images.multi-stage-builds-minimize-image-size")
    assert item.probe_id == "artifact.dockerfile.multi-stage"
    evidence = add_file_evidence(item, by=people["manager"], data=b"FROM python:3.12\n" + b"#" * (1024 * 1024 + 1),
                                 name="Dockerfile")

    run = judge(run_for(item))

    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN and item.probe_status == ""
    assert "over the 1 MB limit" in run.results.get().summary and evidence.size > 1024 * 1024


def test_a_file_on_an_item_no_artifact_check_decides_queues_nothing(people, release):
    item = release.items.filter(probe_id="").first()
    add_file_evidence(item, by=people["manager"], data=b"screenshot", name="shot.txt")
    assert not ProbeRun.objects.exists()


def test_stale_artifact_evidence_blocks_signoff_by_its_own_limit(client, people, release, junit_passing, settings):
    settings.READINESS_EVIDENCE_MAX_AGE_HOURS = 24
    settings.READINESS_ARTIFACT_MAX_AGE_HOURS = 72
    item = release.items.get(key=INTEGRATION)
    upload_in_browser(client, people["manager"], item, junit_passing, "report.xml")
    judge(run_for(item))
    item.refresh_from_db()
    uploaded = item.probe_checked_at

    fresh = signoff_blockers(release, now=uploaded + timedelta(hours=48))  # past the probes' 24 h, not 72 h
    assert INTEGRATION not in [b.key for b in fresh.stale]

    stale = signoff_blockers(release, now=uploaded + timedelta(hours=73))
    blocker = next(b for b in stale.stale if b.key == INTEGRATION)
    assert blocker.reason.startswith("artifact evidence older than 72 h")


def test_judging_the_same_file_again_keeps_its_age(client, people, release, junit_passing):
    item = release.items.get(key=INTEGRATION)
    upload_in_browser(client, people["manager"], item, junit_passing, "report.xml")
    judge(run_for(item))
    item.refresh_from_db()
    first = item.probe_checked_at

    client.force_login(people["manager"])
    response = client.post(reverse("probes:item-rerun", args=[release.pk, item.pk]))
    assert response.status_code in (200, 302)
    rerun = run_for(item)
    assert rerun.state == ProbeRun.State.QUEUED and rerun.requested_by == people["manager"]
    judge(rerun)
    item.refresh_from_db()
    assert item.probe_checked_at == first and item.status == ReleaseItem.Status.DONE


def test_rerun_needs_the_right_to_change_the_item(client, people, release, junit_passing):
    item = release.items.get(key=INTEGRATION)
    add_file_evidence(item, by=people["manager"], data=junit_passing, name="report.xml")
    client.force_login(people["auditor"])
    assert client.post(reverse("probes:item-rerun", args=[release.pk, item.pk])).status_code == 403
    client.force_login(people["nobody"])
    assert client.post(reverse("probes:item-rerun", args=[release.pk, item.pk])).status_code == 404


def test_the_item_page_says_where_the_verdict_came_from(client, people, release, junit_passing):
    item = release.items.get(key=INTEGRATION)
    upload_in_browser(client, people["manager"], item, junit_passing, "report.xml")
    judge(run_for(item))

    html = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()

    assert "Artifact check" in html and "artifact.junit.suites-pass" in html
    assert "report.xml" in html and hashlib.sha256(junit_passing).hexdigest()[:12] in html
    assert "Judge the latest file again" in html
    assert "fresh until" in html


def test_a_probe_item_reruns_the_releases_last_manifests(client, people, release):
    from probes import bundles
    from tests.probes.test_services import BUNDLES

    first = services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]), bundle_name="good",
                                queue=False)
    services.run_execute(run_id=first.pk)
    item = release.items.get(probe_id="workloads.replicas")
    client.force_login(people["manager"])
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "Kubernetes probe" in page and "manifests good" in page and "Run the probes again" in page

    client.post(reverse("probes:item-rerun", args=[release.pk, item.pk]))

    again = ProbeRun.objects.exclude(pk=first.pk).get()
    assert again.bundle_name == "good" and again.requested_by == people["manager"]
    assert services.run_execute(run_id=again.pk).run.results.get(item=item).status == "pass"


def test_a_probe_item_without_any_run_says_to_start_one(client, people, release):
    item = release.items.get(probe_id="workloads.replicas")
    client.force_login(people["manager"])
    response = client.post(reverse("probes:item-rerun", args=[release.pk, item.pk]), follow=True)
    assert "No probe run to repeat yet" in response.content.decode() and not ProbeRun.objects.exists()
