"""Setting the owner team, assignee or due date of every item of a section at once, and how logged-out
htmx requests are answered."""
import datetime

import pytest
from django.urls import reverse

from checklists.models import AuditEvent, ReleaseItem, TemplateSection
from checklists.services import items as item_services

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


@pytest.fixture
def section(release):
    return TemplateSection.objects.get(pk=release.items.get(key=PLATFORM_ITEM).section_id)  # "Kubernetes Cluster"


def _url(release, section):
    return reverse("section-update", args=[release.pk, section.pk])


def _versions(items):
    return ",".join(f"{item.pk}:{item.version}" for item in items)


def _items(release, section):
    return list(release.items.filter(section=section).order_by("order"))


def test_wrong_method_and_anonymous(client, people, release, section):
    assert client.get(_url(release, section)).status_code == 302  # to the login page
    client.force_login(people["manager"])
    assert client.put(_url(release, section)).status_code == 405


@pytest.mark.parametrize("who, status", [
    ("nobody", 404),  # does not see the release
    ("engineer", 403),  # sees it, changes only their team's items one by one
    ("outsider_engineer", 403),
    ("auditor", 403),
    ("approver", 403),
    ("other_manager", 403),  # manages other releases
])
def test_only_the_release_manager_or_an_admin_may(client, people, release, section, who, status):
    client.force_login(people[who])
    items = _items(release, section)
    assert client.get(_url(release, section)).status_code == status
    response = client.post(_url(release, section), {"versions": _versions(items), "due_date": "2030-01-01"})
    assert response.status_code == status
    assert not release.items.filter(due_date=datetime.date(2030, 1, 1)).exists()
    assert not AuditEvent.objects.filter(action="checklists.item.bulk_updated").exists()


def test_a_section_of_another_checklist_is_404(client, people, release):
    from checklists.services.templates import template_import

    other = template_import(data=b"# Other\n\n## Only\n- [ ] one", name="Other").version
    client.force_login(people["manager"])
    assert client.get(_url(release, other.sections.get())).status_code == 404


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_sets_the_fields_on_every_item_with_one_audit_event_each(client, people, release, section, who):
    client.force_login(people[who])
    items = _items(release, section)
    form = client.get(_url(release, section))
    assert form.status_code == 200 and _versions(items) in form.content.decode()
    response = client.post(_url(release, section), {
        "versions": _versions(items), "assignee": people["engineer"].pk, "due_date": "2030-01-01"}, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"#section-{section.pk}")
    assert f"{section.title}: {len(items)} items changed (assignee → alice, due date → 2030-01-01)" in response.content.decode()
    for item in _items(release, section):
        assert item.assignee == people["engineer"] and item.due_date == datetime.date(2030, 1, 1)
        assert item.owner_team.slug == "platform"  # kept
    events = AuditEvent.objects.filter(action="checklists.item.bulk_updated")
    assert events.count() == len(items)
    event = events.get(object_id=str(items[0].pk))
    assert event.after["assignee"] == "alice" and event.after["due_date"] == "2030-01-01"
    assert event.before["assignee"] is None


