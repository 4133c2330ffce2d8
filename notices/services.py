"""Publishing events to the people and teams they concern, and the admins' changes to webhooks.

`event_publish` runs inside the transaction of the change it reports: it writes the in-app notices
and one delivery row per interested team webhook, and queues the deliveries only once that
transaction commits. Nothing here makes a network call, so a slow or dead endpoint never holds up
the request or the row locks of the change.
"""
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from checklists import permissions
from checklists.audit import record
from checklists.models import Membership, Release, Team
from notices import signing
from notices.models import Delivery, Event, Notice, Preference, Webhook
from probes import crypto


class WebhookError(ValueError):
    """The webhook cannot be saved as asked; the message says why."""


def absolute_url(path: str) -> str:
    return settings.READINESS_BASE_URL.rstrip("/") + path if path else ""


def release_team_ids(release: Release) -> set[int]:
    """Teams taking part in a release: owners of its items, teams its requirements name, and the
    release manager's teams. One query."""
    items = release.items.exclude(owner_team=None).values("owner_team_id")
    requirements = release.requirements.exclude(team=None).values("team_id")
    manager = Membership.objects.filter(user_id=release.release_manager_id).values("team_id")
    return set(Team.objects.filter(Q(pk__in=items) | Q(pk__in=requirements) | Q(pk__in=manager))
               .values_list("pk", flat=True))


def _payload(*, event: str, key: str, title: str, text: str, url: str, release, data: dict) -> dict:
    payload = {"event": event, "key": key, "title": title, "text": text, "url": absolute_url(url),
               "at": timezone.now().isoformat(), "data": data or {}}
    if release is not None:
        payload["release"] = {"id": release.pk, "service": release.service, "version": release.version,
                              "environment": release.environment, "state": release.state,
                              "drifted": release.drifted}
    return payload


def event_publish(*, event: str, key: str, title: str, text: str = "", url: str = "", release=None,
                  users=(), team_ids=None, data=None) -> list:
    """Tell `users` in the app and the webhooks of `team_ids` (default: the release's teams).

    `key` names this occurrence of the event (e.g. "signoff.decided:approval:42"): publishing the same
    key again adds nothing. Returns the users newly told (those not told under this key before),
    for callers that also email them. Costs about 5 queries, whatever the number of recipients."""
    users = {user.pk: user for user in users if user is not None and user.is_active}
    told = set(Notice.objects.filter(key=key, user_id__in=users).values_list("user_id", flat=True))
    fresh = [user for pk, user in users.items() if pk not in told]
    Notice.objects.bulk_create(
        [Notice(user=user, key=key, event=event, title=title[:300], url=url[:300], release=release)
         for user in fresh], ignore_conflicts=True)
    if team_ids is None:
        team_ids = release_team_ids(release) if release is not None else set()
    webhooks = [hook for hook in Webhook.objects.filter(team_id__in=team_ids, active=True) if hook.wants(event)]
    if webhooks:
        payload = _payload(event=event, key=key, title=title, text=text, url=url, release=release, data=data)
        Delivery.objects.bulk_create(
            [Delivery(webhook=hook, key=key, event=event, payload=payload) for hook in webhooks],
            ignore_conflicts=True)
        _queue_on_commit(key, [hook.pk for hook in webhooks])
    return fresh


def _queue_on_commit(key: str, webhook_ids: list[int]) -> None:
    def queue():
        from notices.tasks import deliver  # the task module imports this one

        pending = Delivery.objects.filter(key=key, webhook_id__in=webhook_ids, state=Delivery.State.PENDING)
        for delivery_id in pending.values_list("pk", flat=True):
            deliver.delay(delivery_id)

    transaction.on_commit(queue)


# --- webhooks (admins) ---------------------------------------------------------------------------
def _require_admin(by) -> None:
    if not permissions.is_admin(by):
        raise PermissionDenied("Only admins manage webhooks.")


def _snapshot(webhook: Webhook) -> dict:
    return {"team": webhook.team.slug, "name": webhook.name, "url": webhook.url, "format": webhook.format,
            "events": webhook.events, "active": webhook.active}


