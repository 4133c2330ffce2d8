"""Each workflow event tells the people it concerns (in-app notices) and queues team deliveries."""
import datetime

import pytest
from django.core import mail
from django.utils import timezone

from checklists.models import ReleaseItem
from checklists.services import signoff, waivers
from notices.digests import waiver_reminders_send
from notices.models import Delivery, Event, Notice
from tests.factories import approve_all, change_item, complete_all  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def notices_of(user):
    return list(Notice.objects.filter(user=user).order_by("id").values_list("event", flat=True))


def test_opening_deciding_and_approving_tell_approvers_and_the_manager(people, release, approvers, webhook, outbox,
                                                                        django_capture_on_commit_callbacks):
    complete_all(release)
    manager = people["manager"]
    with django_capture_on_commit_callbacks():
        signoff.signoff_open(release=release, by=manager)
    for approver in approvers.values():
        assert notices_of(approver) == [Event.SIGNOFF_OPENED]
    with django_capture_on_commit_callbacks():
        approve_all(release, approvers)
    assert sorted(notices_of(manager)) == [Event.RELEASE_APPROVED] + [Event.DECISION] * 3
    events = list(Delivery.objects.filter(webhook=webhook).order_by("id").values_list("event", flat=True))
    assert sorted(events) == [Event.RELEASE_APPROVED] + [Event.DECISION] * 3 + [Event.SIGNOFF_OPENED]


def test_a_change_after_approval_voids_the_approvals_and_says_so(people, release, approvers, webhook, outbox,
                                                                  django_capture_on_commit_callbacks):
    complete_all(release)
    signoff.signoff_open(release=release, by=people["manager"])
    approve_all(release, approvers)
    item = release.items.get(key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    with django_capture_on_commit_callbacks(execute=True):
        change_item(item, status=ReleaseItem.Status.FAILED, by=people["engineer"])
    for approver in approvers.values():
        assert notices_of(approver)[-1] == Event.APPROVALS_VOIDED
    voided = Delivery.objects.get(webhook=webhook, event=Event.APPROVALS_VOIDED)
    assert voided.payload["title"] == f"3 decision(s) voided on {release}"
    assert "Item kubernetes-cluster.cluster-has-at-least-3-nodes" in voided.payload["text"]
    subjects = [message.subject for message in outbox]
    assert f"[Readiness] Approvals voided: {release}" in subjects
    voided_mail = next(m for m in outbox if m.subject.startswith("[Readiness] Approvals voided"))
    assert set(voided_mail.to) == {u.email for u in [people["manager"], *approvers.values()]}


def test_waiver_requested_granted_and_expiring(people, release, approvers, outbox,
                                               django_capture_on_commit_callbacks):
    item = release.items.filter(owner_team__slug="platform").first()
    alice, manager = people["engineer"], people["manager"]
    in_two_days = timezone.localdate() + datetime.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        waiver = waivers.waiver_request(item=item, by=alice, justification="Vendor fix.", expires_on=in_two_days)
        waivers.waiver_decide(waiver=waiver, by=manager, grant=True)
    assert notices_of(manager) == [Event.WAIVER_REQUESTED, Event.WAIVER_DECIDED]
    assert notices_of(alice) == [Event.WAIVER_DECIDED]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert waiver_reminders_send() == 1
        assert waiver_reminders_send() == 1  # a second run: nothing new is sent
    assert notices_of(alice)[-1] == Event.WAIVER_EXPIRING
    assert Notice.objects.filter(event=Event.WAIVER_EXPIRING).count() == 2  # alice and the manager, once each
    assert [m.subject for m in mail.outbox] == [f"[Readiness] Waiver expires in 2 days: {item.key} ({release})"]
    assert set(mail.outbox[0].to) == {alice.email, manager.email}


def test_drift_on_an_approved_release_tells_its_manager(people, release, approvers, outbox,
                                                        django_capture_on_commit_callbacks):
    """A waiver expiring after approval flags the release as drifted."""
    item = release.items.filter(owner_team__slug="platform").first()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)
    waivers.waiver_decide(waiver=waiver, by=people["manager"], grant=True)
    release.items.exclude(pk=item.pk).update(status="done")
    signoff.signoff_open(release=release, by=people["manager"])
    approve_all(release, approvers)
    with django_capture_on_commit_callbacks(execute=True):
        assert waivers.waiver_expire(waiver_id=waiver.pk, today=tomorrow)
    assert Event.DRIFT in notices_of(people["manager"])
    assert any(m.subject == f"[Readiness] Drift detected: {release}" for m in outbox)


def test_people_who_turn_event_emails_off_still_get_notices(people, release, approvers, outbox, client,
                                                             django_capture_on_commit_callbacks):
    from notices.services import preference_set

    pat = approvers["Platform"]
    preference_set(user=pat, by=pat, digest_email=True, waiver_reminder_email=True, event_email=False)
    complete_all(release)
    with django_capture_on_commit_callbacks(execute=True):
        signoff.signoff_open(release=release, by=people["manager"])
    [opened] = outbox
    assert pat.email not in opened.to and people["approver"].email in opened.to
    assert notices_of(pat) == [Event.SIGNOFF_OPENED]
