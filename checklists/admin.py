from django.contrib import admin

from checklists.models import (
    Approval, AuditEvent, ChecklistTemplate, Comment, Evidence, Membership, Release, ReleaseItem, Report,
    SignoffRequirement, Team, TemplateItem, TemplateSection, TemplateVersion, Waiver,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "source"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Published template versions, evidence and the audit log never change: the admin only reads them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(TemplateVersion)
class TemplateVersionAdmin(ReadOnlyAdmin):
    list_display = ["template", "number", "source_name", "created_at"]
    list_filter = ["template"]


@admin.register(TemplateSection)
class TemplateSectionAdmin(ReadOnlyAdmin):
    list_display = ["title", "key", "level", "version"]
    list_filter = ["version__template"]
    search_fields = ["title", "key"]


@admin.register(TemplateItem)
class TemplateItemAdmin(ReadOnlyAdmin):
    list_display = ["key", "text", "kind", "required", "severity", "default_team", "probe_id", "version"]
    list_filter = ["version__template", "kind", "required", "severity", "default_team"]
    search_fields = ["key", "text"]


class ReleaseItemInline(admin.TabularInline):
    model = ReleaseItem
    fields = ["key", "status", "owner_team", "assignee", "due_date", "version"]
    readonly_fields = ["key", "version"]
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["service", "version", "environment", "state", "drifted", "target_date", "release_manager"]
    list_filter = ["state", "environment", "drifted"]
    search_fields = ["service", "version"]
    autocomplete_fields = ["release_manager", "created_by"]
    readonly_fields = ["template_version", "created_at", "updated_at"]


@admin.register(ReleaseItem)
class ReleaseItemAdmin(admin.ModelAdmin):
    list_display = ["key", "release", "status", "owner_team", "assignee", "due_date", "required"]
    list_filter = ["status", "required", "owner_team"]
    search_fields = ["key", "text", "release__service"]
    autocomplete_fields = ["assignee", "owner_team"]
    readonly_fields = ["release", "template_item", "section", "key", "text", "version", "changed_by", "changed_at"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "item", "sha256", "size", "created_by", "created_at"]
    list_filter = ["kind"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["item", "author", "created_at"]


@admin.register(Waiver)
class WaiverAdmin(admin.ModelAdmin):
    list_display = ["item", "state", "expires_on", "requested_by", "decided_by"]
    list_filter = ["state"]
    readonly_fields = ["item", "requested_by", "requested_at"]


@admin.register(SignoffRequirement)
class SignoffRequirementAdmin(admin.ModelAdmin):
    list_display = ["name", "release", "role", "team"]
    list_filter = ["role", "team"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["release", "requirement", "approver", "decision", "created_at", "superseded_at"]
    list_filter = ["decision"]


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["release", "format", "manifest_sha256", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["action", "actor_name", "object_id"]
