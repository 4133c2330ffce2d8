"""Sign-off decisions and item changes made at the same moment, in two real transactions."""
import threading
import time

import pytest
from django.db import connection, transaction

from checklists.models import Approval, Release, ReleaseItem
from checklists.services import items
from checklists.signoff import services as signoff
from tests.factories import approve_all

pytestmark = pytest.mark.django_db(transaction=True)

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _decide_while_holding_the_release(requirement, approver, locked: threading.Event, errors: list):
    """A second request: it holds the release row (as approval_decide does) for a moment, then decides."""
    try:
        with transaction.atomic():
            Release.objects.select_for_update().get(pk=requirement.release_id)
            locked.set()
            time.sleep(1.0)  # the item change below starts meanwhile
            signoff.approval_decide(requirement=requirement, by=approver, decision="approved", comment="ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test thread
        errors.append(exc)
    finally:
        locked.set()
        connection.close()


def test_an_approval_committed_during_an_item_change_is_superseded(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    item = ready_release.items.get(key=ITEM_KEY)
    covering = [r for r in ready_release.requirements.all()
                if (scope := signoff.scope_item_ids(r)) is None or item.pk in scope]
    last = covering[0]
    for requirement in ready_release.requirements.exclude(pk=last.pk):
        signoff.approval_decide(requirement=requirement, by=approvers[requirement.name], decision="approved",
                                comment="ok")

    locked, errors = threading.Event(), []
    other = threading.Thread(target=_decide_while_holding_the_release,
                             args=(last, approvers[last.name], locked, errors))
    other.start()
    assert locked.wait(10)
    # Same verdict for the release (still complete), but not the state the last approver saw.
    items.item_set_status(item=item, status=ReleaseItem.Status.NOT_APPLICABLE, by=people["engineer"],
                          expected_version=item.version)
    other.join(10)

    assert errors == []
    late = Approval.objects.get(requirement=last)
    assert late.superseded_at is not None, "an approval of a state that no longer exists stayed live"
    ready_release.refresh_from_db()
    assert ready_release.state == Release.State.AWAITING_SIGNOFF


def test_approvals_still_complete_a_release_after_the_race_fix(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    assert approve_all(ready_release, approvers).state == Release.State.APPROVED
