"""Notifications: email through Django's email framework (settings.MAILERS; console backend by default),
in-app notices and team webhooks (notices.services.event_publish). One function per event that
checklists announces (checklists/announce.py), connected by `connect()` when Django starts.

Every function queues its mail and webhook deliveries with transaction.on_commit: a rolled-back
decision sends nothing, and a slow mail server or webhook endpoint never holds a row lock. Links are
absolute when READINESS_BASE_URL is set. People who turned event emails off get notices only.
"""
import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from checklists import announce
from checklists.models import Membership, Role
from notices.models import Event, Preference
from notices.services import event_publish

log = logging.getLogger(__name__)


def _url(name: str, *args) -> str:
    return getattr(settings, "READINESS_BASE_URL", "").rstrip("/") + reverse(name, args=args)


def _send(recipients, subject: str, template: str, context: dict, *, preference: str = "event_email") -> None:
    """Queue a mail for after the commit, to those who have not turned such mails off. The body is
    rendered then, not now: a service that changes several fields of an item in one transaction
    (assignee, then due date) mails the final values."""
    recipients = [user for user in recipients if user is not None and user.email and user.is_active]
    if not recipients:
        return
    declined = set(Preference.objects.filter(user__in=recipients, **{preference: False})
                   .values_list("user_id", flat=True))
    addresses = sorted({user.email for user in recipients if user.pk not in declined})
    if not addresses:
        return

    def send():
        try:
            body = render_to_string(template, context)
            EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=addresses).send()
        except Exception:  # a mail outage must not break the decision it reports
            log.exception("notification mail failed", extra={"subject": subject})

    transaction.on_commit(send)


def approvers_for(release) -> list:
    """Everyone who may decide at least one of the release's requirements (auditors never)."""
    users = get_user_model().objects
    match = Q(pk__in=[])
    for requirement in release.requirements.all():
        memberships = Membership.objects.exclude(role=Role.AUDITOR)
        if requirement.team_id:
            memberships = memberships.filter(team_id=requirement.team_id)
        if requirement.role:
            memberships = memberships.filter(role=requirement.role)
        match |= Q(pk__in=memberships.values("user_id"))
    return list(users.filter(match, is_active=True).exclude(pk=release.created_by_id))


def _short(text: str, limit: int = 70) -> str:
    """Item text for a subject line: its Markdown stripped, cut at a word."""
    from checklists.templatetags.readiness import plain_text

    plain = " ".join(plain_text(text).split())
    return plain if len(plain) <= limit else plain[:limit - 1].rsplit(" ", 1)[0] + "…"


def _stamp(release) -> str:
    return release.updated_at.strftime("%Y%m%dT%H%M%S.%f")


def signoff_opened(release) -> None:
    approvers = approvers_for(release)
    _send(approvers, f"[Readiness] Sign-off open: {release}", "signoff/email/opened.txt",
          {"release": release, "url": _url("signoff-detail", release.pk)})
    event_publish(event=Event.SIGNOFF_OPENED, key=f"signoff.opened:{release.pk}:{_stamp(release)}",
                  title=f"Sign-off open: {release}", text="Every required item is complete; approvers may decide.",
                  url=reverse("signoff-detail", args=[release.pk]), release=release, users=approvers)


def decision_made(approval) -> None:
    release = approval.release
    _send([release.release_manager], f"[Readiness] {approval.get_decision_display()}: {approval.requirement} "
                                     f"for {release}", "signoff/email/decision.txt",
          {"approval": approval, "release": release, "url": _url("signoff-detail", release.pk)})
    who = approval.approver.get_full_name() or approval.approver.get_username()
    event_publish(event=Event.DECISION, key=f"signoff.decided:{approval.pk}",
                  title=f"{approval.get_decision_display()}: {approval.requirement} for {release}",
                  text=f"{who}: {approval.comment}" if approval.comment else f"By {who}.",
                  url=reverse("signoff-detail", args=[release.pk]), release=release,
                  users=[release.release_manager],
                  data={"requirement": str(approval.requirement), "decision": approval.decision, "by": who})


def approvals_voided(release, approvals, *, reason: str) -> None:
    """Decisions superseded by a change: tell the people who made them and the release manager."""
    if not approvals:
        return
    ids = sorted(approval.pk for approval in approvals)
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    people = [release.release_manager, *(approval.approver for approval in approvals)]
    names = ", ".join(str(approval.requirement) for approval in approvals)
    _send(people, f"[Readiness] Approvals voided: {release}", "signoff/email/voided.txt",
          {"release": release, "approvals": approvals, "reason": reason,
           "url": _url("signoff-detail", release.pk)})
    event_publish(event=Event.APPROVALS_VOIDED, key=f"signoff.voided:{release.pk}:{digest}",
                  title=f"{len(ids)} decision(s) voided on {release}", text=f"{names}. {reason}",
                  url=reverse("signoff-detail", args=[release.pk]), release=release, users=people,
                  data={"approvals": ids, "reason": reason})


def release_approved(release) -> None:
    event_publish(event=Event.RELEASE_APPROVED, key=f"release.approved:{release.pk}:{_stamp(release)}",
                  title=f"Approved: {release}", text="Every sign-off requirement is approved.",
                  url=reverse("signoff-detail", args=[release.pk]), release=release,
                  users=[release.release_manager, release.created_by])


