"""The append-only, hash-chained audit log. Rows are written only by checklists.audit.record()."""
from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    created_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)  # kept even if the user is deleted
    action = models.CharField(max_length=100)  # namespaced: "checklists.item.status_changed"
    release = models.ForeignKey("checklists.Release", null=True, blank=True, on_delete=models.DO_NOTHING,
                                db_constraint=False, related_name="audit_events")
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # An item's history and a release's trail.
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["release", "id"], name="audit_release_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} by {self.actor_name or 'system'}"
