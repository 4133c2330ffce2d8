"""Each collector over recorded answers, judged by its checks."""
import pytest

from probes.engine.outcome import ParamsError
from probes.engine.observability import COLLECTOR_CHECKS, Endpoint, run_collector_check
from tests.probes.observability import recorded


def run(server, routes, kind, check, params=None, **endpoint):
    server.routes = routes
    return run_collector_check(check, Endpoint(kind, server.url, **endpoint), params or {})


def test_every_check_has_valid_defaults_and_an_id_naming_its_source():
    for check_id, check in COLLECTOR_CHECKS.items():
        assert check_id.startswith(f"collector.{check.source}.") and check.description
        check.parse_params(check.defaults())


def test_prometheus_rules_by_name_and_expression(obs_server):
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.rules").status == "pass"
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.rules", {"patterns": ["error_budget"]}).status == "pass"
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.rules", {"patterns": [r"status=~\"5\.\."], "type": "alerting"}).status == "pass"
    outcome = run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.rules", {"patterns": ["^slo:", "latency"]})
    assert outcome.status == "fail" and outcome.findings[0].message == "no rule matches 'latency'"
    broken = run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.rules", {"patterns": ["broken"]})
    assert broken.status == "fail"  # a rule that fails to evaluate decides nothing


def test_prometheus_retention_targets_alertmanagers_and_metrics(obs_server):
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.retention").summary == "retention is 30 days"
    short = {**recorded.PROMETHEUS, "/api/v1/status/flags": recorded.ok({"storage.tsdb.retention.time": "0s"})}
    assert run(obs_server, short, "prometheus", "collector.prometheus.retention").summary == "retention is 15 days; at least 30 needed"
    targets = run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.targets-up")
    assert targets.status == "fail" and [f.object for f in targets.findings] == ["service/worker"]
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.targets-up", {"services": ["api"]}).status == "pass"
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.targets-up", {"services": ["web"]}).status == "fail"
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.alertmanagers").status == "pass"
    assert run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.metrics").status == "pass"
    missing = run(obs_server, recorded.PROMETHEUS, "prometheus", "collector.prometheus.metrics", {"patterns": ["cache_hits"]})
    assert missing.status == "fail"


def test_alertmanager_receivers_and_a_routed_receiver_without_integrations(obs_server):
    outcome = run(obs_server, recorded.ALERTMANAGER, "alertmanager", "collector.alertmanager.receivers")
    assert outcome.status == "fail" and [f.object for f in outcome.findings] == ["receiver/blackhole"]
    assert outcome.observed["receivers"]["pagerduty"] == ["pagerduty"]
    fine = recorded.ALERTMANAGER_CONFIG.replace("      receiver: blackhole\n", "      receiver: team-slack\n")
    routes = {"/api/v2/status": {**recorded.ALERTMANAGER["/api/v2/status"], "config": {"original": fine}}}
    assert run(obs_server, routes, "alertmanager", "collector.alertmanager.receivers").status == "pass"
    assert run(obs_server, routes, "alertmanager", "collector.alertmanager.receivers", {"any_of": ["opsgenie"]}).status == "fail"


def test_grafana_datasources_dashboards_alerts(obs_server):
    for check in ("collector.grafana.datasources", "collector.grafana.dashboards", "collector.grafana.alert-rules"):
        assert run(obs_server, recorded.GRAFANA, "grafana", check, token="glsa").status == "pass", check
    assert run(obs_server, recorded.GRAFANA, "grafana", "collector.grafana.datasources", {"types": ["tempo"]}).status == "fail"
    few = run(obs_server, {**recorded.GRAFANA, "/api/search": recorded.GRAFANA["/api/search"][:1]}, "grafana", "collector.grafana.dashboards")
    assert few.status == "fail" and len(few.findings) == 3


def test_grafana_default_admin_is_tried_only_by_its_check(obs_server):
    obs_server.token = "glsa"
    obs_server.basic = {"admin": "admin"}
    assert run(obs_server, recorded.GRAFANA, "grafana", "collector.grafana.default-admin", token="glsa").status == "fail"
    obs_server.basic = {"admin": "s3cret"}
    assert run(obs_server, recorded.GRAFANA, "grafana", "collector.grafana.default-admin", token="glsa").status == "pass"
    obs_server.requests.clear()
    run(obs_server, recorded.GRAFANA, "grafana", "collector.grafana.datasources", token="glsa")
    assert not any(path == "/api/user" for path, _, _ in obs_server.requests)


