"""Answers recorded from each system's HTTP API (Prometheus 2.x/3.x, Alertmanager 0.27, Grafana 11,
Loki 3, Jaeger 1.x), trimmed to what the collectors read."""
import json


def ok(data):
    return {"status": "success", "data": data}


PROMETHEUS = {
    "/api/v1/rules": ok({"groups": [
        {"name": "shop.rules", "file": "/etc/prometheus/rules/shop.yaml", "interval": 30, "rules": [
            {"state": "inactive", "name": "HighErrorRate", "query": 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
             "duration": 300, "labels": {"severity": "critical"}, "annotations": {}, "alerts": [], "health": "ok", "type": "alerting"},
            {"name": "sli:http_availability:ratio_rate5m", "query": "sum(rate(http_requests_total{status!~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))",
             "health": "ok", "type": "recording"},
            {"name": "slo:sli_error:ratio_rate5m", "query": "1 - sli:http_availability:ratio_rate5m", "health": "ok", "type": "recording"},
            {"name": "slo:error_budget:ratio", "query": "1 - 0.999", "health": "ok", "type": "recording"},
            {"name": "broken:rule", "query": "sum(", "health": "err", "type": "recording", "lastError": "parse error"},
        ]},
    ]}),
    "/api/v1/status/flags": ok({"storage.tsdb.retention.time": "30d", "storage.tsdb.retention.size": "0B", "web.enable-lifecycle": "false"}),
    "/api/v1/targets": ok({"activeTargets": [
        {"discoveredLabels": {}, "labels": {"instance": "10.1.0.4:8000", "job": "api", "service": "api", "namespace": "shop"},
         "scrapePool": "serviceMonitor/shop/api/0", "scrapeUrl": "http://10.1.0.4:8000/metrics", "lastError": "", "health": "up"},
        {"discoveredLabels": {}, "labels": {"instance": "10.1.0.5:8000", "job": "api", "service": "api", "namespace": "shop"},
         "scrapePool": "serviceMonitor/shop/api/0", "scrapeUrl": "http://10.1.0.5:8000/metrics", "lastError": "", "health": "up"},
        {"discoveredLabels": {}, "labels": {"instance": "10.1.0.9:9000", "job": "worker", "service": "worker", "namespace": "shop"},
         "scrapePool": "serviceMonitor/shop/worker/0", "scrapeUrl": "http://10.1.0.9:9000/metrics",
         "lastError": "Get \"http://10.1.0.9:9000/metrics\": context deadline exceeded", "health": "down"},
    ], "droppedTargets": []}),
    "/api/v1/alertmanagers": ok({"activeAlertmanagers": [{"url": "http://10.1.2.3:9093/api/v2/alerts"}], "droppedAlertmanagers": []}),
    "/api/v1/label/__name__/values": ok(["up", "http_requests_total", "tasks_created_total", "tasks_updated_total", "tasks_deleted_total",
                                         "events_published_total", "events_consumed_total", "websocket_connections_active",
                                         "websocket_messages_sent_total", "db_query_duration_seconds_bucket", "db_query_duration_seconds_count"]),
}

ALERTMANAGER_CONFIG = """global:
  resolve_timeout: 5m
  slack_api_url: <secret>
route:
  receiver: team-slack
  group_by: [alertname]
  routes:
    - matchers: [severity="critical"]
      receiver: pagerduty
    - matchers: [team="null"]
      receiver: blackhole
receivers:
  - name: team-slack
    slack_configs:
      - channel: '#shop-alerts'
        send_resolved: true
  - name: pagerduty
    pagerduty_configs:
      - routing_key: <secret>
  - name: blackhole
templates: []
"""

ALERTMANAGER = {
    "/api/v2/status": {"cluster": {"name": "01J", "peers": [], "status": "ready"}, "config": {"original": ALERTMANAGER_CONFIG},
                       "uptime": "2026-12-01T20:00:00.000Z", "versionInfo": {"version": "0.27.0"}},
}

GRAFANA = {
    "/api/datasources": [
        {"id": 1, "uid": "prom", "orgId": 1, "name": "Prometheus", "type": "prometheus", "access": "proxy", "url": "http://prometheus:9090", "isDefault": True},
        {"id": 2, "uid": "loki", "orgId": 1, "name": "Loki", "type": "loki", "access": "proxy", "url": "http://loki:3100", "isDefault": False},
    ],
    "/api/search": [
        {"id": 10, "uid": "svc", "title": "Service Overview", "uri": "db/service-overview", "type": "dash-db", "tags": ["shop"], "folderTitle": "Shop"},
        {"id": 11, "uid": "evt", "title": "Event Processing (Kafka / Dapr)", "type": "dash-db", "tags": [], "folderTitle": "Shop"},
        {"id": 12, "uid": "ws", "title": "WebSocket Metrics", "type": "dash-db", "tags": [], "folderTitle": "Shop"},
        {"id": 13, "uid": "logs", "title": "Application Logs", "type": "dash-db", "tags": [], "folderTitle": "Shop"},
    ],
    "/api/v1/provisioning/alert-rules": [
        {"uid": "r1", "orgID": 1, "folderUID": "shop", "ruleGroup": "shop", "title": "API error rate above 5%", "condition": "C", "for": "5m", "labels": {}},
    ],
    "/api/user": {"id": 1, "email": "admin@localhost", "login": "admin", "isGrafanaAdmin": True},
}


def log_line(**overrides):
    record = {"timestamp": "2026-12-01T22:40:01.123456789Z", "level": "INFO", "logger": "shop.api.views", "message": "task created",
              "request_id": "8c1f", "user_id": "u-42", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not None})


LOKI_CONFIG = """target: all
limits_config:
  retention_period: 744h
  ingestion_rate_mb: 4
compactor:
  working_directory: /loki/compactor
  retention_enabled: true
  delete_request_store: s3
"""


def loki(lines_by_service: dict[str, list[str]] | None = None, config: str = LOKI_CONFIG):
    lines_by_service = lines_by_service if lines_by_service is not None else {
        "api": [log_line(), log_line(level="ERROR", message="boom")], "worker": [log_line(logger="shop.worker")]}

    def query_range(query):
        service = query["query"].split('"')[1]
        values = [[str(1796165000000000000 + i), line] for i, line in enumerate(lines_by_service.get(service, []))]
        return ok({"resultType": "streams", "result": [{"stream": {"service": service}, "values": values}] if values else []})

    return {
        "/config": config,
        "/loki/api/v1/label/service/values": ok(sorted(lines_by_service)),
        "/loki/api/v1/query_range": query_range,
    }


def jaeger(traces_cross=True):
    def traces(query):
        service = query["service"]
        processes = {"p1": {"serviceName": service, "tags": []}}
        if traces_cross and service == "api":
            processes["p2"] = {"serviceName": "worker", "tags": []}
        return {"data": [{"traceID": f"{service}-t1", "spans": [{"traceID": f"{service}-t1", "spanID": "s1", "processID": "p1"}],
                          "processes": processes, "warnings": None}], "total": 0, "limit": 0, "offset": 0, "errors": None}

    return {"/api/services": {"data": ["api", "worker", "jaeger-all-in-one"], "total": 3, "limit": 0, "offset": 0, "errors": None},
            "/api/traces": traces}
