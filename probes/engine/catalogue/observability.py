"""Metrics and dashboards: Prometheus, ServiceMonitors, Alertmanager, Grafana, tracing."""
from dataclasses import dataclass

from probes.quantity import parse_quantity

from probes.engine.outcome import Finding, Outcome, fail, judge, probe
from probes.engine.catalogue.common import describe, duration_seconds, not_installed, where, workloads_matching
from probes.engine.labels import LabelIndex, selector_requirements, selects
from probes.engine.objects import annotations, dig, is_true, name, namespace
from probes.engine.podspecs import DAEMONSET, DEPLOYMENT, STATEFULSET
from probes.engine.scope import AppScope, in_scope
from probes.engine.snapshot import Snapshot

PROMETHEUS = "monitoring.coreos.com/v1/Prometheus"
SERVICEMONITOR = "monitoring.coreos.com/v1/ServiceMonitor"
ALERTMANAGER = "monitoring.coreos.com/v1/Alertmanager"
SERVICE = "v1/Service"


def _prometheus_ref(obj: dict) -> str:
    return f"{namespace(obj)}/Prometheus/{name(obj)}"


def _each_prometheus(snap: Snapshot, check) -> Outcome:
    """Run `check(prometheus) -> findings` on every Prometheus; none at all is a failure."""
    servers = snap.of(PROMETHEUS)
    if not servers:
        return fail(not_installed(snap, PROMETHEUS, "Prometheus (monitoring.coreos.com Prometheus object)"))
    findings = [f for server in servers for f in check(server)]
    return judge(findings, len(servers), "Prometheus servers")


@dataclass(frozen=True)
class PrometheusStorageParams:
    min_storage: str = "50Gi"


@probe(
    "observability.prometheus-storage",
    "Prometheus keeps its data on a large enough persistent volume",
    kinds=[PROMETHEUS],
    params=PrometheusStorageParams,
    items=["prometheus-metrics.prometheus-is-deployed-with-persistent-storage-50gi"],
)
def prometheus_storage(snap: Snapshot, p: PrometheusStorageParams) -> Outcome:
    """Each Prometheus object requests at least `min_storage` through
    spec.storage.volumeClaimTemplate; emptyDir or no storage loses metrics on every restart."""
    wanted = parse_quantity(p.min_storage)
    field = "spec.storage.volumeClaimTemplate.spec.resources.requests.storage"

    def check(server):
        size = dig(server, field)
        if size is None:
            return [Finding(_prometheus_ref(server), field, f"Prometheus has no persistent volume; set {field} to {p.min_storage} or more")]
        if parse_quantity(str(size)) < wanted:
            return [Finding(_prometheus_ref(server), field, f"Prometheus volume is {size}; set it to {p.min_storage} or more")]
        return []

    return _each_prometheus(snap, check)


@dataclass(frozen=True)
class RetentionParams:
    retention: str = "30d"
    allow_longer: bool = False


@probe(
    "observability.prometheus-retention",
    "Prometheus retention matches policy",
    kinds=[PROMETHEUS],
    params=RetentionParams,
    items=["prometheus-metrics.prometheus-retention-is-set-to-30-days"],
)
def prometheus_retention(snap: Snapshot, p: RetentionParams) -> Outcome:
    """Each Prometheus object sets spec.retention to `retention` (or longer, with `allow_longer`);
    the operator's default is 24h."""
    wanted = duration_seconds(p.retention)
    if wanted is None:
        raise ValueError(f"retention {p.retention!r} is not a Prometheus duration like 30d")

    def check(server):
        value = dig(server, "spec.retention")
        seconds = duration_seconds(value) if value else None
        if seconds is None or seconds < wanted or (seconds > wanted and not p.allow_longer):
            shown = value or "unset (24h)"
            return [Finding(_prometheus_ref(server), "spec.retention", f"retention is {shown}; set spec.retention: {p.retention}")]
        return []

    return _each_prometheus(snap, check)


