"""Checks over collected observability facts: the same `(facts, params) -> Outcome` shape as probes.

`run_collector_check` collects from one endpoint and judges; a collection failure is an `error`
outcome naming the endpoint (never a pass). `judge_facts` judges facts already collected, so one
collection serves every check bound to the same endpoint.
"""
import re
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from probes.engine.outcome import Finding, Outcome, ParamsError
from probes.engine.artifacts.base import validated_params
from probes.engine.catalogue.common import duration_seconds
from probes.cluster_collector import CollectError
from probes.engine.observability.collectors import SOURCES, collect, line_json


@dataclass(frozen=True)
class CollectorCheck:
    id: str
    title: str
    description: str
    source: str  # endpoint kind whose facts it reads ("tracing": jaeger or tempo)
    params: type
    items: tuple[str, ...]
    check: Callable[[dict, typing.Any], Outcome]
    options: tuple = ()  # (name, value) pairs the collector needs for this check

    def parse_params(self, raw: dict | None):
        return validated_params(self.params, raw or {}, where=f"check {self.id}")

    def defaults(self) -> dict:
        return asdict(self.params())

    def reads(self, kind: str) -> bool:
        return kind in SOURCES.get(self.source, (self.source,))


COLLECTOR_CHECKS: dict[str, CollectorCheck] = {}


def collector_check(id: str, title: str, *, source: str, params: type, items=(), options: dict | None = None):
    def register(check):
        if id in COLLECTOR_CHECKS:
            raise ValueError(f"collector check {id!r} is registered twice")
        COLLECTOR_CHECKS[id] = CollectorCheck(id, title, " ".join((check.__doc__ or "").split()), source, params, tuple(items), check,
                                              tuple(sorted((options or {}).items())))
        return check
    return register


def judge_facts(check_id: str, facts: dict, params: dict | None = None) -> Outcome:
    check = COLLECTOR_CHECKS[check_id]
    outcome = check.check(facts, check.parse_params(params))
    outcome.observed = {"endpoint": facts.get("endpoint", ""), "collected_at": facts.get("collected_at"), **outcome.observed}
    return outcome


def run_collector_check(check_id: str, endpoint, params: dict | None = None) -> Outcome:
    """Collect from `endpoint` and judge. Network, auth and garbage answers become an `error`
    outcome with the collector's message (`observed["transient"]` says whether to retry)."""
    check = COLLECTOR_CHECKS[check_id]
    parsed = check.parse_params(params)  # bad params are the caller's mistake: raise before any I/O
    if not check.reads(endpoint.kind):
        raise ParamsError(f"check {check_id} reads {check.source}, not {endpoint.kind}")
    try:
        facts = collect(endpoint, **dict(check.options))
    except CollectError as exc:
        return Outcome("error", str(exc), observed={"endpoint": endpoint.url, "transient": exc.transient, "error": type(exc).__name__})
    outcome = check.check(facts, parsed)
    outcome.observed = {"endpoint": endpoint.url, "collected_at": facts["collected_at"], **outcome.observed}
    return outcome


def _patterns(values: list[str], name: str) -> None:
    if not values:
        raise ParamsError(f"param {name}: give at least one pattern")
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ParamsError(f"param {name}: {value!r} is not a regular expression: {exc}") from None


def _all_found(endpoint_label: str, patterns: list[str], candidates: list[str], what: str, label: str) -> Outcome:
    findings, matched = [], {}
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        hits = [c for c in candidates if regex.search(c)]
        if hits:
            matched[pattern] = hits[:5]
        else:
            findings.append(Finding(endpoint_label, what, f"no {what} matches {pattern!r}"))
    observed = {"candidates": len(candidates), "matched": matched}
    if findings:
        return Outcome("fail", f"{len(findings)} of {len(patterns)} {label} missing ({what} matching {', '.join(repr(f.message.split()[-1]) for f in findings[:3])[:120]})",
                       findings, observed=observed)
    return Outcome("pass", f"all {len(patterns)} {label} found: {', '.join(h[0] for h in matched.values())[:200]}", observed=observed)


