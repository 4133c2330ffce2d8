"""Clusters are edited here (audited; the kubeconfig is never shown back); probe runs and results are
workflow records, read-only."""
from django.contrib import admin

from checklists.admin import AuditedAdmin, ReadOnlyAdmin
from probes.models import Cluster, ObservabilityEndpoint, ProbeResult, ProbeRun


@admin.register(Cluster)
class ClusterAdmin(AuditedAdmin):
    list_display = ["name", "auth", "last_status", "last_checked_at"]
    # The encrypted kubeconfig is never shown back; clusters are added through the Clusters page.
    exclude = ["kubeconfig_encrypted"]
    readonly_fields = ["last_checked_at", "last_status", "last_message"]


@admin.register(ProbeRun)
class ProbeRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "cluster", "state", "trigger", "attempts", "created_at", "finished_at"]
    list_filter = ["state", "trigger"]


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnlyAdmin):
    list_display = ["item_key", "probe_id", "status", "run"]
    list_filter = ["status", "probe_id"]


@admin.register(ObservabilityEndpoint)
class ObservabilityEndpointAdmin(AuditedAdmin):
    list_display = ["name", "kind", "url", "verify_tls", "created_at"]
    # The encrypted token or password is never shown back.
    exclude = ["secret_encrypted"]