@transaction.atomic
def webhook_create(*, team: Team, name: str, url: str, format: str, events: list[str], by) -> tuple[Webhook, str]:
    """Add a webhook; returns it with its signing secret, which is shown this once and stored encrypted."""
    _require_admin(by)
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise WebhookError(f"Unknown event(s): {', '.join(unknown)}.")
    if Webhook.objects.filter(team=team, name=name).exists():
        raise WebhookError(f"Team {team} already has a webhook named {name}.")
    secret = signing.new_secret()
    try:
        encrypted = crypto.encrypt(secret, settings.READINESS_SECRETS_KEYS)
    except crypto.SecretKeyError as exc:
        raise WebhookError(str(exc)) from None
    webhook = Webhook.objects.create(team=team, name=name, url=url, format=format, events=sorted(events),
                                     secret_encrypted=encrypted, created_by=by)
    record("notices.webhook.created", actor=by, obj=webhook, after=_snapshot(webhook))
    return webhook, secret


@transaction.atomic
def webhook_set_active(*, webhook: Webhook, active: bool, by) -> Webhook:
    _require_admin(by)
    webhook = Webhook.objects.select_for_update().select_related("team").get(pk=webhook.pk)
    before = _snapshot(webhook)
    webhook.active = active
    webhook.save(update_fields=["active"])
    record("notices.webhook.updated", actor=by, obj=webhook, before=before, after=_snapshot(webhook))
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, by) -> None:
    _require_admin(by)
    record("notices.webhook.deleted", actor=by, obj=webhook, before=_snapshot(webhook))
    webhook.delete()


@transaction.atomic
def webhook_test(*, webhook: Webhook, by) -> None:
    """Queue a test message to this one endpoint (each press is its own event)."""
    _require_admin(by)
    key = f"webhook.test:{webhook.pk}:{timezone.now().strftime('%Y%m%dT%H%M%S.%f')}"
    payload = _payload(event=Event.TEST, key=key, title=f"Test message from Readiness for {webhook.team}",
                       text=f"Sent by {by.get_username()} to check the endpoint {webhook.name}.", url="",
                       release=None, data={})
    Delivery.objects.create(webhook=webhook, key=key, event=Event.TEST, payload=payload)
    _queue_on_commit(key, [webhook.pk])
    record("notices.webhook.tested", actor=by, obj=webhook, after={"name": webhook.name})


# --- in-app notices and preferences ----------------------------------------------------------------
def notices_mark_read(*, user, notice_ids=None) -> int:
    """Mark the user's notices read (all unread ones when no ids are given). Returns how many changed."""
    unread = Notice.objects.filter(user=user, read_at=None)
    if notice_ids is not None:
        unread = unread.filter(pk__in=notice_ids)
    return unread.update(read_at=timezone.now())


def preference_of(user) -> Preference:
    """The user's preferences, or the defaults (unsaved) when they never chose."""
    return Preference.objects.filter(user=user).first() or Preference(user=user)


@transaction.atomic
def preference_set(*, user, by, digest_email: bool, waiver_reminder_email: bool, event_email: bool) -> Preference:
    if by.pk != user.pk:
        raise PermissionDenied("People choose their own notifications.")
    preference = Preference.objects.select_for_update().filter(user=user).first() or Preference(user=user)
    before = {"digest_email": preference.digest_email, "waiver_reminder_email": preference.waiver_reminder_email,
              "event_email": preference.event_email}
    preference.digest_email, preference.waiver_reminder_email = digest_email, waiver_reminder_email
    preference.event_email = event_email
    try:
        with transaction.atomic():
            preference.save()
    except IntegrityError:  # saved meanwhile by another request of the same person
        raise PermissionDenied("Your preferences changed meanwhile; reload and try again.") from None
    record("notices.preference.updated", actor=by, obj=preference, before=before,
           after={"digest_email": digest_email, "waiver_reminder_email": waiver_reminder_email,
                  "event_email": event_email})
    return preference