# --- Prometheus ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RulesParams:
    patterns: list[str] = field(default_factory=lambda: [r"^sli[:_]"])  # each must match a rule's name or expression
    type: str = "any"  # "alerting", "recording" or "any"
    label: str = "rules"

    def __post_init__(self):
        _patterns(self.patterns, "patterns")
        if self.type not in ("alerting", "recording", "any"):
            raise ParamsError(f"param type: alerting, recording or any, not {self.type!r}")


@collector_check(
    "collector.prometheus.rules",
    "Prometheus holds the rules",
    source="prometheus",
    params=RulesParams,
    items=["monitoring-alerting.slis-service-level-indicators-are-defined",
           "monitoring-alerting.slos-service-level-objectives-are-set",
           "monitoring-alerting.error-budgets-are-tracked"],
)
def prometheus_rules(facts: dict, p: RulesParams) -> Outcome:
    """Every pattern matches the name or expression of a rule Prometheus has loaded (of `type`),
    with a healthy evaluation. SLIs, SLOs and error budgets are bound as recording rules named the
    way Sloth and Pyrra generate them (sli:..., slo:..., ...error_budget...)."""
    rules = [r for r in facts["rules"] if p.type == "any" or r["type"] == p.type]
    unhealthy = [r for r in rules if r["health"] == "err"]
    candidates = [f"{r['name']} {r['expr']}" for r in rules if r["health"] != "err"]
    outcome = _all_found(facts.get("endpoint", "prometheus"), p.patterns, candidates, "rule", p.label)
    if unhealthy:
        outcome.observed["unhealthy"] = [r["name"] for r in unhealthy][:20]
    return outcome


@dataclass(frozen=True)
class RetentionParams:
    min_days: int = 30


@collector_check("collector.prometheus.retention", "Prometheus keeps data long enough", source="prometheus", params=RetentionParams)
def prometheus_retention(facts: dict, p: RetentionParams) -> Outcome:
    """The running server's `storage.tsdb.retention.time` flag is at least `min_days` (an unset
    flag means Prometheus's default of 15 days)."""
    text = facts["retention_time"] or "0s"
    seconds = duration_seconds(text)
    if seconds is None:
        return Outcome("fail", f"retention {text!r} is not a duration", [Finding(facts.get("endpoint", ""), "storage.tsdb.retention.time", f"cannot read {text!r}")])
    days = seconds / 86400 if seconds else 15.0
    observed = {"retention_time": text, "days": days}
    if days < p.min_days:
        return Outcome("fail", f"retention is {days:g} days; at least {p.min_days} needed",
                       [Finding(facts.get("endpoint", ""), "storage.tsdb.retention.time", f"{text} ({days:g} days); set --storage.tsdb.retention.time={p.min_days}d")], observed=observed)
    return Outcome("pass", f"retention is {days:g} days", observed=observed)


@dataclass(frozen=True)
class TargetsParams:
    services: list[str] = field(default_factory=list)  # each must have an up target; empty: judge every scraped service


@collector_check("collector.prometheus.targets-up", "Every service is scraped and up", source="prometheus", params=TargetsParams)
def prometheus_targets(facts: dict, p: TargetsParams) -> Outcome:
    """Each service (the target's `service` label, else its job) has at least one active target and
    all of its targets are up. With `services`, each named service must be among them."""
    by_service: dict[str, list[dict]] = {}
    for target in facts["targets"]:
        by_service.setdefault(target["service"], []).append(target)
    findings = [Finding(f"service/{s}", "targets", "no active scrape target: add a ServiceMonitor or scrape config")
                for s in p.services if s not in by_service]
    for service, targets in sorted(by_service.items()):
        if p.services and service not in p.services:
            continue
        down = [t for t in targets if t["health"] != "up"]
        if down:
            findings.append(Finding(f"service/{service}", "health", f"{len(down)} of {len(targets)} targets down: {down[0]['instance']} {down[0]['error']}".strip()))
    judged = len(p.services) if p.services else len(by_service)
    observed = {"services": len(by_service), "targets": len(facts["targets"])}
    if findings:
        return Outcome("fail", f"{len(findings)} of {judged} services not scraped or down", findings, observed=observed)
    if not judged:
        return Outcome("fail", "Prometheus scrapes no targets", [Finding(facts.get("endpoint", ""), "activeTargets", "no active targets")], observed=observed)
    return Outcome("pass", f"all {judged} services scraped and up", observed=observed)


