from django.contrib import admin

from probes.models import Cluster, ProbeResult, ProbeRun


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "auth", "last_status", "last_checked_at"]
    # The encrypted kubeconfig is never shown back; clusters are added through the Clusters page.
    exclude = ["kubeconfig_encrypted"]
    readonly_fields = ["last_checked_at", "last_status", "last_message"]


@admin.register(ProbeRun)
class ProbeRunAdmin(admin.ModelAdmin):
    list_display = ["id", "release", "cluster", "state", "trigger", "attempts", "created_at", "finished_at"]
    list_filter = ["state", "trigger"]


@admin.register(ProbeResult)
class ProbeResultAdmin(admin.ModelAdmin):
    list_display = ["item_key", "probe_id", "status", "run"]
    list_filter = ["status", "probe_id"]
