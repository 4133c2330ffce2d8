"""Read-only: webhooks change through their admin pages (audited, secret encrypted); deliveries,
notices and the sent-log are records of what was sent."""
from django.contrib import admin

from checklists.admin import ReadOnlyAdmin
from notices.models import Delivery, DigestLog, Notice, Preference, Webhook


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["team", "name", "format", "active"]
    exclude = ["secret_encrypted"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["webhook", "event", "state", "attempts", "status_code", "created_at"]
    list_filter = ["state", "event"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["user", "event", "title", "created_at", "read_at"]
    list_filter = ["event"]


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "digest_email", "waiver_reminder_email", "event_email"]


@admin.register(DigestLog)
class DigestLogAdmin(ReadOnlyAdmin):
    list_display = ["user", "day", "items", "approvals", "sent_at"]