@dataclass(frozen=True)
class ManagersParams:
    min_alertmanagers: int = 1


@collector_check("collector.prometheus.alertmanagers", "Prometheus sends alerts to Alertmanager", source="prometheus", params=ManagersParams)
def prometheus_alertmanagers(facts: dict, p: ManagersParams) -> Outcome:
    """Prometheus has at least `min_alertmanagers` active Alertmanagers to send alerts to."""
    managers = facts["alertmanagers"]
    if len(managers) < p.min_alertmanagers:
        return Outcome("fail", f"{len(managers)} active Alertmanager(s); at least {p.min_alertmanagers} needed",
                       [Finding(facts.get("endpoint", ""), "activeAlertmanagers", "alerts fire into nothing: configure alerting.alertmanagers")], observed={"alertmanagers": managers})
    return Outcome("pass", f"alerts go to {len(managers)} Alertmanager(s)", observed={"alertmanagers": managers})


BUSINESS_METRICS = [r"task.*(created|updated|deleted)", r"event.*(published|consumed)", r"websocket.*(connection|message)",
                    r"(db|database).*(query|queries).*(duration|seconds|count|total)"]


@dataclass(frozen=True)
class MetricsParams:
    patterns: list[str] = field(default_factory=lambda: list(BUSINESS_METRICS))  # each must match a metric name
    label: str = "business metrics"

    def __post_init__(self):
        _patterns(self.patterns, "patterns")


@collector_check(
    "collector.prometheus.metrics",
    "The metrics exist in Prometheus",
    source="prometheus",
    params=MetricsParams,
    items=["prometheus-metrics.custom-metrics-are-defined-for-business-logic",
           "prometheus-metrics.task-operations-created-updated-deleted",
           "prometheus-metrics.event-processing-published-consumed",
           "prometheus-metrics.websocket-connections-active-messages-sent",
           "prometheus-metrics.database-queries-duration-count"],
)
def prometheus_metrics(facts: dict, p: MetricsParams) -> Outcome:
    """Every pattern matches the name of a metric Prometheus holds (so a service exports it and it
    is scraped): by default task operations, event processing, WebSocket and database metrics."""
    return _all_found(facts.get("endpoint", "prometheus"), p.patterns, facts["metric_names"], "metric", p.label)


# --- Alertmanager ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiversParams:
    any_of: list[str] = field(default_factory=lambda: ["email", "slack", "pagerduty"])  # integration kinds that count

    def __post_init__(self):
        if not self.any_of:
            raise ParamsError("param any_of: give at least one integration kind")


@collector_check(
    "collector.alertmanager.receivers",
    "Alerts reach people",
    source="alertmanager",
    params=ReceiversParams,
    items=["alerting.alert-notifications-are-configured-email-slack-pagerduty"],
)
def alertmanager_receivers(facts: dict, p: ReceiversParams) -> Outcome:
    """A receiver with one of the `any_of` integrations (email, Slack, PagerDuty) exists, and every
    receiver the routing tree sends to has at least one integration (a receiver with none drops
    alerts silently)."""
    receivers, routed = facts["receivers"], facts["routed"]
    findings = [Finding(f"receiver/{name}", "receivers", "routed to, but has no integration: alerts sent here are dropped")
                for name in routed if not receivers.get(name)]
    kinds = sorted({k for ks in receivers.values() for k in ks})
    if not set(kinds) & set(p.any_of):
        findings.append(Finding(facts.get("endpoint", ""), "receivers", f"no {'/'.join(p.any_of)} receiver (integrations: {', '.join(kinds) or 'none'})"))
    observed = {"receivers": receivers, "routed": routed}
    if findings:
        return Outcome("fail", findings[-1].message if len(findings) == 1 else f"{len(findings)} notification problems", findings, observed=observed)
    return Outcome("pass", f"{len(receivers)} receiver(s) via {', '.join(kinds)}", observed=observed)


