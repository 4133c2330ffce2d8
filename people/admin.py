"""Read-only views of sign-on identities and group mappings: they change through the People pages,
where each change is audited."""
from django.contrib import admin

from checklists.admin import ReadOnlyAdmin
from people.models import GroupMapping, Identity


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["user", "issuer", "subject", "last_login_at"]
    search_fields = ["user__username", "subject"]


@admin.register(GroupMapping)
class GroupMappingAdmin(ReadOnlyAdmin):
    list_display = ["group", "team", "role"]
    list_filter = ["role", "team"]