def test_one_item_changed_meanwhile_saves_nothing_and_offers_to_apply_again(client, people, release, section):
    client.force_login(people["manager"])
    items = _items(release, section)
    stale = _versions(items)
    # Alice changes one item after the manager opened the form.
    first = items[0]
    item_services.item_set_due_date(item=first, due_date=datetime.date(2029, 5, 5), by=people["engineer"],
                                    expected_version=first.version)
    response = client.post(_url(release, section), {"versions": stale, "due_date": "2030-01-01"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Nothing was saved." in html and "1 item was changed by someone else" in html and "(alice, " in html
    assert first.text in html
    first.refresh_from_db()
    assert first.due_date == datetime.date(2029, 5, 5)  # not overwritten
    assert not release.items.filter(due_date=datetime.date(2030, 1, 1)).exists()  # all or nothing
    assert not AuditEvent.objects.filter(action="checklists.item.bulk_updated").exists()
    # The form now carries the current versions: applying again succeeds.
    assert _versions(_items(release, section)) in html
    again = client.post(_url(release, section), {"versions": _versions(_items(release, section)),
                                                  "due_date": "2030-01-01"}, follow=True)
    assert f"{len(items)} items changed" in again.content.decode()
    assert release.items.filter(section=section, due_date=datetime.date(2030, 1, 1)).count() == len(items)


def test_mark_a_section_not_applicable_with_one_reason(client, people, release, section):
    client.force_login(people["manager"])
    items = _items(release, section)
    form = client.get(_url(release, section) + "?status=not_applicable").content.decode()
    assert '<option value="not_applicable" selected>' in form
    refused = client.post(_url(release, section), {"versions": _versions(items), "status": "not_applicable"})
    assert refused.status_code == 400 and "Say why these items do not apply" in refused.content.decode()
    response = client.post(_url(release, section), {"versions": _versions(items), "status": "not_applicable",
                                                     "reason": "We run on a managed control plane."}, follow=True)
    assert f"{len(items)} items changed (status → Not applicable)" in response.content.decode()
    assert set(release.items.filter(section=section).values_list("status", flat=True)) == {"not_applicable"}
    events = AuditEvent.objects.filter(action="checklists.item.bulk_updated")
    assert events.count() == len(items)
    assert {e.after["reason"] for e in events} == {"We run on a managed control plane."}
    assert {e.before["status"] for e in events} == {"open"}


def test_nothing_chosen_or_a_foreign_item_is_refused(client, people, release, section):
    from checklists.services.releases import release_create

    client.force_login(people["manager"])
    items = _items(release, section)
    response = client.post(_url(release, section), {"versions": _versions(items)})
    assert response.status_code == 400 and "Choose a status, an owner team" in response.content.decode()
    other = release_create(template_version=release.template_version, service="other", version="1",
                           by=people["manager"])
    foreign = other.items.get(key=PLATFORM_ITEM)
    response = client.post(_url(release, section), {"versions": _versions([*items, foreign]),
                                                     "due_date": "2030-01-01"})
    assert response.status_code == 400 and "not part of this release" in response.content.decode()
    assert not ReleaseItem.objects.filter(due_date=datetime.date(2030, 1, 1)).exists()


def test_service_refuses_an_engineer_and_clears_fields(people, release, section):
    from django.core.exceptions import PermissionDenied

    items = _items(release, section)
    versions = {item.pk: item.version for item in items}
    with pytest.raises(PermissionDenied):
        item_services.items_bulk_update(release=release, versions=versions, by=people["engineer"], due_date=None)
    result = item_services.items_bulk_update(release=release, versions=versions, by=people["manager"],
                                             owner_team=None, due_date=None)
    assert len(result.changed) == len(items) and not result.conflicts
    assert not release.items.filter(section=section, owner_team__isnull=False).exists()
    again = item_services.items_bulk_update(release=release, versions={i.pk: i.version for i in result.changed},
                                            by=people["manager"], owner_team=None)
    assert len(again.unchanged) == len(items) and not again.changed


def test_release_page_offers_it_to_the_manager_only(client, people, release, section):
    url = reverse("release-detail", args=[release.pk])
    client.force_login(people["manager"])
    assert _url(release, section) in client.get(url).content.decode()
    client.force_login(people["engineer"])
    assert _url(release, section) not in client.get(url).content.decode()


def test_logged_out_htmx_requests_get_a_client_redirect_to_the_login_page(client, release):
    item = release.items.get(key=PLATFORM_ITEM)
    page = reverse("release-detail", args=[release.pk])
    for method, url in [("get", reverse("release-changes", args=[release.pk]) + "?since=0"),
                        ("get", reverse("item-row", args=[release.pk, item.pk])),
                        ("post", reverse("item-update", args=[release.pk, item.pk]))]:
        response = getattr(client, method)(url, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"})
        assert response.status_code == 200, url
        assert response["HX-Redirect"] == f"{reverse('login')}?next={page.replace('/', '%2F')}"
        assert b"<form" not in response.content
    # Without htmx, the ordinary redirect.
    assert client.get(page).status_code == 302


def test_work_lists_show_item_text_without_markdown_marks(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    ReleaseItem.objects.filter(pk=item.pk).update(text="**Load testing completed** with results")
    client.force_login(people["engineer"])
    html = client.get(reverse("my-items")).content.decode()
    assert "Load testing completed with results" in html and "**Load" not in html


def test_release_page_rows_have_column_names(client, people, release):
    client.force_login(people["engineer"])
    html = client.get(reverse("release-detail", args=[release.pk])).content.decode()
    assert 'class="items-head"' in html and "<span>Status</span>" in html
    assert '<span class="visually-hidden">Owner team: </span>' in html