def release_drifted(release, *, reason: str, key: str) -> None:
    """An approved release no longer matches what was approved (a probe regressed, a waiver expired)."""
    _send([release.release_manager], f"[Readiness] Drift detected: {release}", "signoff/email/drifted.txt",
          {"release": release, "reason": reason, "url": _url("release-detail", release.pk)})
    event_publish(event=Event.DRIFT, key=f"release.drifted:{release.pk}:{key}", title=f"Drift detected: {release}",
                  text=reason, url=reverse("release-detail", args=[release.pk]), release=release,
                  users=[release.release_manager])


def waiver_requested(waiver) -> None:
    release = waiver.item.release
    _send([release.release_manager], f"[Readiness] Waiver requested: {_short(waiver.item.text)} ({release})",
          "signoff/email/waiver_requested.txt",
          {"waiver": waiver, "release": release, "url": _url("my-approvals")})
    event_publish(event=Event.WAIVER_REQUESTED, key=f"waiver.requested:{waiver.pk}",
                  title=f"Waiver requested: {waiver.item.key} ({release})", text=waiver.justification,
                  url=reverse("my-approvals"), release=release, users=[release.release_manager],
                  team_ids=_waiver_teams(waiver),
                  data={"item": waiver.item.key, "expires_on": waiver.expires_on.isoformat()})


def _waiver_teams(waiver) -> set[int] | None:
    """The item's owning team; None (the release's teams) for an item no team owns."""
    return {waiver.item.owner_team_id} if waiver.item.owner_team_id else None


def waiver_decided(waiver) -> None:
    release = waiver.item.release
    _send([waiver.requested_by, release.release_manager],
          f"[Readiness] Waiver {waiver.get_state_display().lower()}: {_short(waiver.item.text)} ({release})",
          "signoff/email/waiver_decided.txt",
          {"waiver": waiver, "release": release, "url": _url("signoff-detail", release.pk)})
    event_publish(event=Event.WAIVER_DECIDED, key=f"waiver.decided:{waiver.pk}:{waiver.state}",
                  title=f"Waiver {waiver.get_state_display().lower()}: {waiver.item.key} ({release})",
                  text=waiver.decision_comment, url=reverse("signoff-detail", args=[release.pk]), release=release,
                  users=[waiver.requested_by, release.release_manager], team_ids=_waiver_teams(waiver),
                  data={"item": waiver.item.key, "state": waiver.state,
                        "expires_on": waiver.expires_on.isoformat()})


def waiver_expiring(waiver, *, days_left: int) -> None:
    """A granted waiver ends soon. Keyed by waiver and expiry date: a second reminder run sends nothing."""
    release = waiver.item.release
    people = [waiver.requested_by, release.release_manager]
    when = "today" if days_left <= 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
    fresh = event_publish(event=Event.WAIVER_EXPIRING, key=f"waiver.expiring:{waiver.pk}:{waiver.expires_on}",
                          title=f"Waiver expires {when}: {waiver.item.key} ({release})",
                          text=f"The item reopens on {waiver.expires_on.isoformat()} unless it is done by then.",
                          url=reverse("item-detail", args=[release.pk, waiver.item_id]), release=release,
                          users=people, team_ids=_waiver_teams(waiver),
                          data={"item": waiver.item.key, "expires_on": waiver.expires_on.isoformat()})
    _send(fresh, f"[Readiness] Waiver expires {when}: {waiver.item.key} ({release})",
          "signoff/email/waiver_expiring.txt",
          {"waiver": waiver, "release": release, "when": when,
           "url": _url("item-detail", release.pk, waiver.item_id)}, preference="waiver_reminder_email")


def item_assigned(item, *, by=None) -> None:
    """For the item services: tell the new assignee. Call inside the assigning transaction."""
    if item.assignee_id is None or (by is not None and by.pk == item.assignee_id):
        return
    _send([item.assignee], f"[Readiness] Assigned to you: {_short(item.text)} ({item.release})",
          "signoff/email/item_assigned.txt", {"item": item, "release": item.release, "by": by,
                                              "url": _url("item-detail", item.release_id, item.pk)})


def requirements_changed(release, *, by, what: str) -> None:
    """Sign-off requirements changed after sign-off opened: every decision is void; say so."""
    _send(approvers_for(release) + [release.release_manager],
          f"[Readiness] Sign-off requirements changed: {release}", "signoff/email/requirements_changed.txt",
          {"release": release, "what": what, "who": by.get_full_name() or by.get_username(),
           "url": _url("signoff-detail", release.pk)})


def items_assigned(items, *, by=None) -> None:
    """For bulk changes: one mail to the new assignee listing every item, not one mail per item."""
    items = [item for item in items if item.assignee_id is not None and (by is None or by.pk != item.assignee_id)]
    if not items:
        return
    if len(items) == 1:
        item_assigned(items[0], by=by)
        return
    release = items[0].release
    _send([items[0].assignee], f"[Readiness] {len(items)} items assigned to you ({release})",
          "signoff/email/items_assigned.txt",
          {"rows": [(item, _url("item-detail", item.release_id, item.pk)) for item in items], "release": release,
           "by": by, "url": _url("release-detail", release.pk) + f"?assignee={items[0].assignee.get_username()}"})


def connect() -> None:
    """Listen to every announcement of checklists with the function of the same name."""
    for name, announcement in announce.announcements().items():
        announcement.connect(_receiver(globals()[name]), weak=False, dispatch_uid=f"notices.{name}")


def _receiver(handler):
    def receive(sender, signal, **kwargs):
        handler(**kwargs)
    return receive
