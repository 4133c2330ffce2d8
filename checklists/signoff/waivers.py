"""Waivers: an engineer asks, a release manager or approver decides, the date ends it.

A granted waiver sets the item to waived (keeping its previous status on the waiver) and counts as
complete until `expires_on`; expiry or revocation puts the item back and, through
signoff.on_items_changed, voids the decisions that relied on it.
"""
import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from checklists import announce, permissions
from checklists.audit import record
from checklists.models import ReleaseItem, Waiver
from checklists.signoff import services as signoff
from checklists.services.items import Source, item_change


class WaiverError(ValueError):
    """The waiver step cannot be taken as asked; the message says why."""


def _snapshot(waiver: Waiver) -> dict:
    return {"item": waiver.item.key, "state": waiver.state, "justification": waiver.justification,
            "expires_on": waiver.expires_on.isoformat(), "previous_status": waiver.previous_status,
            "decision_comment": waiver.decision_comment}


def _locked_item(item_pk: int) -> ReleaseItem:
    return ReleaseItem.objects.select_for_update(no_key=True).select_related("release").get(pk=item_pk)


def _set_item_status(item: ReleaseItem, status: str, *, by, source: str, reason: str) -> None:
    """Through the item entry point: the item row is locked already, so no version is expected."""
    item_change(item=item, changes={"status": status}, by=by, expected_version=None, source=source,
                reason=reason)


@transaction.atomic
def waiver_request(*, item: ReleaseItem, by, justification: str, expires_on: datetime.date) -> Waiver:

    item = _locked_item(item.pk)
    if not permissions.can_change_item(by, item):
        raise PermissionDenied("You may not request a waiver for this item.")
    justification = (justification or "").strip()
    if not justification:
        raise WaiverError("A waiver needs a justification.")
    if expires_on is None or expires_on <= timezone.localdate():
        raise WaiverError("A waiver's expiry date must be in the future.")
    if item.status in (ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE):
        raise WaiverError("This item is already complete; it needs no waiver.")
    if item.waivers.filter(state__in=[Waiver.State.REQUESTED, Waiver.State.GRANTED]).exists():
        raise WaiverError("This item already has a waiver requested or granted.")
    waiver = Waiver.objects.create(item=item, justification=justification, expires_on=expires_on, requested_by=by)
    record("checklists.waiver.requested", actor=by, obj=waiver, release=item.release, after=_snapshot(waiver))
    announce.waiver_requested(waiver=waiver)
    return waiver


@transaction.atomic
def waiver_decide(*, waiver: Waiver, by, grant: bool, comment: str = "") -> Waiver:

    waiver = Waiver.objects.select_for_update(no_key=True).select_related("item__release").get(pk=waiver.pk)
    if not permissions.can_decide_waiver(by, waiver):
        raise PermissionDenied("A waiver is decided by the release's manager or an approver, not its requester.")
    if waiver.state != Waiver.State.REQUESTED:
        raise WaiverError(f"This waiver is already {waiver.get_state_display().lower()}.")
    comment = (comment or "").strip()
    if not grant and not comment:
        raise WaiverError("Refusing a waiver needs a comment saying why.")
    before = _snapshot(waiver)
    waiver.decided_by, waiver.decided_at, waiver.decision_comment = by, timezone.now(), comment
    if grant:
        if waiver.expires_on <= timezone.localdate():
            raise WaiverError("This waiver's expiry date has passed; ask for a new one.")
        item = _locked_item(waiver.item_id)
        if item.status in (ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE):
            # Done since the request: a waiver would replace real completion with an exception that expires.
            raise WaiverError(f"The item is already {item.get_status_display().lower()}; it needs no waiver. "
                              f"Refuse the request instead.")
        waiver.state = Waiver.State.GRANTED
        waiver.previous_status = item.status
        # The grantor vouches for the waived item: separation of duties keeps them off its sign-off.
        _set_item_status(item, ReleaseItem.Status.WAIVED, by=by, source=Source.WAIVER,
                         reason=f"Waiver granted for {item.key} by {by.get_username()}.")
        waiver.item = item
    else:
        waiver.state = Waiver.State.REFUSED
    waiver.save(update_fields=["state", "previous_status", "decided_by", "decided_at", "decision_comment"])
    if not grant:
        signoff.lock_release_for_item_change(waiver.item.release_id)  # release row before the audit lock
    record(f"checklists.waiver.{waiver.state}", actor=by, obj=waiver, release=waiver.item.release,
           before=before, after=_snapshot(waiver))
    announce.waiver_decided(waiver=waiver)
    return waiver


def _restore(waiver: Waiver, *, by, state: str, reason: str, source: str) -> Waiver:
    item = _locked_item(waiver.item_id)
    signoff.lock_release_for_item_change(item.release_id)
    before = _snapshot(waiver)
    waiver.state = state
    waiver.save(update_fields=["state"])
    if item.status == ReleaseItem.Status.WAIVED:
        # The item reopens: back to what it was, unless that counted as complete by itself.
        previous = waiver.previous_status
        if not previous or previous in ReleaseItem.COMPLETE:
            previous = ReleaseItem.Status.OPEN
        _set_item_status(item, previous, by=by, source=source, reason=reason)
    waiver.item = item
    record(f"checklists.waiver.{state}", actor=by, obj=waiver, release=item.release, before=before,
           after={**_snapshot(waiver), "item_status": item.status})
    return waiver


@transaction.atomic
def waiver_revoke(*, waiver: Waiver, by) -> Waiver:
    waiver = Waiver.objects.select_for_update(no_key=True).select_related("item__release").get(pk=waiver.pk)
    if not permissions.can_revoke_waiver(by, waiver):
        raise PermissionDenied("Only the release's manager revokes a waiver.")
    if waiver.state not in (Waiver.State.GRANTED, Waiver.State.REQUESTED):
        raise WaiverError(f"This waiver is already {waiver.get_state_display().lower()}.")
    return _restore(waiver, by=by, state=Waiver.State.REVOKED, source=Source.WAIVER,
                    reason=f"Waiver for {waiver.item.key} revoked by {by.get_username()}.")


def waiver_expire(*, waiver_id: int, today=None) -> bool:
    """Expire one granted waiver whose date has come. Safe to run twice: returns False if nothing to do."""
    today = today or timezone.localdate()
    with transaction.atomic():
        waiver = (Waiver.objects.select_for_update(no_key=True, skip_locked=True).select_related("item__release")
                  .filter(pk=waiver_id, state=Waiver.State.GRANTED, expires_on__lte=today).first())
        if waiver is None:
            return False
        _restore(waiver, by=None, state=Waiver.State.EXPIRED, source=Source.EXPIRY,
                 reason=f"Waiver for {waiver.item.key} expired on {waiver.expires_on.isoformat()}.")
    return True


def waivers_expire_due(*, today=None) -> int:
    """The sweep: expire every granted waiver past its date, each in its own transaction."""
    today = today or timezone.localdate()
    due = Waiver.objects.filter(state=Waiver.State.GRANTED, expires_on__lte=today).values_list("pk", flat=True)
    return sum(waiver_expire(waiver_id=pk, today=today) for pk in list(due))
