"""Sign-off: who must approve a release, their decisions, and the reports archived for it."""
from django.conf import settings
from django.db import models

from checklists.models.teams import Role


class SignoffRequirement(models.Model):
    """One approval needed: from a member of `team`, or anyone holding `role`, or a member of team with role."""

    release = models.ForeignKey("checklists.Release", on_delete=models.CASCADE, related_name="requirements")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    team = models.ForeignKey("checklists.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Empty means the whole release; otherwise the approval covers these sections only.
    sections = models.ManyToManyField("checklists.TemplateSection", blank=True, related_name="+")
    order = models.PositiveIntegerField(default=0)
    # Copied from the template version's defaults: removing or weakening it needs an admin.
    from_template = models.BooleanField(default=False)

    class Meta:
        ordering = ["release", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="") | models.Q(team__isnull=False),
                name="signoff_requirement_role_or_team",
            ),
            models.UniqueConstraint(fields=["release", "name"], name="signoff_requirement_name_unique"),
        ]

    def __str__(self):
        return self.name


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approval(models.Model):
    Decision = Decision

    release = models.ForeignKey("checklists.Release", on_delete=models.CASCADE, related_name="approvals")
    requirement = models.ForeignKey(SignoffRequirement, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    state_hash = models.CharField(max_length=64)  # SHA-256 of the release state that was approved
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["release", "created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(decision__in=Decision.values), name="approval_valid_decision"),
            # One live decision per requirement; superseded ones stay as history.
            models.UniqueConstraint(
                fields=["requirement"],
                condition=models.Q(superseded_at__isnull=True),
                name="approval_one_live_per_requirement",
            ),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.approver} for {self.requirement}"


class ReportState(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    JSON = "json", "JSON"
    MARKDOWN = "md", "Markdown"


class Report(models.Model):
    """An archived export of a release, with the manifest hash printed in it.

    A report asked for in the browser starts `pending` (no file, no manifest) and a Celery task fills
    it: `ready` with its file, or `failed` with a message. The command line makes it `ready` at once.
    """

    State = ReportState
    Format = ReportFormat

    release = models.ForeignKey("checklists.Release", on_delete=models.PROTECT, related_name="reports")
    format = models.CharField(max_length=10, choices=ReportFormat.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)  # why a failed report failed, for the person who asked
    file = models.FileField(upload_to="reports/%Y/%m/", max_length=300, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    # The SHA-256 of the archived file itself (for a PDF: signed, seal included). verify_report looks a
    # PDF up by it; reports archived before signing were given theirs by the migration that added it.
    file_sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)  # when it was asked for
    # Set by each claim of the generating task: a claim older than the task's hard time limit belongs
    # to a worker that died, and may be taken over.
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # counted in the database: survives killed workers
    # The moment the release was read: the content and manifest reflect the release as it was then.
    content_as_of = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["release", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=ReportState.values), name="report_valid_state"),
            # A ready report always has its file and manifest: a download can never find nothing.
            models.CheckConstraint(
                condition=~models.Q(state=ReportState.READY) | (~models.Q(file="") & ~models.Q(manifest_sha256="")),
                name="report_ready_has_file",
            ),
        ]
        indexes = [
            # verify_report: which archived report is this file?
            models.Index(fields=["file_sha256"], name="report_file_sha256_idx"),
            # The sweeper's query: reports still pending (few rows, so a partial index).
            models.Index(fields=["created_at"], condition=models.Q(state=ReportState.PENDING),
                         name="report_pending_idx"),
        ]

    def __str__(self):
        if self.state != ReportState.READY:
            return f"{self.format.upper()} report #{self.pk} ({self.state}) for {self.release}"
        return f"{self.format.upper()} report {self.manifest_sha256[:12]} for {self.release}"

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""