def _monitor_selects(monitor: dict, service: dict) -> bool:
    scope = dig(monitor, "spec.namespaceSelector", {}) or {}
    if scope.get("any"):
        in_namespace = True
    elif scope.get("matchNames"):
        in_namespace = namespace(service) in scope["matchNames"]
    else:
        in_namespace = namespace(service) == namespace(monitor)
    selector = dig(monitor, "spec.selector")
    return in_namespace and selector is not None and selects(selector, service.get("metadata", {}).get("labels") or {})


def _services_selected_by(monitor: dict, services: LabelIndex) -> list[dict]:
    """The Services `monitor` selects, in snapshot order.

    The index narrows the Services to those in the monitor's namespaces that carry its matchLabels;
    `_monitor_selects` still decides each one, so the answer is the same as asking every Service.
    """
    selector = dig(monitor, "spec.selector")
    if selector is None:
        return []
    candidates = services.candidates(selector_requirements(selector), _monitor_namespaces(monitor))
    return [s for s in candidates if _monitor_selects(monitor, s)]


def _monitor_namespaces(monitor: dict) -> set[str] | None:
    """The namespaces `monitor` looks in, or None when it looks everywhere (or its YAML is odd)."""
    scope = dig(monitor, "spec.namespaceSelector", {}) or {}
    if scope.get("any"):
        return None
    names = scope.get("matchNames")
    if names:
        return set(names) if all(isinstance(n, str) for n in names) else None
    return {namespace(monitor)} if isinstance(namespace(monitor), str) else None


def _service_index(snap: Snapshot) -> LabelIndex:
    """The snapshot's Services by namespace and label, shared by both ServiceMonitor probes."""
    return snap.memo("services_by_label", lambda: LabelIndex(snap.of(SERVICE), namespace, lambda s: s.get("metadata", {}).get("labels") or {}))


@probe(
    "observability.servicemonitors",
    "ServiceMonitors are in place and find their Services",
    kinds=[SERVICEMONITOR, SERVICE],
    items=["prometheus-metrics.servicemonitor-crds-are-configured-for-auto-discovery"],
)
def servicemonitors(snap: Snapshot, p) -> Outcome:
    """The ServiceMonitor CRD is served, ServiceMonitors exist, and each selects at least one Service
    (a ServiceMonitor that selects nothing discovers nothing)."""
    monitors = snap.of(SERVICEMONITOR)
    if not monitors:
        return fail(not_installed(snap, SERVICEMONITOR, "ServiceMonitor"))
    services = _service_index(snap)
    findings = [
        Finding(f"{namespace(m)}/ServiceMonitor/{name(m)}", "spec.selector", "selects no Service; fix spec.selector labels or spec.namespaceSelector")
        for m in monitors
        if not _services_selected_by(m, services)
    ]
    return judge(findings, len(monitors), "ServiceMonitors")


def _dapr_service(service: dict) -> bool:
    """Services the Dapr operator makes for each sidecar ("<app-id>-dapr"): judged by dapr.metrics."""
    return name(service).endswith("-dapr") and "dapr.io/app-id" in annotations(service)


@probe(
    "observability.metrics-scraped",
    "Every application Service is scraped by Prometheus",
    kinds=[SERVICEMONITOR, SERVICE, "v1/Namespace"],
    params=AppScope,
    items=["prometheus-metrics.all-services-expose-metrics-endpoint"],
)
def metrics_scraped(snap: Snapshot, p: AppScope) -> Outcome:
    """Each Service in application namespaces is selected by a ServiceMonitor or annotated
    prometheus.io/scrape: "true", so its /metrics endpoint is collected."""
    services = [
        s
        for s in in_scope(snap, p, SERVICE)
        if dig(s, "spec.type") != "ExternalName" and not _dapr_service(s) and not (namespace(s) == "default" and name(s) == "kubernetes")
    ]
    # Ask each monitor once which Services it selects, rather than each Service every monitor.
    index = _service_index(snap)
    monitored = {id(s) for m in snap.of(SERVICEMONITOR) for s in _services_selected_by(m, index)}
    findings = [
        Finding(f"{namespace(s)}/Service/{name(s)}", "metadata.labels", "no ServiceMonitor selects this Service and it is not annotated prometheus.io/scrape; add a ServiceMonitor for its /metrics port")
        for s in services
        if not is_true(annotations(s).get("prometheus.io/scrape")) and id(s) not in monitored
    ]
    return judge(findings, len(services), "application Services")


