"""Waivers (issue 5 §3): request, decide, count as complete, expire."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from checklists.models import Approval, AuditEvent, Release, ReleaseItem, Waiver
from checklists.signoff import services as signoff, waivers
from checklists.signoff.waivers import WaiverError
from checklists.tasks import expire_waivers
from tests.factories import approve_all

pytestmark = pytest.mark.django_db

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"  # owned by platform


def _item(release):
    return release.items.get(key=ITEM_KEY)


def test_request_needs_justification_and_future_expiry(release, people, tomorrow):
    item = _item(release)
    with pytest.raises(WaiverError, match="justification"):
        waivers.waiver_request(item=item, by=people["engineer"], justification=" ", expires_on=tomorrow)
    with pytest.raises(WaiverError, match="future"):
        waivers.waiver_request(item=item, by=people["engineer"], justification="x", expires_on=timezone.localdate())
    with pytest.raises(PermissionDenied):
        waivers.waiver_request(item=item, by=people["outsider_engineer"], justification="x", expires_on=tomorrow)


def test_granted_waiver_counts_as_complete_and_expiry_reopens_the_item(release, people, approvers, tomorrow,
                                                                      outbox, django_capture_on_commit_callbacks):
    release.items.exclude(key=ITEM_KEY).update(status=ReleaseItem.Status.DONE)
    item = _item(release)
    ReleaseItem.objects.filter(pk=item.pk).update(status=ReleaseItem.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="Two nodes until Q3.",
                                        expires_on=tomorrow)
    assert [m.to for m in outbox] == [["manager@example.com"]]
    with pytest.raises(PermissionDenied):  # nobody grants their own request
        waivers.waiver_decide(waiver=waiver, by=people["engineer"], grant=True)
    with pytest.raises(PermissionDenied):
        waivers.waiver_decide(waiver=waiver, by=people["auditor"], grant=True)
    waivers.waiver_decide(waiver=waiver, by=people["manager"], grant=True, comment="Accepted risk.")
    item.refresh_from_db()
    waiver.refresh_from_db()
    assert item.status == ReleaseItem.Status.WAIVED and waiver.previous_status == ReleaseItem.Status.FAILED
    assert not signoff.signoff_blockers(release)

    signoff.signoff_open(release=release, by=people["manager"])
    release = approve_all(release, approvers)
    assert release.state == Release.State.APPROVED

    # The next day the sweep expires it: the item reopens, the approved release is flagged.
    day_after = tomorrow + datetime.timedelta(days=1)
    assert waivers.waivers_expire_due(today=day_after) == 1
    assert waivers.waivers_expire_due(today=day_after) == 0  # idempotent
    item.refresh_from_db()
    waiver.refresh_from_db()
    release.refresh_from_db()
    assert waiver.state == Waiver.State.EXPIRED
    assert item.status == ReleaseItem.Status.FAILED
    assert release.drifted
    assert release.state == Release.State.IN_PROGRESS
    assert not Approval.objects.filter(release=release, superseded_at__isnull=True).exists()
    assert "checklists.waiver.expired" in AuditEvent.objects.filter(release=release).values_list("action", flat=True)


def test_refusal_needs_a_comment_and_leaves_the_item(release, people, tomorrow):
    item = _item(release)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)
    with pytest.raises(WaiverError, match="comment"):
        waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=False)
    waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=False, comment="Fix it instead.")
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN
    assert Waiver.objects.get().state == Waiver.State.REFUSED


def test_a_waiver_for_an_item_done_since_the_request_is_not_granted(release, people, tomorrow):
    item = _item(release)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)
    ReleaseItem.objects.filter(pk=item.pk).update(status=ReleaseItem.Status.DONE)
    with pytest.raises(WaiverError, match="already done; it needs no waiver"):
        waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=True)
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.DONE
    assert Waiver.objects.get().state == Waiver.State.REQUESTED


def test_revoke_restores_the_previous_status(release, people, tomorrow):
    item = _item(release)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)
    waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=True)
    with pytest.raises(PermissionDenied):
        waivers.waiver_revoke(waiver=waiver, by=people["approver"])
    waivers.waiver_revoke(waiver=waiver, by=people["manager"])
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN


def test_the_task_and_the_command_sweep(release, people, tomorrow, monkeypatch):
    item = _item(release)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)
    waivers.waiver_decide(waiver=waiver, by=people["manager"], grant=True)
    assert expire_waivers.apply().get() == 0
    Waiver.objects.filter(pk=waiver.pk).update(expires_on=timezone.localdate())
    call_command("expire_waivers")
    waiver.refresh_from_db()
    assert waiver.state == Waiver.State.EXPIRED
