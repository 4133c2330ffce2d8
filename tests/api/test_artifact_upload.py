"""A CI pipeline uploads its JUnit report through the API; the item bound to the JUnit check is decided
by the background run, and replaying the upload (same Idempotency-Key) queues nothing more."""
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists.models import ReleaseItem
from probes import services
from probes.models import ProbeResult, ProbeRun
from tests.probes.artifacts.conftest import junit_passing  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

ITEM = "testing.integration-tests-verify-service-interactions"


def test_a_junit_report_uploaded_by_the_api_turns_the_item_done(api_as, release, junit_passing):
    api = api_as("manager")
    path = f"/releases/{release.pk}/items/{ITEM}/evidence/file"
    headers = {"Idempotency-Key": "ci-run-7-junit"}

    response = api.post(path, files={"file": SimpleUploadedFile("junit.xml", junit_passing)}, headers=headers)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(junit_passing).hexdigest()
    assert len(body["judging"]) == 1 and "artifact.junit.suites-pass" in body["judging"][0]
    run = ProbeRun.objects.get(evidence_id=body["id"])
    assert run.state == ProbeRun.State.QUEUED and run.trigger == ProbeRun.Trigger.UPLOAD
    again = api.post(path, files={"file": SimpleUploadedFile("junit.xml", junit_passing)}, headers=headers)
    assert again.json() == body and ProbeRun.objects.count() == 1  # a replay queues nothing

    services.run_execute(run_id=run.pk)

    item = release.items.get(key=ITEM)
    assert item.status == ReleaseItem.Status.DONE and item.decided_by_probe
    result = ProbeResult.objects.get(run=run)
    assert result.status == "pass" and result.observed["sha256"] == body["sha256"]
    shown = api.get(f"/releases/{release.pk}/items/{ITEM}").json()
    assert shown["status"] == "done" and shown["probe_status"] == "pass"


def test_a_malformed_report_by_the_api_is_stored_but_decides_nothing(api_as, release):
    api = api_as("manager")
    path = f"/releases/{release.pk}/items/{ITEM}/evidence/file"
    response = api.post(path, files={"file": SimpleUploadedFile("junit.xml", b"<testsuite><testcase")})
    assert response.status_code == 201
    run = services.run_execute(run_id=ProbeRun.objects.get(evidence_id=response.json()["id"]).pk).run
    item = release.items.get(key=ITEM)
    assert item.status == ReleaseItem.Status.OPEN and item.version == 1 and item.probe_status == ""
    assert run.results.get().status == "error" and "junit.xml" in run.results.get().summary
