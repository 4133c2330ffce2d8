"""The admin: teams, memberships and templates are edited here (every edit audited); workflow data
(releases, items, evidence, comments, waivers, sign-off, reports, the audit log) is read-only, since
its changes must go through the services that lock, audit and tell sign-off."""
from django.contrib import admin
from django.forms.models import model_to_dict

from checklists.audit import record
from checklists.models import (
    Approval, AuditEvent, ChecklistTemplate, Comment, Evidence, ItemOverride, Membership, Release, ReleaseItem,
    Report, SignoffRequirement, Team, TemplateItem, TemplateSection, TemplateVersion, Waiver,
)


def _snapshot(obj, fields) -> dict:
    values = model_to_dict(obj, fields=fields)
    return {name: (value if isinstance(value, (str, int, bool, type(None))) else str(value))
            for name, value in values.items()}


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin is an audit event with before and after."""

    def _action(self, verb: str) -> str:
        return f"{self.model._meta.app_label}.admin.{self.model._meta.model_name}_{verb}"

    def save_model(self, request, obj, form, change):
        fields = list(form.changed_data) if change else [f.name for f in obj._meta.concrete_fields]
        before = _snapshot(self.model.objects.get(pk=obj.pk), form.changed_data) if change else {}
        super().save_model(request, obj, form, change)
        record(self._action("changed" if change else "created"), actor=request.user, obj=obj, before=before,
               after=_snapshot(obj, fields))

    def delete_model(self, request, obj):
        record(self._action("deleted"), actor=request.user, obj=obj,
               before=_snapshot(obj, [f.name for f in obj._meta.concrete_fields]))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        # Inline rows (a team's memberships) are audited one by one, like their own admin page.
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            record(f"{obj._meta.app_label}.admin.{obj._meta.model_name}_deleted", actor=request.user, obj=obj,
                   before=_snapshot(obj, [f.name for f in obj._meta.concrete_fields]))
            obj.delete()
        for obj in instances:
            created = obj.pk is None
            obj.save()
            record(f"{obj._meta.app_label}.admin.{obj._meta.model_name}_{'created' if created else 'changed'}",
                   actor=request.user, obj=obj, after=_snapshot(obj, [f.name for f in obj._meta.concrete_fields]))
        formset.save_m2m()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "team", "role", "source"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Published template versions and all workflow data: the admin only reads them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(AuditedAdmin):
    list_display = ["name", "override_policy", "one_person_many_requirements", "created_at"]
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


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["service", "version", "environment", "state", "drifted", "target_date", "release_manager"]
    list_filter = ["state", "environment", "drifted"]
    search_fields = ["service", "version"]


@admin.register(ReleaseItem)
class ReleaseItemAdmin(ReadOnlyAdmin):
    list_display = ["key", "release", "status", "owner_team", "assignee", "due_date", "required"]
    list_filter = ["status", "required", "owner_team"]
    search_fields = ["key", "text", "release__service"]


@admin.register(ItemOverride)
class ItemOverrideAdmin(ReadOnlyAdmin):
    list_display = ["item", "release", "by", "to_status", "created_at"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "item", "sha256", "size", "created_by", "created_at"]
    list_filter = ["kind"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["item", "author", "created_at"]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["item", "state", "expires_on", "requested_by", "decided_by"]
    list_filter = ["state"]


@admin.register(SignoffRequirement)
class SignoffRequirementAdmin(ReadOnlyAdmin):
    list_display = ["name", "release", "role", "team", "from_template"]
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
