"""Changing the items ticked on the release page (or every item its filter shows) at once."""
import datetime

import pytest
from django.urls import reverse

from checklists.models import Approval, AuditEvent, Release, ReleaseItem
from checklists.services import items as item_services

pytestmark = pytest.mark.django_db


def _url(release):
    return reverse("items-bulk", args=[release.pk])


def _picks(items):
    return [f"{item.pk}:{item.version}" for item in items]


def _platform(release, n=None):
    items = release.items.filter(owner_team__slug="platform").order_by("order")
    return list(items[:n] if n else items)


def test_wrong_method_anonymous_and_who_may(client, people, release):
    items = _platform(release, 3)
    assert client.post(_url(release), {"item": _picks(items), "status": "done"}).status_code == 302  # to login
    client.force_login(people["manager"])
    assert client.get(_url(release)).status_code == 405
    for who, status in [("nobody", 404), ("engineer", 403), ("auditor", 403), ("approver", 403),
                        ("other_manager", 403)]:
        client.force_login(people[who])
        assert client.post(_url(release), {"item": _picks(items), "status": "done"}).status_code == status, who
    assert not release.items.filter(status="done").exists()


def test_sets_the_status_of_the_ticked_items_one_audit_event_each(client, people, release):
    client.force_login(people["manager"])
    items = _platform(release, 5)
    page = reverse("release-detail", args=[release.pk]) + "?team=platform"
    response = client.post(_url(release), {"scope": "selected", "item": _picks(items), "status": "done",
                                           "next": page}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert "5 items changed (status → Done)." in response.content.decode()
    for item in _platform(release, 5):
        assert item.status == "done" and item.completed_by == people["manager"] and item.version == 2
    events = AuditEvent.objects.filter(action=item_services.BULK_ACTION)
    assert events.count() == 5
    assert {e.before["status"] for e in events} == {"open"} and {e.after["status"] for e in events} == {"done"}


def test_all_items_matching_the_filter(client, people, release):
    client.force_login(people["manager"])
    page = client.get(reverse("release-detail", args=[release.pk]), {"team": "platform"})
    shown = page.context["bulk_form"].initial["shown"]
    platform = _platform(release)
    assert shown == ",".join(_picks(platform))
    client.post(_url(release), {"scope": "all", "shown": shown, "owner_team": "", "assignee": people["engineer"].pk})
    assert release.items.filter(assignee=people["engineer"]).count() == len(platform)
    assert release.items.exclude(owner_team__slug="platform").filter(assignee__isnull=False).count() == 0


def test_one_conflict_saves_nothing_and_names_it(client, people, release):
    client.force_login(people["manager"])
    items = _platform(release, 6)
    picks = _picks(items)
    changed = items[2]
    item_services.item_set_status(item=changed, status="in_progress", by=people["engineer"],
                                  expected_version=changed.version)
    response = client.post(_url(release), {"item": picks, "status": "done"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Nothing was saved." in html and "1 of the 6 selected items changed" in html
    assert changed.text in html and "alice" in html and "now “In progress”" in html
    assert not release.items.filter(status="done").exists()
    assert not AuditEvent.objects.filter(action=item_services.BULK_ACTION).exists()
    # "Apply again" carries the current versions.
    assert f'value="{changed.pk}:{changed.version}"' in html
    again = client.post(_url(release), {"item": [f"{i.pk}:{i.version}" for i in _platform(release, 6)],
                                        "status": "done"})
    assert again.status_code == 302
    assert release.items.filter(status="done").count() == 6


@pytest.mark.parametrize("data, message", [
    ({"status": "done"}, "Select at least one item"),
    ({"item": ["x:y"], "status": "done"}, "The list of items is damaged"),
    ({"item": ["PICK"]}, "Choose a status, an owner team"),
    ({"item": ["PICK"], "status": "waived"}, "Select a valid choice"),
    ({"item": ["PICK"], "status": "not_applicable"}, "Say why these items do not apply"),
])
def test_bad_input_is_a_400_naming_the_problem(client, people, release, data, message):
    client.force_login(people["manager"])
    item = _platform(release, 1)[0]
    data = {k: [f"{item.pk}:{item.version}" if v == "PICK" else v for v in vs] if isinstance(vs, list) else vs
            for k, vs in data.items()}
    response = client.post(_url(release), data)
    assert response.status_code == 400 and message in response.content.decode()


def test_a_foreign_item_is_refused(client, people, release):
    from checklists.services.releases import release_create

    other = release_create(template_version=release.template_version, service="other", version="1",
                           by=people["manager"])
    client.force_login(people["manager"])
    response = client.post(_url(release), {"item": _picks(_platform(release, 2) + _platform(other, 1)),
                                           "status": "done"})
    assert response.status_code == 400 and "not part of this release" in response.content.decode()
    assert not ReleaseItem.objects.filter(status="done").exists()


def _bulk_queries(django_assert_max_num_queries, release, people, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checklists import permissions

    items = _platform(release, n)
    permissions.roles_of(people["manager"])  # cached per request in real use
    with CaptureQueriesContext(connection) as ctx:
        item_services.items_bulk_update(release=release, versions={i.pk: i.version for i in items},
                                        by=people["manager"], status="done", assignee=people["engineer"],
                                        due_date=datetime.date(2031, 1, 1))
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_items(people, release, django_assert_max_num_queries):
    few = _bulk_queries(django_assert_max_num_queries, release, people, 2)
    other = Release.objects.get(pk=release.pk)
    from checklists.services.releases import release_create

    big = release_create(template_version=other.template_version, service="big", version="1", by=people["manager"])
    many = _bulk_queries(django_assert_max_num_queries, big, people, 40)
    # The read of the items, the assignee check, then the entry point: its savepoint and release, the
    # locking read of the items, the release lock, the live decisions (read once, before the audit
    # events), one UPDATE (every item changes the same fields), the audit events (chain lock, last
    # hash, one INSERT): 12 whatever the number of items.
    assert few == 12 and many == 12


def test_bulk_change_supersedes_approvals_in_scope(people, release):
    from checklists.signoff import services as signoff

    items = list(release.items.order_by("order"))
    for item in items:
        ReleaseItem.objects.filter(pk=item.pk).update(status="done")
    Release.objects.filter(pk=release.pk).update(state=Release.State.AWAITING_SIGNOFF)
    requirement = release.requirements.first()
    Approval.objects.create(release=release, requirement=requirement, approver=people["approver"],
                            decision=Approval.Decision.APPROVED, state_hash="x")
    fresh = list(release.items.order_by("order")[:3])
    item_services.items_bulk_update(release=release, versions={i.pk: i.version for i in fresh},
                                    by=people["manager"], status="in_progress")
    release.refresh_from_db()
    assert release.state == Release.State.IN_PROGRESS
    assert not release.approvals.filter(superseded_at__isnull=True).exists()
    assert signoff.signoff_blockers(release).incomplete
