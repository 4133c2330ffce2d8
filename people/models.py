"""Single sign-on: who a person is at the identity provider, and which groups give which team and role."""
from django.conf import settings
from django.db import models

from checklists.models import Role


class Identity(models.Model):
    """A user's account at the identity provider: (issuer, subject) never changes, unlike an email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True)  # as of the last login, for the admins' pages
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="identity_unique_subject")]

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class GroupMapping(models.Model):
    """"Members of group X are in team T with role R": applied at every single sign-on."""

    group = models.CharField(max_length=200)
    team = models.ForeignKey("checklists.Team", on_delete=models.CASCADE, related_name="group_mappings")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "team"], name="group_mapping_unique_group_team"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="group_mapping_valid_role"),
        ]

    def __str__(self):
        return f"{self.group} → {self.team} · {self.get_role_display()}"
