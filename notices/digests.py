"""The daily digest of each person, the daily team digest for webhooks, and waiver reminders.

Each runs from Celery beat and is safe to run twice: a person's digest is claimed in the sent-log
(one row per person and day) before it is mailed, the team digest and the reminders are events whose
key names the day or the waiver's expiry date, so a second run finds them sent.
"""
import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from checklists.models import Approval, Membership, Release, ReleaseItem, Role, SignoffRequirement, Team, Waiver
from notices.models import DigestLog, Event, Preference
from notices.services import absolute_url, event_publish

log = logging.getLogger(__name__)


@dataclass
class Digest:
    user: object
    day: datetime.date
    overdue: list = field(default_factory=list)
    due_soon: list = field(default_factory=list)
    approvals: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.overdue or self.due_soon or self.approvals)


def _open_work(day: datetime.date):
    soon = day + datetime.timedelta(days=settings.READINESS_DIGEST_DUE_SOON_DAYS)
    return (ReleaseItem.objects.exclude(status__in=ReleaseItem.COMPLETE)
            .exclude(release__state__in=[Release.State.APPROVED, Release.State.DRAFT])
            .filter(due_date__isnull=False, due_date__lte=soon)
            .select_related("release", "owner_team").order_by("due_date", "release_id", "key"))


def digest_for(user, *, day: datetime.date) -> Digest:
    """What `user` should hear about today: overdue and due-soon items assigned to them (or unassigned
    in one of their teams), and the sign-off requirements waiting for a decision they may give.
    Three queries, whatever the number of items, releases and requirements."""
    memberships = list(Membership.objects.filter(user=user).values_list("team_id", "role"))
    team_ids = {team for team, _ in memberships}
    digest = Digest(user=user, day=day)
    for item in _open_work(day).filter(Q(assignee=user) | Q(assignee=None, owner_team__in=team_ids)):
        (digest.overdue if item.due_date < day else digest.due_soon).append(item)
    holds = Q(pk__in=[])
    for team, role in memberships:
        if role == Role.AUDITOR:
            continue
        holds |= Q(team_id=team, role__in=["", role]) | Q(team=None, role=role)
    live = Approval.objects.filter(requirement=OuterRef("pk"), superseded_at__isnull=True)
    digest.approvals = list(
        SignoffRequirement.objects.filter(holds, release__state=Release.State.AWAITING_SIGNOFF)
        .exclude(release__created_by=user).exclude(Exists(live))
        .select_related("release", "team").order_by("release__target_date", "release_id", "order"))
    return digest


def _render(digest: Digest) -> str:
    return render_to_string("notices/email/digest.txt", {
        "digest": digest, "base": settings.READINESS_BASE_URL.rstrip("/"),
        "my_items": absolute_url(reverse("my-items")), "approvals_url": absolute_url(reverse("my-approvals"))})


def digest_send(*, user, day: datetime.date) -> bool:
    """Mail `user` their digest for `day` unless it was sent already. Returns whether a mail went out."""
    if not user.email or DigestLog.objects.filter(user=user, day=day).exists():
        return False
    digest = digest_for(user, day=day)
    if not digest:
        return False
    try:
        with transaction.atomic():
            claim = DigestLog.objects.create(user=user, day=day, items=len(digest.overdue) + len(digest.due_soon),
                                             approvals=len(digest.approvals))
    except IntegrityError:  # another run claimed it a moment ago
        return False
    subject = (f"[Readiness] Your day: {len(digest.overdue)} overdue, {len(digest.due_soon)} due soon, "
               f"{len(digest.approvals)} to decide")
    try:
        EmailMessage(subject=subject, body=_render(digest), from_email=settings.DEFAULT_FROM_EMAIL,
                     to=[user.email]).send()
    except Exception:
        claim.delete()  # not sent: the next run tries again
        log.exception("digest mail failed", extra={"user": user.pk})
        return False
    return True


def digests_send(*, day: datetime.date | None = None) -> int:
    """Beat, daily: every active person who did not turn the digest off, then every team's digest."""
    day = day or timezone.localdate()
    declined = Preference.objects.filter(user=OuterRef("pk"), digest_email=False)
    people = get_user_model().objects.filter(is_active=True).exclude(email="").exclude(Exists(declined))
    sent = sum(digest_send(user=user, day=day) for user in people.order_by("pk").iterator())
    for team in Team.objects.filter(webhooks__active=True).distinct():
        team_digest_publish(team=team, day=day)
    return sent


def team_digest_publish(*, team: Team, day: datetime.date) -> None:
    """The team's overdue and due-soon items, to the team's webhooks that take the daily digest."""
    items = list(_open_work(day).filter(owner_team=team)[:200])
    if not items:
        return
    overdue = [item for item in items if item.due_date < day]
    lines = [f"{'OVERDUE ' if item.due_date < day else ''}{item.due_date:%Y-%m-%d} {item.release}: {item.key}"
             + (f" ({item.assignee_id and 'assigned' or 'unassigned'})") for item in items[:20]]
    with transaction.atomic():
        event_publish(event=Event.DIGEST, key=f"digest.daily:team:{team.pk}:{day.isoformat()}", team_ids={team.pk},
                      title=f"{team}: {len(overdue)} overdue, {len(items) - len(overdue)} due soon",
                      text="\n".join(lines), url=reverse("team-items", args=[team.slug]),
                      data={"team": team.slug, "day": day.isoformat(), "overdue": len(overdue),
                            "due_soon": len(items) - len(overdue)})


def waiver_reminders_send(*, today: datetime.date | None = None) -> int:
    """Beat, daily: remind of granted waivers expiring within READINESS_WAIVER_REMINDER_DAYS."""
    from notices import notifications

    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.READINESS_WAIVER_REMINDER_DAYS)
    waivers = (Waiver.objects.filter(state=Waiver.State.GRANTED, expires_on__gte=today, expires_on__lte=horizon)
               .select_related("item__release__release_manager", "requested_by"))
    count = 0
    for waiver in waivers:
        with transaction.atomic():
            notifications.waiver_expiring(waiver, days_left=(waiver.expires_on - today).days)
        count += 1
    return count