# --- Grafana ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasourcesParams:
    types: list[str] = field(default_factory=lambda: ["prometheus", "loki"])


@collector_check(
    "collector.grafana.datasources",
    "Grafana has the data sources",
    source="grafana",
    params=DatasourcesParams,
    items=["grafana-dashboards.data-sources-are-configured-prometheus-loki"],
)
def grafana_datasources(facts: dict, p: DatasourcesParams) -> Outcome:
    """A data source of each type in `types` (Prometheus and Loki by default) is configured."""
    present = {s["type"] for s in facts["datasources"]}
    missing = [t for t in p.types if t not in present]
    observed = {"datasources": facts["datasources"]}
    if missing:
        return Outcome("fail", f"no {', '.join(missing)} data source", [Finding(facts.get("endpoint", ""), "datasources", f"add a {t} data source") for t in missing], observed=observed)
    return Outcome("pass", f"data sources: {', '.join(sorted(present))}", observed=observed)


DASHBOARDS = [r"service overview", r"event processing", r"websocket", r"(application )?logs"]


@dataclass(frozen=True)
class DashboardsParams:
    title_patterns: list[str] = field(default_factory=lambda: list(DASHBOARDS))
    label: str = "dashboards"

    def __post_init__(self):
        _patterns(self.title_patterns, "title_patterns")


@collector_check(
    "collector.grafana.dashboards",
    "Grafana has the dashboards",
    source="grafana",
    params=DashboardsParams,
    items=["grafana-dashboards.dashboards-are-created-and-tested",
           "grafana-dashboards.service-overview-http-metrics-error-rates",
           "grafana-dashboards.event-processing-kafka-dapr-pub-sub",
           "grafana-dashboards.websocket-metrics-connections-delivery",
           "grafana-dashboards.application-logs-loki-integration"],
)
def grafana_dashboards(facts: dict, p: DashboardsParams) -> Outcome:
    """Every pattern in `title_patterns` matches the title of a dashboard (the seed's four by default)."""
    return _all_found(facts.get("endpoint", "grafana"), p.title_patterns, facts["dashboards"], "dashboard", p.label)


@dataclass(frozen=True)
class GrafanaAlertsParams:
    min_rules: int = 1
    title_patterns: list[str] = field(default_factory=list)  # when set, each must match a rule title


@collector_check(
    "collector.grafana.alert-rules",
    "Grafana alert rules exist",
    source="grafana",
    params=GrafanaAlertsParams,
    items=["grafana-dashboards.alerts-are-configured-for-critical-metrics"],
)
def grafana_alert_rules(facts: dict, p: GrafanaAlertsParams) -> Outcome:
    """At least `min_rules` Grafana-managed alert rules, and one matching each of `title_patterns`."""
    rules = facts["alert_rules"]
    if len(rules) < p.min_rules:
        return Outcome("fail", f"{len(rules)} Grafana alert rule(s); at least {p.min_rules} needed",
                       [Finding(facts.get("endpoint", ""), "alert-rules", "define alert rules for the critical metrics")], observed={"rules": len(rules)})
    if p.title_patterns:
        return _all_found(facts.get("endpoint", "grafana"), p.title_patterns, rules, "alert rule", "alert rules")
    return Outcome("pass", f"{len(rules)} Grafana alert rule(s)", observed={"rules": len(rules)})


@dataclass(frozen=True)
class NoParams:
    pass


@collector_check(
    "collector.grafana.default-admin",
    "Grafana's admin password is not the default",
    source="grafana",
    params=NoParams,
    items=["grafana-dashboards.admin-password-is-changed-from-default"],
    options={"try_default_admin": True},
)
def grafana_default_admin(facts: dict, p: NoParams) -> Outcome:
    """Logging in to the API as admin/admin is refused. The collector tries it (one login attempt per
    collection, well under Grafana's brute-force lockout of five) only for this check."""
    if facts.get("default_admin") is None:
        return Outcome("skip", "the default-admin login was not tried")
    if facts["default_admin"]:
        return Outcome("fail", "Grafana accepts admin/admin", [Finding(facts.get("endpoint", ""), "admin", "change the admin password (GF_SECURITY_ADMIN_PASSWORD)")])
    return Outcome("pass", "Grafana refuses admin/admin")


