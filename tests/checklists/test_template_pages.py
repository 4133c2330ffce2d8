"""Templates in the browser: upload with a preview, versions, the diff, editing into a new version,
Markdown export, and moving a release to a newer version."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists.models import AuditEvent, ChecklistTemplate, Evidence, Release, ReleaseItem, TemplateVersion
from checklists.services import items as item_services
from checklists.services import evidence as evidence_services
from checklists.services import templates as template_services
from checklists.services.releases import ReleaseError, release_create
from checklists.services.templates import template_import

pytestmark = pytest.mark.django_db

V1 = b"""# Small service checklist

## Reliability
- [ ] Health probes are configured
  - liveness and readiness on every container
- [ ] Backups run nightly
  - [ ] Restores are tested
- [ ] Old item that goes away

## Security
- [ ] Images are pinned
"""

V2 = b"""# Small service checklist

## Reliability
- [ ] Health probes are configured
  - liveness and readiness on every container
- [ ] Backups run nightly
  - [ ] Restores are tested
- [ ] Alerts page a human

## Security
- [ ] Images are pinned by digest <!-- key: security.images-are-pinned -->
"""


@pytest.fixture
def v1(seed_teams):
    return template_import(data=V1, source_name="small.md").version


def _upload(client, data=V1, name="small.md", **extra):
    return client.post(reverse("template-create"), {"file": SimpleUploadedFile(name, data), "action": "preview",
                                                    **extra})


def test_who_may_see_and_change(client, people, v1):
    assert client.get(reverse("template-list")).status_code == 302
    client.force_login(people["nobody"])
    assert client.get(reverse("template-list")).status_code == 403
    for who in ("engineer", "auditor", "approver"):
        client.force_login(people[who])
        assert client.get(reverse("template-detail", args=[v1.template_id])).status_code == 200
        assert client.get(reverse("template-create")).status_code == 403
        assert _upload(client).status_code == 403
        assert client.get(reverse("template-update", args=[v1.template_id, 1])).status_code == 403
    client.force_login(people["manager"])
    assert client.get(reverse("template-detail", args=[999999])).status_code == 404
    assert client.get(reverse("template-version", args=[v1.template_id, 7])).status_code == 404
    assert client.put(reverse("template-create")).status_code == 405


def test_preview_shows_the_parse_and_writes_nothing(client, people, seed_teams):
    client.force_login(people["manager"])
    response = _upload(client)
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 top-level sections" in html and "5 items" in html and "1 nested" in html and "1 with guidance" in html
    assert "Restores are tested" in html and "reliability.restores-are-tested" in html
    assert "liveness and readiness on every container" in html
    assert not ChecklistTemplate.objects.exists()
    source = response.context["source"]
    saved = client.post(reverse("template-create"), {"action": "save", "source": source, "source_name": "small.md"},
                        follow=True)
    version = TemplateVersion.objects.get()
    assert saved.redirect_chain[-1][0] == reverse("template-version", args=[version.template_id, 1])
    assert "Saved Small service checklist version 1: 2 sections, 5 items." in saved.content.decode()
    assert version.source_name == "small.md" and version.items.count() == 5
    again = client.post(reverse("template-create"), {"action": "save", "source": source}, follow=True)
    assert "Nothing new" in again.content.decode() and TemplateVersion.objects.count() == 1


@pytest.mark.parametrize("data, message", [
    (b"", "The submitted file is empty"),
    (b"# Only a title\n\nSome prose.\n", "small.md:"),
    (b"# T\n\n## S\n- [ ] one\n```\nunclosed\n", "line 5"),
    (b"\xff\xfe\x00bad", "small.md:"),
])
def test_a_bad_file_is_a_400_naming_the_file_and_line(client, people, seed_teams, data, message):
    client.force_login(people["manager"])
    response = _upload(client, data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not ChecklistTemplate.objects.exists()


def test_diff_by_stable_key(client, people, v1):
    v2 = template_import(data=V2, source_name="small.md").version
    client.force_login(people["auditor"])
    response = client.get(reverse("template-diff", args=[v1.template_id]), {"from": 1, "to": 2})
    diff = response.context["diff"]
    assert [i.key for i in diff.added] == ["reliability.alerts-page-a-human"]
    assert [i.key for i in diff.removed] == ["reliability.old-item-that-goes-away"]
    assert [(c.key, c.fields) for c in diff.changed] == [("security.images-are-pinned", ["text"])]
    assert diff.unchanged == 3
    html = response.content.decode()
    assert "1 added" in html and "1 removed" in html and "1 changed" in html and "3 unchanged" in html
    assert v2.number == 2
    assert client.get(reverse("template-diff", args=[v1.template_id]), {"from": "x"}).status_code == 400


def test_edit_items_makes_a_new_version(client, people, v1, seed_teams):
    client.force_login(people["manager"])
    url = reverse("template-update", args=[v1.template_id, 1])
    page = client.get(url)
    items = {i.key: i for i in page.context["items"]}
    assert set(items) == {"reliability.health-probes-are-configured", "reliability.backups-run-nightly",
                          "reliability.restores-are-tested", "reliability.old-item-that-goes-away"}
    data = {}
    for item in items.values():
        data.update({f"text-{item.pk}": item.text, f"severity-{item.pk}": item.severity, f"probe-{item.pk}": "",
                     f"team-{item.pk}": ""})
        if item.required:
            data[f"required-{item.pk}"] = "1"
    backups = items["reliability.backups-run-nightly"]
    data[f"text-{backups.pk}"] = "Backups run nightly and are encrypted"
    data[f"severity-{backups.pk}"] = "critical"
    data[f"team-{backups.pk}"] = str(seed_teams["platform"].pk)
    assert client.post(url, {**data, f"probe-{backups.pk}": "no-such-probe"}).status_code == 400
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith("?from=1&to=2")
    new = TemplateVersion.objects.get(template=v1.template, number=2)
    edited = new.items.get(key=backups.key)
    assert (edited.text, edited.severity, edited.default_team) == (
        "Backups run nightly and are encrypted", "critical", seed_teams["platform"])
    assert new.items.get(key="reliability.restores-are-tested").parent == edited  # nesting kept
    assert v1.items.get(key=backups.key).text == "Backups run nightly"  # the published version is untouched
    assert "Backups run nightly and are encrypted" in new.source
    assert AuditEvent.objects.filter(action="checklists.template.edited").count() == 1
    assert client.post(url, data).status_code == 400  # the same change again: a version with it exists


def test_export_to_markdown_imports_back_to_the_same_keys(client, people, v1):
    client.force_login(people["engineer"])
    response = client.get(reverse("template-export", args=[v1.template_id, 1]))
    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="small-service-checklist-v1.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert "- [ ] Backups run nightly <!-- key: reliability.backups-run-nightly -->" in text
    again = template_import(data=text.encode(), name="Round trip").version
    assert sorted(again.items.values_list("key", flat=True)) == sorted(v1.items.values_list("key", flat=True))


def test_move_a_release_to_a_newer_version(client, people, v1):
    release = release_create(template_version=v1, service="svc", version="1", by=people["manager"])
    items = {i.key: i for i in release.items.all()}
    kept = items["reliability.backups-run-nightly"]
    item_services.item_set_status(item=kept, status="done", by=people["manager"], expected_version=kept.version)
    evidence_services.evidence_add_note(item=kept, text="backup log", by=people["manager"])
    reworded = items["security.images-are-pinned"]
    item_services.item_set_status(item=reworded, status="done", by=people["manager"],
                                  expected_version=reworded.version)
    v2 = template_import(data=V2).version
    url = reverse("release-template-move", args=[release.pk])
    client.force_login(people["engineer"])
    assert client.get(url).status_code == 404  # owns no item of it: does not see it
    for who in ("approver", "auditor", "other_manager"):
        client.force_login(people[who])
        assert client.get(url).status_code == 403
        assert client.post(url, {"to": v2.pk, "from_version": v1.pk}).status_code == 403
    client.force_login(people["manager"])
    page = client.get(url)
    assert page.status_code == 200 and "1 added" in page.content.decode()
    assert page.context["plan"].reopened == ["security.images-are-pinned"]
    response = client.post(url, {"to": v2.pk, "from_version": v1.pk}, follow=True)
    assert "Moved to" in response.content.decode()
    release.refresh_from_db()
    assert release.template_version == v2
    kept.refresh_from_db()
    assert kept.status == "done" and kept.evidence.count() == 1 and kept.template_item.version == v2
    assert kept.version == 2  # not bumped by the move: the item did not change
    reworded.refresh_from_db()
    assert reworded.status == "open" and reworded.text == "Images are pinned by digest"
    assert not release.items.filter(key="reliability.old-item-that-goes-away").exists()
    added = release.items.get(key="reliability.alerts-page-a-human")
    assert added.status == "open" and added.section.version == v2
    assert release.items.count() == 5
    event = AuditEvent.objects.get(action=template_services.MOVE_ACTION)
    assert event.after["removed"] == ["reliability.old-item-that-goes-away"] and event.after["unchanged"] == 3
    # The release page renders with the new sections.
    assert client.get(reverse("release-detail", args=[release.pk])).status_code == 200
    # Moving again from the old version is refused: the person reviewed a move that already happened.
    assert client.post(url, {"to": v2.pk, "from_version": v1.pk}).status_code == 200  # no newer version left


def test_a_move_that_would_lose_records_or_happens_in_signoff_is_refused(people, v1):
    release = release_create(template_version=v1, service="svc", version="1", by=people["manager"])
    doomed = release.items.get(key="reliability.old-item-that-goes-away")
    evidence_services.evidence_add_note(item=doomed, text="we did this", by=people["manager"])
    v2 = template_import(data=V2).version
    with pytest.raises(ReleaseError, match="hold evidence"):
        template_services.release_move_to_version(release=release, to_version=v2, by=people["manager"],
                                                  from_version_id=v1.pk)
    assert Release.objects.get(pk=release.pk).template_version == v1
    assert Evidence.objects.filter(item=doomed).exists()
    Release.objects.filter(pk=release.pk).update(state=Release.State.AWAITING_SIGNOFF)
    release.refresh_from_db()
    with pytest.raises(ReleaseError, match="sign-off"):
        template_services.release_move_plan(release=release, to_version=v2)
    assert ReleaseItem.objects.filter(release=release).count() == 5
