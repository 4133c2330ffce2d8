"""Checklist templates. A template has versions; a published version never changes."""
from django.conf import settings
from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class OverridePolicy(models.TextChoices):
    """What a person must give to set an item a probe failed to done or not applicable."""

    REASON = "reason", "A reason, recorded as an override"
    WAIVER = "waiver", "A granted waiver (no override)"


class ChecklistTemplate(models.Model):
    OverridePolicy = OverridePolicy

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    override_policy = models.CharField(max_length=10, choices=OverridePolicy.choices, default=OverridePolicy.REASON)
    # Off by default: each sign-off requirement of a release is decided by a different person.
    one_person_many_requirements = models.BooleanField(
        default=False, help_text="Allow one person to decide several sign-off requirements of a release.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def latest_version(self):
        """Costs a query."""
        return self.versions.order_by("-number").first()


class TemplateVersion(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # SHA-256 of the source text: re-importing the same file is recognised and creates nothing.
    source_sha256 = models.CharField(max_length=64)
    source = models.TextField()
    source_name = models.CharField(max_length=255, blank=True)
    intro = models.TextField(blank=True)
    # Default sign-off requirements for releases made from this version: [{"name", "role", "team", "sections"}].
    signoff_defaults = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique"),
            models.UniqueConstraint(fields=["template", "source_sha256"], name="template_version_source_unique"),
        ]

    def __str__(self):
        return f"{self.template.name} v{self.number}"


class TemplateSection(models.Model):
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="sections")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    level = models.PositiveSmallIntegerField()  # Markdown heading level: 2 for ##, 3 for ###
    order = models.PositiveIntegerField()
    intro = models.TextField(blank=True)  # prose under the heading that is not an item

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="template_section_key_unique"),
        ]

    def __str__(self):
        return self.title


class TemplateItem(models.Model):
    class Kind(models.TextChoices):
        CHECKBOX = "checkbox", "Checkbox"
        NUMBERED = "numbered", "Numbered gate item"

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(TemplateSection, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    key = models.CharField(max_length=200)
    text = models.TextField()  # inline Markdown kept as written
    guidance = models.TextField(blank=True)  # sub-bullets and code blocks, as Markdown
    order = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHECKBOX)
    checked_in_source = models.BooleanField(default=False)
    number = models.PositiveIntegerField(null=True, blank=True)  # for numbered gate items
    line = models.PositiveIntegerField()  # line in the source file, for messages
    default_team = models.ForeignKey(
        "checklists.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    required = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    probe_id = models.CharField(max_length=100, blank=True)
    probe_params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="template_item_key_unique"),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="template_item_valid_severity"),
        ]

    def __str__(self):
        return self.key