# --- Loki ------------------------------------------------------------------------------------
@collector_check("collector.loki.retention", "Loki keeps logs long enough", source="loki", params=RetentionParams)
def loki_retention(facts: dict, p: RetentionParams) -> Outcome:
    """The running Loki deletes logs after at least `min_days`: `limits_config.retention_period`
    with the compactor's `retention_enabled` (without it Loki keeps everything, which is not a policy)."""
    seconds = duration_seconds(facts["retention_period"]) if facts["retention_period"] else None
    observed = {"retention_period": facts["retention_period"], "retention_enabled": facts["retention_enabled"]}
    where = facts.get("endpoint", "")
    if not facts["retention_enabled"]:
        return Outcome("fail", "retention is not enabled (compactor.retention_enabled is false)",
                       [Finding(where, "compactor.retention_enabled", "set it to true and limits_config.retention_period")], observed=observed)
    if not seconds:
        return Outcome("fail", "no retention_period", [Finding(where, "limits_config.retention_period", f"set it to at least {p.min_days * 24}h")], observed=observed)
    days = seconds / 86400
    if days < p.min_days:
        return Outcome("fail", f"retention is {days:g} days; at least {p.min_days} needed",
                       [Finding(where, "limits_config.retention_period", f"{facts['retention_period']}; set at least {p.min_days * 24}h")], observed=observed)
    return Outcome("pass", f"retention is {days:g} days", observed=observed)


