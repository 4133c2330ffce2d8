"""Alert rules: PrometheusRules holding the alerts the seed checklist names."""
import re
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, fail, probe
from probes.engine.catalogue.common import CLUSTER, not_installed
from probes.engine.objects import dig, name, namespace
from probes.engine.snapshot import Snapshot

PROMETHEUSRULE = "monitoring.coreos.com/v1/PrometheusRule"

# Matched against "<alert name> <expr>" of every alerting rule.
ALERT_PATTERNS = {
    "error-rate": r"(?i)error.?rate|5xx|(status|code)(_code)?=~?\"5",
    "pod-restarts": r"(?i)restart|crashloop",
    "memory": r"(?i)memory|oom",
    "cpu": r"(?i)cpu",
    "disk": r"(?i)disk|filesystem|volume.?(full|space|filling|usage)|kubelet_volume_stats",
}
EXAMPLES = {
    "error-rate": 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05 for 5m',
    "pod-restarts": "increase(kube_pod_container_status_restarts_total[10m]) > 3",
    "memory": "container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.8",
    "cpu": "rate(container_cpu_usage_seconds_total[5m]) / container_spec_cpu_quota * 100000 > 0.8",
    "disk": "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.2",
}


@dataclass(frozen=True)
class AlertRuleParams:
    required: list[str] = field(default_factory=lambda: list(ALERT_PATTERNS))
    patterns: dict[str, str] = field(default_factory=lambda: dict(ALERT_PATTERNS))


@probe(
    "observability.alert-rules",
    "PrometheusRules hold the required alerts",
    kinds=[PROMETHEUSRULE],
    params=AlertRuleParams,
    items=[
        "alerting.alert-rules-are-defined",
        "alerting.high-error-rate-5-for-5-minutes",
        "alerting.pod-restarts-3-in-10-minutes",
        "alerting.high-memory-usage-80",
        "alerting.high-cpu-usage-80",
        "alerting.disk-space-low-20",
    ],
)
def alert_rules(snap: Snapshot, p: AlertRuleParams) -> Outcome:
    """For each alert in `required` (error-rate, pod-restarts, memory, cpu, disk), some PrometheusRule
    holds an alerting rule whose name or expression matches `patterns[alert]`."""
    unknown = [r for r in p.required if r not in p.patterns]
    if unknown:
        raise ValueError(f"no pattern for required alert(s) {', '.join(unknown)}; add them to patterns")
    rules = snap.of(PROMETHEUSRULE)
    if not rules:
        return fail(not_installed(snap, PROMETHEUSRULE, "PrometheusRule"))
    alerts = _alerts(rules)
    matched = {
        wanted: sorted({where for alert_name, expr, where in alerts if re.search(p.patterns[wanted], f"{alert_name} {expr}")})
        for wanted in p.required
    }
    findings = [
        Finding(
            CLUSTER,
            "PrometheusRule.spec.groups[].rules[].alert",
            f"no alert rule for {wanted}; add an alerting rule such as: {EXAMPLES.get(wanted, p.patterns[wanted])}",
        )
        for wanted, found in matched.items()
        if not found
    ]
    observed = {"alerts": len(alerts), "matched": matched}
    if findings:
        return fail(f"{len(findings)} of {len(p.required)} required alerts are missing", findings, **observed)
    return Outcome("pass", f"all {len(p.required)} required alerts are defined", observed=observed)


def _alerts(rules: list[dict]) -> list[tuple[str, str, str]]:
    """(alert name, expression, "namespace/PrometheusRule/name") of every alerting rule."""
    found = []
    for rule_set in rules:
        where = f"{namespace(rule_set)}/PrometheusRule/{name(rule_set)}"
        for group in dig(rule_set, "spec.groups", []) or []:
            for rule in group.get("rules") or []:
                if rule.get("alert"):
                    found.append((rule["alert"], str(rule.get("expr", "")), where))
    return found
