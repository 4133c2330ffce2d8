"""What the app tells people: team webhooks and their deliveries, in-app notices, digests and reminders.

Every row that stands for "this was sent" carries a unique key, so an event published twice, a task
retried or a beat run repeated finds the row already there and sends nothing again.
"""
from django.conf import settings
from django.db import models


class Event(models.TextChoices):
    SIGNOFF_OPENED = "signoff.opened", "Sign-off opened"
    DECISION = "signoff.decided", "Approval or rejection"
    APPROVALS_VOIDED = "signoff.voided", "Approvals voided"
    RELEASE_APPROVED = "release.approved", "Release approved"
    DRIFT = "release.drifted", "Drift detected"
    WAIVER_REQUESTED = "waiver.requested", "Waiver requested"
    WAIVER_DECIDED = "waiver.decided", "Waiver granted or refused"
    WAIVER_EXPIRING = "waiver.expiring", "Waiver expiring"
    DIGEST = "digest.daily", "Daily team digest"
    TEST = "webhook.test", "Test message"


class Webhook(models.Model):
    """An endpoint of one team that receives the events of the releases the team takes part in."""

    class Format(models.TextChoices):
        GENERIC = "generic", "Generic JSON (signed)"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams workflow webhook"

    team = models.ForeignKey("checklists.Team", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.GENERIC)
    # Empty: every event. Otherwise the Event values this endpoint wants.
    events = models.JSONField(default=list, blank=True)
    # The HMAC key, encrypted with READINESS_SECRETS_KEYS; shown once, when the webhook is created.
    secret_encrypted = models.TextField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="webhook_name_unique_per_team"),
            models.CheckConstraint(condition=models.Q(format__in=["generic", "slack", "teams"]),
                                   name="webhook_valid_format"),
        ]

    def __str__(self):
        return f"{self.team} · {self.name}"

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class Delivery(models.Model):
    """One event for one endpoint. The unique (webhook, key) pair makes publishing and delivering idempotent."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    key = models.CharField(max_length=200)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "key"], name="delivery_one_per_event_and_endpoint"),
            models.CheckConstraint(condition=models.Q(state__in=["pending", "sending", "delivered", "retrying",
                                                                 "failed"]), name="delivery_valid_state"),
        ]
        indexes = [
            # The admin's delivery log of one webhook, newest first.
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_created_idx"),
            # The sweep: deliveries waiting for a (lost) task message.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_next_idx"),
        ]


class Notice(models.Model):
    """An in-app notice for one person (the bell). Unique per person and event key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    key = models.CharField(max_length=200)
    event = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    release = models.ForeignKey("checklists.Release", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notice_one_per_person_and_event")]
        indexes = [
            # The bell: a person's unread notices, newest first.
            models.Index(fields=["user", "read_at", "-created_at"], name="notice_user_unread_idx"),
        ]


class Preference(models.Model):
    """What one person chooses to receive. A person without a row gets the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preference")
    digest_email = models.BooleanField(default=True, help_text="A daily email of overdue and due-soon items "
                                                               "and pending approvals.")
    waiver_reminder_email = models.BooleanField(default=True, help_text="An email before a waiver you asked for "
                                                                        "or manage expires.")
    event_email = models.BooleanField(default=True, help_text="Emails when sign-off opens, a decision is made "
                                                              "or approvals are voided.")


class DigestLog(models.Model):
    """The sent-log of daily digests: one row per person and day, written before the mail goes out."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    items = models.PositiveIntegerField(default=0)
    approvals = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_one_per_person_and_day")]