SEED_FIELDS = ["timestamp", "level", "logger", "message", "request_id", "user_id", "trace_id"]
LEVELS = ["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class LogFieldsParams:
    fields: list[str] = field(default_factory=lambda: list(SEED_FIELDS))  # every sampled line must hold each
    levels: list[str] = field(default_factory=lambda: list(LEVELS))  # allowed values of `level`, case-insensitive
    min_ratio: float = 1.0  # share of sampled lines per service that must comply
    services: list[str] = field(default_factory=list)  # empty: every service Loki has lines for

    def __post_init__(self):
        if not 0 < self.min_ratio <= 1:
            raise ParamsError(f"param min_ratio: a fraction above 0 and at most 1, not {self.min_ratio}")


def _line_problem(line: str, p: LogFieldsParams, *, fields: bool) -> str:
    record = line_json(line)
    if record is None:
        return "not a JSON object"
    if not fields:
        return ""
    missing = [f for f in p.fields if record.get(f) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    if "timestamp" in p.fields and not _RFC3339.match(str(record["timestamp"])):
        return f"timestamp {str(record['timestamp'])[:40]!r} is not RFC 3339"
    if "level" in p.fields and str(record["level"]).upper() not in {lvl.upper() for lvl in p.levels}:
        return f"level {str(record['level'])[:20]!r} is not one of {', '.join(p.levels)}"
    return ""


def _judge_lines(facts: dict, p: LogFieldsParams, *, fields: bool, what: str) -> Outcome:
    services = p.services or sorted(facts["lines"])
    findings, judged = [], 0
    for service in services:
        lines = facts["lines"].get(service) or []
        if not lines:
            findings.append(Finding(f"service/{service}", "logs", "no recent log lines to judge"))
            continue
        judged += 1
        problems = [(i, _line_problem(line, p, fields=fields)) for i, line in enumerate(lines)]
        bad = [(i, prob) for i, prob in problems if prob]
        if (len(lines) - len(bad)) / len(lines) < p.min_ratio:
            findings.append(Finding(f"service/{service}", "log line", f"{len(bad)} of {len(lines)} recent lines: {bad[0][1]}"))
    observed = {"services": len(services), "sampled": sum(len(facts["lines"].get(s) or []) for s in services)}
    if findings:
        return Outcome("fail", f"{len(findings)} of {len(services)} services' logs are not {what}", findings, observed=observed)
    if not services:
        return Outcome("fail", "Loki holds no recent log lines to judge", [Finding(facts.get("endpoint", ""), "logs", "no service has recent lines")], observed=observed)
    return Outcome("pass", f"recent lines of all {judged} services are {what}", observed=observed)


@collector_check(
    "collector.loki.json-logs",
    "Services log JSON",
    source="loki",
    params=LogFieldsParams,
    items=["centralized-logging.structured-json-logging-is-enabled-in-all-services"],
)
def loki_json_logs(facts: dict, p: LogFieldsParams) -> Outcome:
    """Each service's recent lines in Loki (a sample per service) parse as JSON objects."""
    return _judge_lines(facts, p, fields=False, what="JSON")


@collector_check(
    "collector.loki.log-fields",
    "Log lines carry the context fields",
    source="loki",
    params=LogFieldsParams,
    items=["centralized-logging.logs-include-context-fields",
           "centralized-logging.timestamp-rfc3339nano",
           "centralized-logging.level-info-warning-error",
           "centralized-logging.logger-module-name",
           "centralized-logging.message-log-message",
           "centralized-logging.requestid-unique-per-request",
           "centralized-logging.userid-authenticated-user",
           "centralized-logging.traceid-distributed-tracing",
           "distributed-tracing-optional.traces-are-correlated-with-logs"],
)
def loki_log_fields(facts: dict, p: LogFieldsParams) -> Outcome:
    """Each service's recent lines are JSON objects holding every field in `fields` (the seed's
    seven by default), with an RFC 3339 `timestamp` and a `level` among `levels`."""
    return _judge_lines(facts, p, fields=True, what=f"carrying {', '.join(p.fields)}")


# --- Tracing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpansParams:
    services: list[str] = field(default_factory=list)  # each must emit spans; empty: at least min_services do
    min_services: int = 1


@collector_check(
    "collector.tracing.services",
    "Services emit spans",
    source="tracing",
    params=SpansParams,
    items=["distributed-tracing-optional.services-emit-trace-spans"],
)
def tracing_services(facts: dict, p: SpansParams) -> Outcome:
    """Each of `services` has spans in Jaeger or Tempo (or, without `services`, at least
    `min_services` services do)."""
    emitting = [s for s in facts["services"] if s and s not in ("jaeger-query", "jaeger-all-in-one")]
    missing = [s for s in p.services if s not in emitting]
    observed = {"services": emitting}
    if missing:
        return Outcome("fail", f"{len(missing)} of {len(p.services)} services emit no spans",
                       [Finding(f"service/{s}", "spans", "no spans: instrument it with OpenTelemetry and export to the collector") for s in missing], observed=observed)
    if len(emitting) < p.min_services:
        return Outcome("fail", f"{len(emitting)} service(s) emit spans; at least {p.min_services} needed",
                       [Finding(facts.get("endpoint", ""), "services", "no service emits spans")], observed=observed)
    return Outcome("pass", f"{len(emitting)} service(s) emit spans", observed=observed)


@dataclass(frozen=True)
class PropagationParams:
    min_services_per_trace: int = 2


@collector_check(
    "collector.tracing.propagation",
    "Traces cross services",
    source="tracing",
    params=PropagationParams,
    items=["distributed-tracing-optional.trace-ids-are-propagated-across-services"],
)
def tracing_propagation(facts: dict, p: PropagationParams) -> Outcome:
    """At least one recent trace holds spans from `min_services_per_trace` services, which happens
    only when the trace id is propagated across calls (needs Jaeger's trace API; Tempo skips)."""
    if facts.get("traces") is None:
        return Outcome("skip", "this tracing backend lists no traces to inspect (use Jaeger's query API)")
    crossing = [t for t in facts["traces"] if len(t["services"]) >= p.min_services_per_trace]
    observed = {"traces": len(facts["traces"]), "crossing": len(crossing)}
    if not crossing:
        return Outcome("fail", f"none of {len(facts['traces'])} recent traces spans {p.min_services_per_trace}+ services",
                       [Finding(facts.get("endpoint", ""), "traces", "trace context is not propagated: forward traceparent headers (W3C Trace Context)")], observed=observed)
    example = crossing[0]
    return Outcome("pass", f"{len(crossing)} of {len(facts['traces'])} recent traces cross services (e.g. {' -> '.join(example['services'])})", observed=observed)
