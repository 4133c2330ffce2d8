"""API tokens and the responses stored for Idempotency-Key retries."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    SERVICE = "service", "Service"


class ApiToken(models.Model):
    """A bearer token. Only the SHA-256 of the secret is stored: the secret is shown once, at creation.

    A personal token acts as the person who made it; a service token acts as its own service user, who
    holds exactly one membership (the team and role the admin chose). Either way the token's permissions
    are its user's, read through checklists.permissions like a browser session's.
    """

    Kind = TokenKind

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)  # the first characters of the secret, to recognise it in lists
    secret_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=TokenKind.values), name="api_token_valid_kind"),
            models.UniqueConstraint(fields=["user", "name"], condition=models.Q(revoked_at__isnull=True),
                                    name="api_token_live_name_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotentResponse(models.Model):
    """The response to a create call that carried an Idempotency-Key, kept so a retry gets it back."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # SHA-256 of method, path and body: the same key sent with another request is refused, not replayed.
    request_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotent_response_token_key_unique"),
        ]
