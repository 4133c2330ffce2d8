import datetime

import pytest
from django.urls import reverse

from checklists.services.items import item_assign, items_bulk_update

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def test_assigning_an_item_emails_the_assignee(people, release, outbox, django_capture_on_commit_callbacks):
    item = release.items.get(key=PLATFORM_ITEM)
    alice = people["engineer"]
    with django_capture_on_commit_callbacks(execute=True):
        item_assign(item=item, assignee=alice, by=people["manager"], expected_version=item.version)
    assert [message.to for message in outbox] == [[alice.email]]
    # The subject names the item as people read it, not its key.
    assert "Cluster has at least 3 nodes for high availability" in outbox[0].subject
    assert item.key not in outbox[0].subject
    assert f"/releases/{release.pk}/items/{item.pk}/" in outbox[0].body


def test_assigning_yourself_sends_nothing(people, release, outbox, django_capture_on_commit_callbacks):
    item = release.items.get(key=PLATFORM_ITEM)
    alice = people["engineer"]
    with django_capture_on_commit_callbacks(execute=True):
        item_assign(item=item, assignee=alice, by=alice, expected_version=item.version)
    assert outbox == []


def test_assignee_and_due_date_changed_together_mail_the_new_due_date(client, people, release, outbox,
                                                                     django_capture_on_commit_callbacks):
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("item-update", args=[release.pk, item.pk]), {
            "version": item.version, "assignee": people["engineer"].pk, "due_date": "2031-03-04"})
    assert response.status_code == 302
    assert len(outbox) == 1
    assert "Due: 2031-03-04" in outbox[0].body


def test_links_are_absolute_with_a_base_url(people, release, outbox, settings, django_capture_on_commit_callbacks):
    settings.READINESS_BASE_URL = "https://readiness.example.com/"
    item = release.items.get(key=PLATFORM_ITEM)
    with django_capture_on_commit_callbacks(execute=True):
        item_assign(item=item, assignee=people["engineer"], by=people["manager"], expected_version=item.version)
    assert f"https://readiness.example.com/releases/{release.pk}/items/{item.pk}/" in outbox[0].body


def test_a_bulk_assignment_sends_one_mail_listing_the_items(people, release, outbox,
                                                           django_capture_on_commit_callbacks):
    items = list(release.items.filter(owner_team__slug="platform").order_by("order")[:4])
    with django_capture_on_commit_callbacks(execute=True):
        items_bulk_update(release=release, versions={i.pk: i.version for i in items}, by=people["manager"],
                          assignee=people["engineer"], due_date=datetime.date(2031, 1, 2))
    assert len(outbox) == 1 and "4 items assigned to you" in outbox[0].subject
    for item in items:
        assert item.text in outbox[0].body
    assert "(due 2031-01-02)" in outbox[0].body
