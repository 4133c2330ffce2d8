"""Tokens in the admin: read only. They are created and revoked on the API tokens page (audited there);
the admin never shows more than the prefix and the hash."""
from django.contrib import admin

from api.models import ApiToken, IdempotentResponse


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnly):
    list_display = ["name", "kind", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at",
                    "last_used_from"]
    list_filter = ["kind"]
    search_fields = ["name", "user__username", "prefix"]
    exclude = ["secret_sha256"]


@admin.register(IdempotentResponse)
class IdempotentResponseAdmin(ReadOnly):
    list_display = ["key", "token", "status", "created_at"]
    search_fields = ["key"]
