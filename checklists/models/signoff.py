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


class Report(models.Model):
    """An archived export of a release, with the manifest hash printed in it."""

    release = models.ForeignKey("checklists.Release", on_delete=models.PROTECT, related_name="reports")
    format = models.CharField(max_length=10)  # pdf, json, md
    file = models.FileField(upload_to="reports/%Y/%m/", max_length=300)
    manifest_sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["release", "-created_at"]

    def __str__(self):
        return f"{self.format.upper()} report {self.manifest_sha256[:12]} for {self.release}"