@probe(
    "observability.alertmanager",
    "Alertmanager is deployed and Prometheus sends to it",
    kinds=[ALERTMANAGER, PROMETHEUS, STATEFULSET, DEPLOYMENT],
    items=["alerting.alertmanager-is-configured"],
)
def alertmanager(snap: Snapshot, p) -> Outcome:
    """An Alertmanager object (or an alertmanager workload) exists, and every Prometheus object lists
    Alertmanagers under spec.alerting.alertmanagers."""
    managers = [f"{namespace(a)}/Alertmanager/{name(a)}" for a in snap.of(ALERTMANAGER)]
    # Without the operator, Alertmanager runs as a plain workload (e.g. the prometheus Helm chart).
    managers += [describe(k, o) for k, o in workloads_matching(snap, r"(^|/)alertmanager", kinds=(STATEFULSET, DEPLOYMENT))]
    if not managers:
        return fail(not_installed(snap, ALERTMANAGER, "Alertmanager"))
    findings = [
        Finding(_prometheus_ref(s), "spec.alerting.alertmanagers", "Prometheus sends alerts nowhere; list the Alertmanager service under spec.alerting.alertmanagers")
        for s in snap.of(PROMETHEUS)
        if not dig(s, "spec.alerting.alertmanagers")
    ]
    if findings:
        return fail("Alertmanager runs but Prometheus does not send to it", findings, alertmanagers=managers)
    return Outcome("pass", f"Alertmanager present ({', '.join(managers)})", observed={"alertmanagers": managers})


GRAFANA = r"(^grafana$|-grafana$|(^|/)grafana/grafana(:|@|$))"


@probe(
    "observability.grafana",
    "Grafana runs with persistent storage",
    kinds=[DEPLOYMENT, STATEFULSET],
    items=["grafana-dashboards.grafana-is-deployed-with-persistent-storage"],
)
def grafana(snap: Snapshot, p) -> Outcome:
    """A Grafana workload exists and keeps its state on a PersistentVolumeClaim (or an external
    database through GF_DATABASE_TYPE), not an emptyDir that loses dashboards on restart."""
    found = workloads_matching(snap, GRAFANA, kinds=(DEPLOYMENT, STATEFULSET))
    if not found:
        return fail(f"no Grafana {where(snap)}")
    findings = [
        Finding(describe(k, o), "spec.template.spec.volumes", "Grafana stores dashboards on ephemeral storage; mount a PersistentVolumeClaim at /var/lib/grafana (Helm: persistence.enabled=true)")
        for k, o in found
        if not _persistent(o)
    ]
    return judge(findings, len(found), "Grafana workloads")


def _persistent(workload: dict) -> bool:
    spec = dig(workload, "spec.template.spec", {}) or {}
    if any(v.get("persistentVolumeClaim") for v in spec.get("volumes") or []):
        return True
    if dig(workload, "spec.volumeClaimTemplates"):
        return True
    env = [e.get("name") for c in spec.get("containers") or [] for e in c.get("env") or []]
    return "GF_DATABASE_TYPE" in env or "GF_DATABASE_URL" in env


@dataclass(frozen=True)
class TracingParams:
    pattern: str = r"opentelemetry-collector|otel/opentelemetry|otelcol|jaegertracing|(^|-)jaeger"


@probe(
    "observability.tracing",
    "A tracing collector is deployed",
    kinds=[DEPLOYMENT, STATEFULSET, DAEMONSET],
    params=TracingParams,
    items=["distributed-tracing-optional.opentelemetry-or-jaeger-is-deployed"],
)
def tracing(snap: Snapshot, p: TracingParams) -> Outcome:
    """An OpenTelemetry Collector or Jaeger workload (name or image matching `pattern`) exists."""
    found = [describe(k, o) for k, o in workloads_matching(snap, p.pattern)]
    if not found:
        return fail(f"no OpenTelemetry Collector or Jaeger {where(snap)}")
    return Outcome("pass", f"tracing collector present ({', '.join(found)})", observed={"workloads": found})
