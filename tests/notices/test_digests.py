"""The daily digest: content for seeded items, a query count that does not grow with the items, at
most one per person and day, and the person's choice respected."""
import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checklists.models import Release, ReleaseItem
from checklists.services import signoff
from notices.digests import digest_for, digests_send
from notices.models import Delivery, DigestLog, Event
from notices.services import preference_set, webhook_create
from tests.factories import seed_release
from tests.factories import complete_all  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 2)


def _seed(release, alice, *, overdue: int, soon: int, later: int = 2):
    platform = list(release.items.filter(owner_team__slug="platform").order_by("pk"))
    picked = platform[: overdue + soon + later]
    for n, item in enumerate(picked):
        if n < overdue:
            due = TODAY - datetime.timedelta(days=n + 1)
        elif n < overdue + soon:
            due = TODAY + datetime.timedelta(days=min(n - overdue, 3))  # today .. READINESS_DIGEST_DUE_SOON_DAYS
        else:
            due = TODAY + datetime.timedelta(days=30)
        ReleaseItem.objects.filter(pk=item.pk).update(assignee=alice, due_date=due, status="open")
    Release.objects.filter(pk=release.pk).update(state=Release.State.IN_PROGRESS)
    return picked


def test_the_digest_lists_overdue_and_due_soon_items_and_pending_approvals(people, release, approvers, settings):
    settings.READINESS_BASE_URL = "https://readiness.example.com"
    alice = people["engineer"]
    picked = _seed(release, alice, overdue=2, soon=3)
    # Someone else's item and a completed one stay out.
    bob_item = release.items.filter(owner_team__slug="backend").first()
    ReleaseItem.objects.filter(pk=bob_item.pk).update(assignee=people["outsider_engineer"], due_date=TODAY)
    ReleaseItem.objects.filter(pk=picked[0].pk).update(status="done")

    digest = digest_for(alice, day=TODAY)
    assert [i.pk for i in digest.overdue] == [picked[1].pk]
    assert [i.pk for i in digest.due_soon] == [p.pk for p in picked[2:5]]
    assert digest.approvals == []

    other = seed_release(service="billing", manager=people["manager"])
    complete_all(other)
    signoff.signoff_open(release=other, by=people["manager"])
    sam = people["approver"]
    assert [r.name for r in digest_for(sam, day=TODAY).approvals] == ["Security"]
    signoff.approval_decide(requirement=other.requirements.get(name="Security"), by=sam, decision="approved")
    assert digest_for(sam, day=TODAY).approvals == []

    assert digests_send(day=TODAY) >= 1
    [alice_mail] = [m for m in mail.outbox if m.to == [alice.email]]
    assert alice_mail.subject == "[Readiness] Your day: 1 overdue, 3 due soon, 0 to decide"
    assert picked[1].key in alice_mail.body and picked[4].key in alice_mail.body
    assert picked[0].key not in alice_mail.body and bob_item.key not in alice_mail.body
    assert f"https://readiness.example.com/releases/{release.pk}/items/{picked[1].pk}/" in alice_mail.body


def test_the_digest_query_count_does_not_grow_with_the_items(people, release, seed_teams):
    alice = people["engineer"]
    _seed(release, alice, overdue=1, soon=1)
    with CaptureQueriesContext(connection) as few:
        digest = digest_for(alice, day=TODAY)
        str([(i.release, i.owner_team) for i in digest.overdue + digest.due_soon])
    _seed(release, alice, overdue=15, soon=15)
    with CaptureQueriesContext(connection) as many:
        digest = digest_for(alice, day=TODAY)
        str([(i.release, i.owner_team) for i in digest.overdue + digest.due_soon])
    assert len(digest.overdue) + len(digest.due_soon) == 30
    # memberships, items (with release and team), requirements: three, for 2 items or 30.
    assert len(few.captured_queries) == len(many.captured_queries) == 3


def test_running_twice_sends_nothing_twice(people, release):
    _seed(release, people["engineer"], overdue=1, soon=1)
    first = digests_send(day=TODAY)
    outbox = len(mail.outbox)
    assert first >= 1 and outbox == first
    assert digests_send(day=TODAY) == 0
    assert len(mail.outbox) == outbox
    assert DigestLog.objects.filter(user=people["engineer"], day=TODAY).count() == 1
    assert digests_send(day=TODAY + datetime.timedelta(days=1)) >= 1  # a new day, a new digest


def test_people_who_turn_the_digest_off_get_none(people, release):
    alice = people["engineer"]
    _seed(release, alice, overdue=1, soon=0)
    preference_set(user=alice, by=alice, digest_email=False, waiver_reminder_email=True, event_email=True)
    digests_send(day=TODAY)
    assert not [m for m in mail.outbox if alice.email in m.to]


def test_the_team_digest_goes_to_the_team_webhook_once_a_day(people, seed_teams, release):
    _seed(release, people["engineer"], overdue=2, soon=1)
    hook, _ = webhook_create(team=seed_teams["platform"], name="daily", url="http://127.0.0.1:9/", format="slack",
                             events=[Event.DIGEST], by=people["admin"])
    digests_send(day=TODAY)
    digests_send(day=TODAY)
    [delivery] = Delivery.objects.filter(webhook=hook)
    assert delivery.payload["title"] == "Platform: 2 overdue, 1 due soon"
    assert delivery.payload["data"]["overdue"] == 2
