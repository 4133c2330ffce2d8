from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    RELEASE_MANAGER = "release_manager", "Release manager"
    ENGINEER = "engineer", "Engineer"
    APPROVER = "approver", "Approver"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Admin"


class Team(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Set by an admin"
    SSO = "sso", "From identity-provider groups"


class Membership(models.Model):
    """A user's role in one team. A user may belong to several teams with a role in each.

    Memberships from the identity provider's groups (source sso) are rewritten at every single
    sign-on; those an admin set by hand are left alone by it.
    """

    Source = MembershipSource

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)
    source = models.CharField(max_length=10, choices=MembershipSource.choices, default=MembershipSource.MANUAL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_one_role_per_team"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_valid_role"),
        ]

    def __str__(self):
        return f"{self.user} · {self.team} · {self.get_role_display()}"
