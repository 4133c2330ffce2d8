"""Starting the next release from the previous one, and the release's checklist exports."""
import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Approval, AuditEvent, Evidence, Release
from checklists.services import items as item_services
from checklists.services import evidence as evidence_services
from checklists.services.releases import release_create_from
from checklists.services.templates import template_import

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def test_starting_from_the_last_release_carries_fresh_evidence_never_approvals(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_assign(item=item, assignee=people["engineer"], by=people["manager"],
                              expected_version=item.version)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=item.version)
    fresh = evidence_services.evidence_add_note(item=item, text="three nodes", by=people["engineer"])
    old = evidence_services.evidence_add_link(item=item, url="https://example.com/old", by=people["engineer"])
    Evidence.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=90))
    Approval.objects.create(release=release, requirement=release.requirements.first(), approver=people["approver"],
                            decision=Approval.Decision.APPROVED, state_hash="x")
    client.force_login(people["manager"])
    form = client.get(reverse("release-create"), {"from": release.pk})
    assert form.status_code == 200 and form.context["form"].initial["service"] == "todo-app"
    response = client.post(reverse("release-create"), {
        "from_release": release.pk, "template_version": release.template_version_id, "service": "todo-app",
        "version": "1.1.0", "environment": "production"}, follow=True)
    assert "1 evidence carried from todo-app 1.0.0" in response.content.decode()
    new = Release.objects.get(version="1.1.0")
    copy = new.items.get(key=PLATFORM_ITEM)
    assert copy.status == "open" and copy.assignee == people["engineer"]  # statuses start open
    carried = copy.evidence.get()
    assert carried.carried_from == fresh and carried.sha256 == fresh.sha256 and carried.note == "three nodes"
    assert not new.approvals.exists()
    assert AuditEvent.objects.filter(action="checklists.evidence.carried", release=new).count() == 1
    page = client.get(reverse("item-detail", args=[new.pk, copy.pk])).content.decode()
    assert "carried" in page and f"from {release}" in page and fresh.created_at.strftime("%Y-%m-%d") in page


def test_a_release_of_another_service_or_checklist_is_refused(client, people, release):
    from checklists.services.releases import ReleaseError

    other = template_import(data=b"# Other\n\n## S\n- [ ] x").version
    with pytest.raises(ReleaseError, match="keeps its checklist"):
        release_create_from(previous=release, version="2", template_version=other, by=people["manager"])
    client.force_login(people["manager"])
    response = client.post(reverse("release-create"), {
        "from_release": release.pk, "template_version": release.template_version_id, "service": "else",
        "version": "2", "environment": "production"})
    assert response.status_code == 400 and "is a release of todo-app" in response.content.decode()
    client.force_login(people["engineer"])
    assert client.get(reverse("release-create"), {"from": release.pk}).status_code == 403


def test_exports_csv_and_markdown_with_ticks(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=item.version)
    client.force_login(people["auditor"])
    response = client.get(reverse("release-export-csv", args=[release.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="todo-app-1.0.0-checklist.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 211
    row = next(r for r in rows if r["key"] == PLATFORM_ITEM)
    assert row["status"] == "Done" and row["owner_team"] == "Platform" and row["text"] == item.text
    md = client.get(reverse("release-export-md", args=[release.pk])).content.decode()
    assert f"- [x] {item.text} <!-- key: {PLATFORM_ITEM} -->" in md
    assert md.count("- [x]") == 1 and "> Done · owner Platform" in md
    # The export imports back as a checklist with the same keys.
    again = template_import(data=md.encode(), name="Round trip").version
    assert again.items.count() == 211
    client.force_login(people["nobody"])
    assert client.get(reverse("release-export-csv", args=[release.pk])).status_code == 404


def test_dashboard_search_finds_item_text(client, people, release):
    client.force_login(people["manager"])
    response = client.get(reverse("dashboard"), {"q": "kafka"})
    assert release in list(response.context["releases"])
    response = client.get(reverse("dashboard"), {"q": "no-such-words-anywhere"})
    assert list(response.context["releases"]) == []