def test_loki_retention(obs_server):
    assert run(obs_server, recorded.loki(), "loki", "collector.loki.retention").summary == "retention is 31 days"
    disabled = recorded.loki(config=recorded.LOKI_CONFIG.replace("retention_enabled: true", "retention_enabled: false"))
    assert run(obs_server, disabled, "loki", "collector.loki.retention").status == "fail"
    short = recorded.loki(config=recorded.LOKI_CONFIG.replace("744h", "168h"))
    assert run(obs_server, short, "loki", "collector.loki.retention").summary == "retention is 7 days; at least 30 needed"


def test_loki_log_lines_are_json_with_the_seed_fields(obs_server):
    assert run(obs_server, recorded.loki(), "loki", "collector.loki.json-logs").status == "pass"
    assert run(obs_server, recorded.loki(), "loki", "collector.loki.log-fields").status == "pass"
    plain = recorded.loki({"api": [recorded.log_line(), "GET /tasks 200 12ms"]})
    outcome = run(obs_server, plain, "loki", "collector.loki.json-logs")
    assert outcome.status == "fail" and outcome.findings[0].message == "1 of 2 recent lines: not a JSON object"
    assert run(obs_server, plain, "loki", "collector.loki.json-logs", {"min_ratio": 0.5}).status == "pass"


@pytest.mark.parametrize("line, fields, message", [
    (recorded.log_line(user_id=None), None, "missing user_id"),
    (recorded.log_line(trace_id=None), ["trace_id"], "missing trace_id"),
    (recorded.log_line(timestamp="01/12/2026 22:40"), ["timestamp"], "is not RFC 3339"),
    (recorded.log_line(level="verbose"), ["level"], "is not one of"),
])
def test_a_missing_or_malformed_field_fails_naming_the_service(obs_server, line, fields, message):
    params = {"fields": fields} if fields else {}
    outcome = run(obs_server, recorded.loki({"api": [line], "worker": [recorded.log_line()]}), "loki", "collector.loki.log-fields", params)
    assert outcome.status == "fail" and outcome.findings[0].object == "service/api" and message in outcome.findings[0].message


def test_a_service_with_no_recent_lines_is_not_a_pass(obs_server):
    outcome = run(obs_server, recorded.loki({"api": []}), "loki", "collector.loki.log-fields")
    assert outcome.status == "fail" and outcome.findings[0].message == "no recent log lines to judge"
    assert run(obs_server, recorded.loki({}), "loki", "collector.loki.json-logs").status == "fail"


def test_jaeger_services_and_propagation(obs_server):
    assert run(obs_server, recorded.jaeger(), "jaeger", "collector.tracing.services").summary == "2 service(s) emit spans"
    assert run(obs_server, recorded.jaeger(), "jaeger", "collector.tracing.services", {"services": ["api", "web"]}).status == "fail"
    crossing = run(obs_server, recorded.jaeger(), "jaeger", "collector.tracing.propagation")
    assert crossing.status == "pass" and "api -> worker" in crossing.summary
    assert run(obs_server, recorded.jaeger(traces_cross=False), "jaeger", "collector.tracing.propagation").status == "fail"


def test_tempo_lists_services_but_not_traces(obs_server):
    routes = {"/api/search/tag/service.name/values": {"tagValues": ["api", "worker"], "metrics": {}}}
    assert run(obs_server, routes, "tempo", "collector.tracing.services").status == "pass"
    assert run(obs_server, routes, "tempo", "collector.tracing.propagation").status == "skip"


def test_a_check_refuses_an_endpoint_of_another_kind_and_bad_params(obs_server):
    with pytest.raises(ParamsError, match="reads prometheus, not loki"):
        run(obs_server, {}, "loki", "collector.prometheus.rules")
    with pytest.raises(ParamsError, match="not a regular expression"):
        run(obs_server, {}, "prometheus", "collector.prometheus.rules", {"patterns": ["("]})
    assert not obs_server.requests  # refused before any request
