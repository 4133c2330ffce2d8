import pytest

from checklists.services.items import item_assign

pytestmark = pytest.mark.django_db


def test_assigning_an_item_emails_the_assignee(people, release, outbox, django_capture_on_commit_callbacks):
    item = release.items.get(key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    alice = people["engineer"]
    with django_capture_on_commit_callbacks(execute=True):
        item_assign(item=item, assignee=alice, by=people["manager"], expected_version=item.version)
    assert [message.to for message in outbox] == [[alice.email]]
    assert item.key in outbox[0].subject
    assert f"/releases/{release.pk}/items/{item.pk}/" in outbox[0].body


def test_assigning_yourself_sends_nothing(people, release, outbox, django_capture_on_commit_callbacks):
    item = release.items.get(key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    alice = people["engineer"]
    with django_capture_on_commit_callbacks(execute=True):
        item_assign(item=item, assignee=alice, by=alice, expected_version=item.version)
    assert outbox == []
