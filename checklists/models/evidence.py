"""What backs an item: evidence (immutable), comments, and waivers."""
from django.conf import settings
from django.db import models


def evidence_upload_to(instance, filename):
    # The stored name is the content hash, never the user's file name: nothing a user names lands on disk.
    return f"evidence/{instance.sha256[:2]}/{instance.sha256}"


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"
    NOTE = "note", "Note"
    PROBE = "probe", "Probe result"


class Evidence(models.Model):
    Kind = EvidenceKind

    item = models.ForeignKey("checklists.ReleaseItem", on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to=evidence_upload_to, blank=True, max_length=300)
    filename = models.CharField(max_length=255, blank=True)  # sanitised original name, for downloads
    content_type = models.CharField(max_length=150, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # SHA-256 of the file bytes, the link URL, the note text, or the probe result's canonical JSON.
    sha256 = models.CharField(max_length=64)
    url = models.URLField(max_length=2000, blank=True)
    note = models.TextField(blank=True)
    probe_result = models.ForeignKey(
        "probes.ProbeResult", null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    # Evidence carried over from the same item of an earlier release: the original keeps its date and
    # who added it; this row has the same hash (and, for files, the same stored bytes).
    carried_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["item", "created_at"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=EvidenceKind.values), name="evidence_valid_kind"),
        ]

    def __str__(self):
        return self.filename or self.url or f"{self.get_kind_display()} {self.sha256[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise ValueError("Evidence is immutable: add new evidence instead of changing it.")
        super().save(*args, **kwargs)


class Comment(models.Model):
    item = models.ForeignKey("checklists.ReleaseItem", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField()  # Markdown, rendered sanitised
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "created_at"]

    def __str__(self):
        return f"Comment by {self.author} on {self.item_id}"


class WaiverState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    GRANTED = "granted", "Granted"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Waiver(models.Model):
    State = WaiverState

    item = models.ForeignKey("checklists.ReleaseItem", on_delete=models.CASCADE, related_name="waivers")
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    justification = models.TextField()
    expires_on = models.DateField()
    # The item's status before the waiver was granted, restored when the waiver expires or is revoked.
    previous_status = models.CharField(max_length=20, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["item", "-requested_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=WaiverState.values), name="waiver_valid_state"),
        ]
        indexes = [
            # The expiry sweep: granted waivers past their date.
            models.Index(fields=["state", "expires_on"], name="waiver_state_expiry_idx"),
        ]

    def __str__(self):
        return f"Waiver for {self.item_id} ({self.state})"
