"""A release: one run of a template version for a service version, and its items."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from checklists.models.templates import Severity


class ReleaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_SIGNOFF = "awaiting_signoff", "Awaiting sign-off"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Release(models.Model):
    State = ReleaseState
    # Releases that still have work to do: what "my items", team items and the rollup look at.
    OPEN_STATES = (State.DRAFT, State.IN_PROGRESS, State.AWAITING_SIGNOFF, State.REJECTED)

    template_version = models.ForeignKey(
        "checklists.TemplateVersion", on_delete=models.PROTECT, related_name="releases"
    )
    service = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    environment = models.CharField(max_length=50, default="production")
    target_date = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    # Set when a probe that passed on an approved release fails again, or a waiver expires after approval.
    drifted = models.BooleanField(default=False)
    release_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="managed_releases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="created_releases"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "version", "environment"], name="release_service_version_env_unique"
            ),
            models.CheckConstraint(condition=models.Q(state__in=ReleaseState.values), name="release_valid_state"),
        ]
        indexes = [
            # Dashboard filter by state, newest first.
            models.Index(fields=["state", "-created_at"], name="release_state_created_idx"),
        ]

    def __str__(self):
        return f"{self.service} {self.version} ({self.environment})"


class ItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    WAIVED = "waived", "Waived"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class ProbeStatus(models.TextChoices):
    """The last outcome a probe reported for an item ("" when no probe has judged it)."""

    NONE = "", "Not probed"
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"
    SKIP = "skip", "Skip"


class ReleaseItem(models.Model):
    """A template item instantiated for one release; its text is a snapshot of the template's."""

    Status = ItemStatus
    ProbeStatus = ProbeStatus

    COMPLETE = (Status.DONE, Status.NOT_APPLICABLE, Status.WAIVED)

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="items")
    template_item = models.ForeignKey("checklists.TemplateItem", on_delete=models.PROTECT, related_name="+")
    section = models.ForeignKey("checklists.TemplateSection", on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    parent_key = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    guidance = models.TextField(blank=True)
    order = models.PositiveIntegerField()
    required = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    probe_id = models.CharField(max_length=100, blank=True)
    probe_params = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    owner_team = models.ForeignKey(
        "checklists.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="release_items"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_items"
    )
    due_date = models.DateField(null=True, blank=True)
    # Optimistic locking: every change bumps it; a save that expected an older version is refused.
    version = models.PositiveIntegerField(default=1)
    decided_by_probe = models.BooleanField(default=False)
    probe_status = models.CharField(max_length=10, blank=True, choices=ProbeStatus.choices)
    probe_checked_at = models.DateTimeField(null=True, blank=True)
    regressed = models.BooleanField(default=False)  # passed at approval, fails now
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["release", "order"]
        constraints = [
            models.UniqueConstraint(fields=["release", "template_item"], name="release_item_one_per_template_item"),
            models.UniqueConstraint(fields=["release", "key"], name="release_item_key_unique"),
            models.CheckConstraint(condition=models.Q(status__in=ItemStatus.values), name="release_item_valid_status"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="release_item_version_positive"),
        ]
        indexes = [
            # "My items" and the team rollup: open work per assignee / team across releases.
            models.Index(fields=["assignee", "status"], name="release_item_assignee_idx"),
            models.Index(fields=["owner_team", "status"], name="release_item_team_idx"),
            # Live view: items of a release changed since a moment.
            models.Index(fields=["release", "changed_at"], name="release_item_changed_idx"),
            # "My items", team items and the team rollup (selectors.work_items, team_rollup): the
            # incomplete items of each open release (found by release_state_created_idx), then
            # filtered by team or assignee. Partial, so done, waived and not-applicable rows, the
            # bulk of every finished release, are not in it.
            models.Index(fields=["release", "owner_team", "assignee"],
                         condition=~models.Q(status__in=["done", "not_applicable", "waived"]),
                         name="release_item_open_work_idx"),
            # Progress counts of a page of releases (selectors.attach_progress) and of a release's
            # sections (selectors.section_tree): every column they read is in the index, so PostgreSQL
            # answers from it without visiting the rows.
            models.Index(fields=["release"], include=["section", "status", "required", "due_date"],
                         name="release_item_progress_idx"),
        ]

    def __str__(self):
        return f"{self.release} · {self.key}"

    @property
    def is_complete(self) -> bool:
        return self.status in self.COMPLETE

    @property
    def is_blocking(self) -> bool:
        return self.required and self.status == self.Status.FAILED

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return bool(self.due_date and self.due_date < today and not self.is_complete)



class ItemOverride(models.Model):
    """A person set an item that a probe failed to done or not applicable: a decision, with its reason.

    Append-only, written by the item entry point in the same transaction as the change; the probe's
    summary and findings are copied as they stood, so the record survives later probe runs.
    """

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="overrides")
    item = models.ForeignKey(ReleaseItem, on_delete=models.CASCADE, related_name="overrides")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    from_status = models.CharField(max_length=20, choices=ItemStatus.choices)
    to_status = models.CharField(max_length=20, choices=ItemStatus.choices)
    probe_summary = models.CharField(max_length=500, blank=True)
    probe_findings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["release", "created_at"]

    def __str__(self):
        return f"{self.item.key} overridden to {self.to_status} by {self.by}"
