"""What a check judges by, per release: params a release manager sets on an item (through the entry
point, audited, counted as deciding it), and the image-scan check judged against the release's images."""
import json
from pathlib import Path

import pytest
from django.urls import reverse

from checklists.models import AuditEvent, ReleaseItem
from checklists.signoff.services import item_deciders
from probes import bundles, services
from probes.models import ProbeResult, ProbeRun
from tests.factories import add_file_evidence
from tests.probes.artifacts.sarif_docs import dump, trivy
from tests.probes.artifacts.test_loadtest import k6_summary

pytestmark = pytest.mark.django_db

PEAK = "load-testing.system-handles-expected-peak-load-2x-normal"  # artifact.loadtest.peak
SCANNED = "container-images.images-are-scanned-for-vulnerabilities-trivy-snyk"  # artifact.sarif.images-scanned
BUNDLES = Path(__file__).parent / "bundles"
IMAGE = "registry.example.com/shop/web:1.4.2"  # the image of the good bundle


@pytest.fixture(autouse=True)
def _media(media_root):
    return media_root


def judge_latest(item) -> ProbeResult:
    run = ProbeRun.objects.filter(release_id=item.release_id, trigger=ProbeRun.Trigger.UPLOAD).order_by("-pk").first()
    services.run_execute(run_id=run.pk)
    return ProbeResult.objects.get(run=run)


def set_params(client, user, item, text):
    client.force_login(user)
    item.refresh_from_db()
    return client.post(reverse("probes:item-params", args=[item.release_id, item.pk]),
                       {"params": text, "version": item.version}, follow=True)


def test_the_peak_check_waits_for_the_normal_load_then_judges_with_it(client, people, release):
    item = release.items.get(key=PEAK)
    add_file_evidence(item, by=people["engineer"], data=k6_summary(rate=83.2), name="summary.json")
    first = judge_latest(item)
    assert first.status == "error" and "normal_rps" in first.summary
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN  # an error decides nothing

    response = set_params(client, people["manager"], item, "{peak_factor: 2.0, sla_ms: 500, normal_rps: 40}")

    assert "being judged again" in response.content.decode()
    item.refresh_from_db()
    assert item.probe_params == {"peak_factor": 2.0, "sla_ms": 500, "normal_rps": 40}
    event = AuditEvent.objects.get(action="checklists.item.check_params_changed", object_id=str(item.pk))
    assert event.before["probe_params"] == {"peak_factor": 2.0, "sla_ms": 500} and event.after["probe_params"]["normal_rps"] == 40
    assert judge_latest(item).status == "pass"  # 83.2 req/s reached against a peak of 80
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.DONE and item.decided_by_probe


@pytest.mark.parametrize("text, message", [
    ("normal_rps: fast", "normal_rps"),
    ("no_such_param: 1", "no_such_param"),
    ("[1, 2]", "expected a mapping"),
    ("a: &x [*x]", "params"),
])
def test_invalid_params_are_refused_naming_the_field_and_change_nothing(client, people, release, text, message):
    item = release.items.get(key=PEAK)
    before = (item.probe_params, item.version)

    response = set_params(client, people["manager"], item, text)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Params not saved" in page and message in page
    item.refresh_from_db()
    assert (item.probe_params, item.version) == before
    assert not AuditEvent.objects.filter(action="checklists.item.check_params_changed").exists()


def test_only_the_release_manager_sets_params(client, people, release):
    item = release.items.get(key=PEAK)
    url = reverse("probes:item-params", args=[release.pk, item.pk])
    client.force_login(people["engineer"])
    assert client.post(url, {"params": "normal_rps: 1", "version": item.version}).status_code == 403
    client.force_login(people["nobody"])
    assert client.post(url, {"params": "normal_rps: 1", "version": item.version}).status_code == 404
    item.refresh_from_db()
    assert "normal_rps" not in item.probe_params


def test_setting_params_counts_as_deciding_the_item(client, people, release):
    item = release.items.get(key=PEAK)
    set_params(client, people["admin"], item, json.dumps({"normal_rps": 1}))
    assert PEAK in item_deciders(release)[people["admin"].pk]


def test_the_params_form_shows_the_defaults_to_managers_only(client, people, release):
    item = release.items.get(key=PEAK)
    client.force_login(people["manager"])
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "Save params" in page and "&quot;normal_rps&quot;: null" in page
    client.force_login(people["engineer"])
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "Save params" not in page and "peak_factor" in page


def test_an_image_scan_is_judged_against_the_images_of_the_last_manifest_run(people, release):
    item = release.items.get(key=SCANNED)
    add_file_evidence(item, by=people["manager"], data=dump(trivy(image=IMAGE)), name="trivy.sarif")
    assert judge_latest(item).status == "skip"  # no run yet: nothing to compare against, never a pass

    run = services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]), bundle_name="good",
                              queue=False)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert IMAGE in run.stats["images"]

    services.artifact_rejudge(item=item, by=people["manager"])
    assert judge_latest(item).status == "pass"

    add_file_evidence(item, by=people["manager"], data=dump(trivy(image="registry.example.com/shop/other:2.0.0")),
                      name="other.sarif")
    result = judge_latest(item)
    assert result.status == "fail" and IMAGE in result.summary + json.dumps(result.findings)


def test_params_without_the_version_read_are_not_saved(client, people, release):
    item = release.items.get(key=PEAK)
    client.force_login(people["manager"])
    response = client.post(reverse("probes:item-params", args=[release.pk, item.pk]), {"params": "normal_rps: 1"},
                           follow=True)
    assert "Params not saved" in response.content.decode()
    item.refresh_from_db()
    assert "normal_rps" not in item.probe_params
