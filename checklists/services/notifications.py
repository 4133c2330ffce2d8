"""Email notifications through Django's email framework (settings.MAILERS; console backend by default).

Every function queues its mail with transaction.on_commit: a rolled-back decision sends nothing, and
a slow mail server never holds a row lock. Links are absolute when READINESS_BASE_URL is set.
"""
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from checklists.models import Membership, Role

log = logging.getLogger(__name__)


def _url(name: str, *args) -> str:
    return getattr(settings, "READINESS_BASE_URL", "").rstrip("/") + reverse(name, args=args)


def _send(recipients, subject: str, template: str, context: dict) -> None:
    """Queue a mail for after the commit. The body is rendered then, not now: a service that changes
    several fields of an item in one transaction (assignee, then due date) mails the final values."""
    addresses = sorted({user.email for user in recipients if user is not None and user.email})
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


def signoff_opened(release) -> None:
    _send(approvers_for(release), f"[Readiness] Sign-off open: {release}", "signoff/email/opened.txt",
          {"release": release, "url": _url("signoff-detail", release.pk)})


def decision_made(approval) -> None:
    release = approval.release
    _send([release.release_manager], f"[Readiness] {approval.get_decision_display()}: {approval.requirement} "
                                     f"for {release}", "signoff/email/decision.txt",
          {"approval": approval, "release": release, "url": _url("signoff-detail", release.pk)})


def waiver_requested(waiver) -> None:
    release = waiver.item.release
    _send([release.release_manager], f"[Readiness] Waiver requested: {_short(waiver.item.text)} ({release})",
          "signoff/email/waiver_requested.txt",
          {"waiver": waiver, "release": release, "url": _url("my-approvals")})


def waiver_decided(waiver) -> None:
    release = waiver.item.release
    _send([waiver.requested_by, release.release_manager],
          f"[Readiness] Waiver {waiver.get_state_display().lower()}: {_short(waiver.item.text)} ({release})",
          "signoff/email/waiver_decided.txt",
          {"waiver": waiver, "release": release, "url": _url("signoff-detail", release.pk)})


def item_assigned(item, *, by=None) -> None:
    """For the item services: tell the new assignee. Call inside the assigning transaction."""
    if item.assignee_id is None or (by is not None and by.pk == item.assignee_id):
        return
    _send([item.assignee], f"[Readiness] Assigned to you: {_short(item.text)} ({item.release})",
          "signoff/email/item_assigned.txt", {"item": item, "release": item.release, "by": by,
                                              "url": _url("item-detail", item.release_id, item.pk)})


def approvals_voided(approvals, *, items, by=None) -> None:
    """For the item entry point: tell the approvers whose decisions a change voided, and the release
    manager, what changed and who changed it. Call inside the changing transaction."""
    release = items[0].release
    who = (by.get_full_name() or by.get_username()) if by is not None else "a probe or the system"
    what = items[0].text[:60] if len(items) == 1 else f"{len(items)} items"
    _send([a.approver for a in approvals] + [release.release_manager],
          f"[Readiness] {len(approvals)} approval(s) voided: {what} ({release})",
          "signoff/email/approvals_voided.txt",
          {"approvals": approvals, "items": items, "release": release, "who": who,
           "url": _url("signoff-detail", release.pk)})


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
